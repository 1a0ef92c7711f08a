"""A cruise's whole distribution as a BagIt 1.0 bag (RFC 8493), for the national archive's final migration.

Payload: ``data/<shipment>/<path>`` for every file of every inventoried delivery (read from the drop folder,
or from the deep copy when the drop folder is gone), and ``data/metadata/<packageId>.xml``, the EML of
each released dataset. The payload manifests (SHA-256 and MD5, as R2R and NCEI use MD5) come from the
inventory's digests, so nothing is hashed twice; the tag manifest is computed while the tag files are
written. Tag files, in the order they are produced, are streamed too: one pass, memory bounded whatever
the file count — the same members feed ``export_bag`` (a folder) and the streamed zip download.

bag-info.txt: the RFC 8493 reserved keys (Source-Organization, Organization-Address, Contact-Name,
Contact-Email, External-Description, External-Identifier, Bagging-Date, Payload-Oxum, Bag-Size,
Internal-Sender-Identifier, Bag-Group-Identifier) and R2R's: R2R-CruiseID, R2R-CruiseDOI, R2R-Vessel,
R2R-VesselID, R2R-Operator, R2R-ShipmentID (one per delivery), R2R-DatasetDOI and NCEI-Accession (one per
dataset).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apps.cruises.models import Cruise
from apps.deliveries import sources
from apps.deliveries.models import Delivery, InventoryFile
from apps.storage import services as storage
from apps.storage.hashing import CHUNK
from apps.storage.models import blob_key
from portal.errors import Conflict

from . import services
from .deep import hashed
from .models import Accession

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


@dataclass
class BagMember:
    name: str  # relative to the bag's top folder
    size: int  # exact for payload; 0 for tag files (small, written before their size is known)
    chunks: Callable[[], Iterable[bytes]]


def _encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded."""
    return path.replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def _deliveries(cruise: Cruise):
    return Delivery.objects.filter(cruise=cruise, state=Delivery.State.INVENTORIED).order_by("shipment")


def _file_chunks(delivery: Delivery, row: InventoryFile) -> Callable[[], Iterator[bytes]]:
    def read() -> Iterator[bytes]:
        try:
            handle = sources.open_delivered(delivery, row.disk_path)
        except FileNotFoundError:  # the drop folder (or S3 object) is gone: the deep copy has the bytes
            handle = storage.deep().open(blob_key(row.sha256), "rb")
        with handle:
            while block := handle.read(CHUNK):
                yield block

    return read


def _released(cruise: Cruise):
    """(dataset, released revision, accession) of every dataset of the cruise that is released."""
    out = []
    accessions = {
        a.package_id: a for a in Accession.objects.filter(package__distribution__delivery__cruise=cruise)
    }
    for dataset in services.cruise_datasets(cruise):
        revision = services.released_revision(dataset.package) if dataset.package_id else None
        if revision is not None:
            out.append((dataset, revision, accessions.get(dataset.package_id)))
    return out


def bag_info(cruise: Cruise, oxum: tuple[int, int]) -> list[tuple[str, str]]:
    from apps.publishing.crosswalks.metadata import cruise_url

    distribution = services.distribution_of(cruise)
    operator, vessel = cruise.operator, cruise.vessel
    size, count = oxum
    info = [
        ("Source-Organization", operator.name),
        ("Organization-Address", operator.url or settings.SITE_BASE_URL),
        ("Contact-Name", f"{operator.name} data manager"),
    ]
    if operator.email:
        info.append(("Contact-Email", operator.email))
    dates = " to ".join(d.isoformat() for d in (cruise.departure_date, cruise.arrival_date) if d)
    info += [
        (
            "External-Description",
            f"Underway data distribution of cruise {cruise.cruise_id} on the {vessel.name}"
            + (f", {dates}" if dates else "")
            + f", as delivered by {operator.name} and archived by {settings.PUBLISHER_NAME}.",
        ),
        ("External-Identifier", cruise_url(cruise)),
        ("Bagging-Date", timezone.now().date().isoformat()),
        ("Payload-Oxum", f"{size}.{count}"),
        ("Bag-Size", _human(size)),
        ("Bag-Group-Identifier", cruise.cruise_id),
        ("R2R-CruiseID", cruise.cruise_id),
        ("R2R-CruiseDOI", distribution.cruise_doi or "none assigned"),
        ("R2R-Vessel", vessel.name),
        ("R2R-VesselID", vessel.code),
        ("R2R-Operator", operator.name),
    ]
    for delivery in _deliveries(cruise):
        info.append(("R2R-ShipmentID", delivery.shipment))
        info.append(("Internal-Sender-Identifier", f"{cruise.cruise_id}/{delivery.shipment}"))
    for dataset, revision, accession in _released(cruise):
        info.append(("R2R-DatasetDOI", f"{revision.doi} {dataset.instrument_class}"))
        if accession is not None:
            info.append(("NCEI-Accession", f"{accession.accession_id} {accession.url}"))
    return info


