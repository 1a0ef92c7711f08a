"""A realistic delivered tree in a drop folder, its Delivery and inventory rows (digests computed here: the
intake and hashing belong to apps.deliveries), a fleet template and a vessel profile that overrides it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from lxml import etree

from apps.cruises.models import Award, CruiseMember, Port
from apps.deliveries.models import Delivery, InventoryFile
from apps.distributions import services
from tests.support.schemas import SCHEMAS

# path → bytes: several instruments in nested folders, an old multibeam folder the vessel's override no
# longer takes, and stray files that match no rule.
TREE = {
    "multibeam/EM124/raw/line001/0001_20240302_120000.kmall": b"kmall line 1 " * 40,
    "multibeam/EM124/raw/line001/0002_20240302_130000.kmall": b"kmall line 2 " * 30,
    "multibeam/EM124/raw/line002/0003_20240303_080000.kmall": b"kmall line 3 " * 20,
    "multibeam/EM122/legacy/0001.all": b"old em122 bytes",
    "ctd/SBE911/cast001/cast001.hex": b"hex cast 1\n" * 10,
    "ctd/SBE911/cast001/cast001.xmlcon": b"<xmlcon/>",
    "ctd/SBE911/cast002/cast002.hex": b"hex cast 2\n" * 12,
    "adcp/OS75/os75_001.ENR": b"enr adcp 75",
    "adcp/OS75/os75_001.LTA": b"lta adcp 75",
    "adcp/OS150/os150_001.ENR": b"enr adcp 150",
    "nav/posmv/2024/03/02/posmv_20240302.gps": b"$GPGGA,120000,4400.0,N,12400.0,W*00\n" * 5,
    "nav/posmv/2024/03/03/posmv_20240303.gps": b"$GPGGA,080000,4410.0,N,12410.0,W*00\n" * 5,
    "met/MET_20240302.csv": b"time,air_temp\n2024-03-02T12:00,11.5\n",
    "README.txt": b"delivered by the operator\n",
    "tmp/junk.bak": b"stray",
    "ctd/SBE911/notes.txt": b"cast notes",
}


def make_drop(root: Path, tree: dict[str, bytes] = TREE) -> Path:
    for path, data in tree.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def inventory(delivery: Delivery, root: Path) -> None:
    rows = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        rows.append(
            InventoryFile(
                delivery=delivery,
                path=path.relative_to(root).as_posix(),
                size=len(data),
                md5=hashlib.md5(data).hexdigest(),
                sha1=hashlib.sha1(data).hexdigest(),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    InventoryFile.objects.bulk_create(rows)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.INVENTORIED,
        files_total=len(rows),
        files_done=len(rows),
        bytes_total=sum(r.size for r in rows),
        bytes_done=sum(r.size for r in rows),
    )
    delivery.refresh_from_db()


@pytest.fixture
def science_cruise(cruise, chief_scientist):
    """The shared cruise with ports, a science party and an award (what the dataset EML is derived from)."""
    cruise.departure_port = Port.objects.create(name="Newport", latitude=44.62, longitude=-124.05)
    cruise.arrival_port = Port.objects.create(name="Astoria", latitude=46.19, longitude=-123.83)
    cruise.save()
    CruiseMember.objects.create(cruise=cruise, name="Ana Lopez", role="science_party", affiliation="OSU")
    Award.objects.create(cruise=cruise, funder="National Science Foundation", number="OCE-1234567")
    return cruise


@pytest.fixture
def delivery(db, science_cruise, tmp_path):
    root = make_drop(tmp_path / "drop")
    found = Delivery.objects.create(
        cruise=science_cruise, shipment="S1", method=Delivery.Method.FOLDER, source=str(root)
    )
    inventory(found, root)
    return found


TEMPLATE_RULES = [
    {"instrument_class": "multibeam", "vendor": "Kongsberg", "model": "", "pattern": "multibeam/**"},
    {"instrument_class": "ctd", "vendor": "Sea-Bird", "model": "SBE911plus", "pattern": "ctd/*/cast*/*"},
    {"instrument_class": "adcp", "vendor": "Teledyne RDI", "model": "OS75", "pattern": "adcp/OS75/"},
    {"instrument_class": "adcp", "vendor": "Teledyne RDI", "model": "OS150", "pattern": "adcp/OS150/"},
    {"instrument_class": "navigation", "vendor": "Applanix", "model": "POS MV", "pattern": "nav/**/*.gps"},
]


@pytest.fixture
def profiles(delivery, data_manager):
    """A fleet template for the operator, and the vessel's profile: its multibeam rule (EM124 only)
    replaces the template's; the rest are inherited."""
    cruise = delivery.cruise
    template = services.save_profile(
        data_manager,
        name="Fleet standard",
        operator=cruise.operator,
        vessel=None,
        template=None,
        rules=TEMPLATE_RULES,
    )
    vessel = services.save_profile(
        data_manager,
        name=f"{cruise.vessel.name} profile",
        operator=cruise.operator,
        vessel=cruise.vessel,
        template=template,
        rules=[
            {
                "instrument_class": "multibeam",
                "vendor": "Kongsberg",
                "model": "EM124",
                "pattern": "multibeam/EM124/**/*.kmall",
            }
        ],
    )
    return template, vessel


@pytest.fixture(scope="session")
def eml_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "eml-2.2.0/eml.xsd"), etree.XMLParser(no_network=True)))


@pytest.fixture(scope="session")
def datacite_schema() -> etree.XMLSchema:
    return etree.XMLSchema(
        etree.parse(str(SCHEMAS / "datacite-4.5/metadata.xsd"), etree.XMLParser(no_network=True))
    )
