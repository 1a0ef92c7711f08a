"""Demo event logs: RR2401's closed (with its final copy), RR2402's open at sea."""

import datetime

from django.utils import timezone

from apps.accounts.models import User
from apps.cruises.models import Cruise

from . import services
from .models import EventLog, ensure_default_instruments

STATIONS = [("S01", 32.85, -117.95), ("S02", 32.60, -118.40), ("S03", 32.30, -118.90)]


def load(log) -> None:
    ensure_default_instruments()
    chief = User.objects.get(email="chief@quayside.example")
    staff = User.objects.get(email="staff@quayside.example")
    done = Cruise.objects.filter(cruise_id="RR2401", vessel__code="RR").first()
    at_sea = Cruise.objects.filter(cruise_id="RR2402", vessel__code="RR").first()
    if done and not EventLog.objects.filter(cruise=done).exists():
        services.open_log(done, chief)
        t = datetime.datetime(2025, 1, 10, 16, 0, tzinfo=datetime.UTC)
        services.add_entry(
            done,
            staff,
            {
                "instrument": "SHIP",
                "action": "depart port",
                "time": t,
                "idempotency_key": "demo-rr2401-0",
                "latitude": 32.71,
                "longitude": -117.17,
                "comment": "Departed San Diego",
            },
        )
        for i, (station, lat, lon) in enumerate(STATIONS, start=1):
            for j, action in enumerate(("deploy", "at bottom", "recover")):
                services.add_entry(
                    done,
                    staff,
                    {
                        "instrument": "CTD",
                        "action": action,
                        "station": station,
                        "cast": "1",
                        "latitude": lat,
                        "longitude": lon,
                        "time": t + datetime.timedelta(hours=10 * i, minutes=40 * j),
                        "idempotency_key": f"demo-rr2401-{i}-{j}",
                    },
                )
        services.add_entry(
            done,
            chief,
            {
                "instrument": "MBES",
                "action": "start line",
                "time": t + datetime.timedelta(days=2),
                "idempotency_key": "demo-rr2401-mb",
                "comment": "Patton Escarpment line 1",
            },
        )
        services.close_log(done, chief)
    if at_sea and not EventLog.objects.filter(cruise=at_sea).exists():
        services.open_log(at_sea, chief)
        now = timezone.now()
        for k, (instrument, action, hours) in enumerate(
            (("SHIP", "depart port", 100), ("MOORING", "recover", 60), ("CTD", "deploy", 2))
        ):
            services.add_entry(
                at_sea,
                staff,
                {
                    "instrument": instrument,
                    "action": action,
                    "station": "ALOHA" if k else "",
                    "time": now - datetime.timedelta(hours=hours),
                    "idempotency_key": f"demo-rr2402-{k}",
                    "latitude": 22.75,
                    "longitude": -158.0,
                },
            )
    log("eventlogs: RR2401 closed with its final copy, RR2402 open at sea")