def _human(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} bytes"


def members(cruise: Cruise) -> Iterator[BagMember]:
    """Every file of the bag, payload first, then the tag files (the tag manifest last)."""
    deliveries = list(_deliveries(cruise))
    if not deliveries:
        raise Conflict(f"{cruise.cruise_id} has no inventoried delivery to bag.")
    released = _released(cruise)
    size = count = 0
    for delivery in deliveries:
        rows = hashed(InventoryFile.objects.filter(delivery=delivery))
        count += rows.count()
        size += sum(rows.values_list("size", flat=True).iterator(chunk_size=10_000))
    emls = [
        (f"data/metadata/{revision.package_id_text}.xml", revision.eml_blob)
        for _, revision, _ in released
        if revision.eml_blob_id
    ]
    count += len(emls)
    size += sum(blob.size for _, blob in emls)

    for delivery in deliveries:
        rows = hashed(InventoryFile.objects.filter(delivery=delivery)).order_by("path")
        for row in rows.iterator(chunk_size=2_000):
            yield BagMember(f"data/{delivery.shipment}/{row.path}", row.size, _file_chunks(delivery, row))
    for name, blob in emls:
        yield BagMember(name, blob.size, lambda blob=blob: _blob_chunks(blob))

    tag_digests: dict[str, str] = {}

    def tag(name: str, produce: Callable[[], Iterable[bytes]]) -> BagMember:
        def chunks() -> Iterator[bytes]:
            digest = hashlib.sha256()
            for block in produce():
                digest.update(block)
                yield block
            tag_digests[name] = digest.hexdigest()

        return BagMember(name, 0, chunks)

    def manifest(algorithm: str) -> Iterator[bytes]:
        lines: list[str] = []
        for delivery in deliveries:
            rows = hashed(InventoryFile.objects.filter(delivery=delivery)).order_by("path")
            for path, digest in rows.values_list("path", algorithm).iterator(chunk_size=10_000):
                lines.append(f"{digest}  data/{_encode_path(delivery.shipment)}/{_encode_path(path)}\n")
                if len(lines) >= 2_000:
                    yield "".join(lines).encode()
                    lines.clear()
        for name, blob in emls:
            lines.append(f"{getattr(blob, algorithm)}  {name}\n")
        yield "".join(lines).encode()

    info = "".join(f"{key}: {value}\n" for key, value in bag_info(cruise, (size, count))).encode()
    yield tag("bagit.txt", lambda: [BAGIT_TXT])
    yield tag("bag-info.txt", lambda: [info])
    yield tag("manifest-sha256.txt", lambda: manifest("sha256"))
    yield tag("manifest-md5.txt", lambda: manifest("md5"))
    yield BagMember(
        "tagmanifest-sha256.txt",
        0,
        lambda: ["".join(f"{digest}  {name}\n" for name, digest in tag_digests.items()).encode()],
    )


def _blob_chunks(blob) -> Iterator[bytes]:
    with storage.open_blob(blob) as handle:
        while block := handle.read(CHUNK):
            yield block


def write_bag(cruise: Cruise, dest: str | os.PathLike) -> Path:
    """Write the bag into the empty (or new) folder ``dest``; returns it."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise Conflict(f"{dest} is not empty; choose a new folder for the bag.")
    dest.mkdir(parents=True, exist_ok=True)
    for member in members(cruise):
        target = dest / member.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            for block in member.chunks():
                out.write(block)
    return dest


def zip_members(cruise: Cruise):
    """The bag as members of a streamed zip, all under one top folder (how bags travel as zip files)."""
    from apps.publishing.landing.zipstream import Member

    top = services.bag_dir_name(cruise)
    for member in members(cruise):
        yield Member(name=f"{top}/{member.name}", size=member.size, chunks=member.chunks)
