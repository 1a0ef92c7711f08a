"""Demo delivery: RR2401's shipment 1, a generated drop folder of a few hundred small files in instrument
folders (multibeam, CTD, ADCP, navigation, meteorology, documentation, one stray file) with an md5deep
manifest that has one wrong entry, inventoried, with one open flag from the chief scientist."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from django.conf import settings

from apps.accounts.models import User
from apps.cruises.models import Cruise

from . import services
from .models import Delivery

SHIPMENT = "1"


def _tree(root: Path) -> None:
    """About 300 files, a few KB each, the same every time (seeded)."""
    rng = random.Random(2401)
    files: dict[str, bytes] = {}
    for day in range(1, 11):
        for hour in range(24):
            files[f"multibeam/EM122/raw/0{day:02d}_{hour:02d}00_RR2401.all"] = rng.randbytes(
                rng.randint(2048, 6144)
            )
    for cast in range(1, 31):
        files[f"ctd/SBE911/cast{cast:03d}.hex"] = rng.randbytes(rng.randint(1024, 4096))
        files[f"ctd/SBE911/cast{cast:03d}.xmlcon"] = b"<SBE_InstrumentConfiguration/>\n"
    for day in range(1, 11):
        files[f"adcp/OS75/RR2401_{day:03d}.LTA"] = rng.randbytes(3000)
        files[f"adcp/OS150/RR2401_{day:03d}.LTA"] = rng.randbytes(3000)
        files[f"nav/POSMV/RR2401_2025-01-{day:02d}.nmea"] = (
            b"$GPGGA,120000,3240.0,N,11710.0,W,1,08,0.9,10,M,,,,*47\r\n" * 40
        )
        files[f"met/MET/RR2401_2025-01-{day:02d}.csv"] = (
            b"time,wind_speed,air_temp\n" + b"12:00,7.5,16.2\n" * 50
        )
    files["docs/cruise_report.txt"] = b"RR2401 cruise report: CTD stations along Line 90.\n"
    files["stray/untitled.dat"] = b"a file nobody claims"
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    lines = [f"{hashlib.md5(data).hexdigest()}  ./{name}" for name, data in sorted(files.items())]
    lines[3] = "0" * 32 + lines[3][32:]  # the one wrong entry the manifest check reports
    (root / "md5deep.txt").write_text("\n".join(lines) + "\n")


def _drop_root() -> Path | None:
    for root in settings.DELIVERY_ALLOWED_ROOTS:
        if not root.startswith("s3://"):
            return Path(root)
    return None


def load(log) -> None:
    cruise = Cruise.objects.filter(cruise_id="RR2401", vessel__code="RR").first()
    if cruise is None or Delivery.objects.filter(cruise=cruise, shipment=SHIPMENT).exists():
        return
    operator = User.objects.get(email="operator@quayside.example")
    drop = _drop_root()
    if drop is not None:
        folder = drop / "RR2401-shipment-1"
        if not folder.exists():
            _tree(folder)
        delivery = services.register_delivery(operator, cruise, str(folder), shipment=SHIPMENT)
    else:  # no drop-folder root configured: deliver the same tree as an upload
        delivery = services.register_upload(operator, cruise, shipment=SHIPMENT)
        _tree(services.upload_root(delivery))
    services.run_inventory(delivery.pk)
    delivery.refresh_from_db()
    chief = User.objects.filter(email="chief@quayside.example").first()
    if chief is not None:
        services.raise_flag(
            chief,
            delivery,
            kind="instrument_class",
            target="gravimeter",
            comment="The gravimeter (BGM-3) logged all cruise long; its folder is missing from this shipment.",
        )
    log(f"deliveries: RR2401 shipment 1, {delivery.files_done} files inventoried, 1 open flag")
