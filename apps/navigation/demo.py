"""Demo navigation: a generated track for each demo cruise. RR2401 (San Diego → Honolulu, done) carries
injected faults — a six-hour gap, a position spike, a spell of bad GPS quality, a few stale records and
week-rollover dates — so its certificate shows flags; RR2402 (at sea) is clean so far. One fix a minute
keeps the demo small (a real feed is 1 Hz)."""

import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from apps.cruises.models import Cruise

from . import services, synthetic
from .models import Track

INTERVAL = 60.0


def _write(folder: Path, name: str, start: datetime.datetime, n: int, **options) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    synthetic.write(path, start, n, interval=INTERVAL, **options)
    return path


def load(log) -> None:
    root = Path(settings.VAR_DIR) / "demo-navigation"
    done = Cruise.objects.filter(cruise_id="RR2401", vessel__code="RR").first()
    at_sea = Cruise.objects.filter(cruise_id="RR2402", vessel__code="RR").first()
    built = []
    if done and not Track.objects.filter(cruise=done, state=Track.State.DONE).exists():
        start = datetime.datetime(2025, 1, 10, 0, 0, tzinfo=datetime.UTC)
        n = int(
            (datetime.datetime(2025, 2, 3, 0, 0, tzinfo=datetime.UTC) - start).total_seconds() // INTERVAL
        )
        faults = synthetic.Faults(
            gap=(9000, 9360),
            spike=12000,
            bad_quality=(15000, 15300),
            out_of_order=(20000, 20040),
            week_rollover=(25000, 25030),
        )
        path = _write(
            root / "RR2401",
            "RR2401_gps.nmea",
            start,
            n,
            lat0=32.7,
            lon0=-117.2,
            heading=252.5,
            speed_kn=3.9,
            prefix="scs",
            faults=faults,
        )
        track = services.process_cruise_navigation(done, [path])
        built.append(f"RR2401 {track.overall}")
    if at_sea and not Track.objects.filter(cruise=at_sea, state=Track.State.DONE).exists():
        start = datetime.datetime.combine(at_sea.departure_date, datetime.time(0, 0), tzinfo=datetime.UTC)
        n = max(10, int((timezone.now() - start).total_seconds() // INTERVAL))
        path = _write(
            root / "RR2402",
            "RR2402_gps.nmea",
            start,
            n,
            lat0=21.3,
            lon0=-157.9,
            heading=62.0,
            speed_kn=10.0,
            prefix="iso",
        )
        track = services.process_cruise_navigation(at_sea, [path])
        built.append(f"RR2402 {track.overall}")
    log(f"navigation: {', '.join(built) if built else 'already built'}")
