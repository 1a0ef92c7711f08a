"""Demo data packages, taken through the real pipeline in this process (no HTTP server: the data files
are uploaded with the EML). Idempotent: a package that exists is left alone.

- quay.1 "Harbour mooring" — two tables, revision 1 and a corrected revision 2;
- quay.2 "Benthic grab samples" from cruise RR2401 — a quality report with warnings (no MD5 declared);
- quay.3 "CTD casts" — archived;
- quay.4 — a failed submission (a non-numeric temperature), with its report; nothing archived.
"""

from __future__ import annotations

import io
import random

from apps.accounts.models import User
from apps.packages.eml.build import Column, Table, build_eml
from apps.packages.models import Package

from . import services
from .models import Submission


def _csv(header: list[str], rows: list[list]) -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _table(entity_id: str, name: str, columns: list[Column], data: bytes, *, md5: bool = True) -> Table:
    import hashlib

    t = Table(
        entity_id,
        name,
        columns,
        object_name=f"{entity_id}.csv",
        size=len(data),
        md5=hashlib.md5(data).hexdigest() if md5 else "",
        records=data.count(b"\n") - 1,
    )
    return t


def _mooring(rnd: random.Random, hours: int, fix: bool = True) -> bytes:
    rows = []
    for h in range(hours):
        temp = "-9999" if h % 53 == 7 else f"{10 + 3 * rnd.random():.3f}"
        if not fix and h == 41:
            temp = "n/a"
        rows.append(
            [
                f"S{1 + h % 3}",
                f"2024-03-{1 + h // 24:02d}T{h % 24:02d}:00:00",
                temp,
                f"{33 + rnd.random():.2f}",
            ]
        )
    return _csv(["station", "time", "temperature", "salinity"], rows)


MOORING_COLUMNS = [
    Column("station", "code", codes=["S1", "S2", "S3"]),
    Column("time", "date", format="YYYY-MM-DDThh:mm:ss"),
    Column("temperature", "real", unit="celsius", missing=["-9999"]),
    Column("salinity", "real", unit="dimensionless", minimum=0, maximum=45),
]
STATION_COLUMNS = [
    Column("station", "code", codes=["S1", "S2", "S3"]),
    Column("name"),
    Column("latitude", "real", unit="degree", minimum=-90, maximum=90),
    Column("longitude", "real", unit="degree", minimum=-180, maximum=180),
]
STATIONS = _csv(
    ["station", "name", "latitude", "longitude"],
    [
        ["S1", "Harbour mouth", 32.70, -117.23],
        ["S2", "North jetty", 32.72, -117.24],
        ["S3", "Outer buoy", 32.66, -117.30],
    ],
)


def _run(
    user: User, package_id: str, tables: list[tuple[Table, bytes]], kind: str = "create", **eml
) -> Submission:
    scope, identifier, _ = package_id.split(".")
    doc = build_eml(package_id, [t for t, _ in tables], **eml)
    files = [(t.object_name, io.BytesIO(data)) for t, data in tables]
    sub = services.submit(
        user,
        doc,
        kind=kind,
        files=files,
        scope=scope,
        identifier=int(identifier),
        start=False,
        filename=f"{package_id}.xml",
    )
    return services.run_all(sub)


def load(log) -> None:
    vetted = User.objects.get(email="vetted@quayside.example")
    chief = User.objects.get(email="chief@quayside.example")
    rnd = random.Random(2401)
    made = []
    if not Package.objects.filter(scope="quay", identifier=1).exists():
        first = _mooring(rnd, 24 * 5)
        _run(
            vetted,
            "quay.1.1",
            [
                (_table("stations", "Mooring stations", STATION_COLUMNS, STATIONS), STATIONS),
                (_table("mooring", "Hourly mooring data", MOORING_COLUMNS, first), first),
            ],
            title="Harbour approaches mooring: hourly temperature and salinity, March 2024",
            begin="2024-03-01",
            end="2024-03-05",
            bbox=(-117.30, 32.66, -117.23, 32.72),
        )
        second = _mooring(random.Random(7), 24 * 10)
        _run(
            vetted,
            "quay.1.2",
            [
                (_table("stations", "Mooring stations", STATION_COLUMNS, STATIONS), STATIONS),
                (_table("mooring", "Hourly mooring data", MOORING_COLUMNS, second), second),
            ],
            kind="update",
            title="Harbour approaches mooring: hourly temperature and salinity, March 2024",
            begin="2024-03-01",
            end="2024-03-10",
            bbox=(-117.30, 32.66, -117.23, 32.72),
        )
        made.append("quay.1 (revisions 1 and 2)")
    if not Package.objects.filter(scope="quay", identifier=2).exists():
        cols = [
            Column("sample", "text"),
            Column("station", "code", codes=["G1", "G2", "G3", "G4"]),
            Column("depth_m", "real", unit="meter", minimum=0),
            Column("taxon"),
            Column("count", "whole"),
            Column("date", "date", format="YYYY-MM-DD"),
        ]
        taxa = ["Polychaeta", "Amphipoda", "Bivalvia", "Ophiuroidea", "Nemertea"]
        data = _csv(
            [c.name for c in cols],
            [
                [
                    f"RR2401-{i:03d}",
                    f"G{1 + i % 4}",
                    40 + 15 * (i % 4),
                    taxa[i % 5],
                    rnd.randint(0, 120),
                    f"2024-03-{2 + i % 9:02d}",
                ]
                for i in range(80)
            ],
        )
        _run(
            chief,
            "quay.2.1",
            [(_table("grabs", "Benthic grab samples", cols, data, md5=False), data)],
            title="Benthic infauna",
            abstract=(
                "Counts of benthic infauna from 80 Van Veen grab samples at four stations (40 to 85 m) on the "
                "shelf, collected on cruise RR2401 in March 2024: sample, station, depth, taxon and count."
            ),
            keywords=(),
            cruise_id="RR2401",
            creator={
                "given": "Chidi",
                "family": "Okafor",
                "org": "Institute of Marine Science",
                "email": "chief@quayside.example",
                "orcid": "0000-0001-5109-3700",
            },
        )
        made.append("quay.2 (report with warnings, cruise RR2401)")
    if not Package.objects.filter(scope="quay", identifier=3).exists():
        cols = [
            Column("cast", "natural"),
            Column("pressure_dbar", "real", unit="decibar", minimum=0),
            Column("temperature", "real", unit="celsius"),
            Column("salinity", "real", unit="dimensionless"),
            Column("oxygen", "real", unit="micromolePerKilogram", missing=["NaN"]),
        ]
        rows = [
            [
                c,
                p,
                f"{18 - p / 60 + rnd.random() / 10:.3f}",
                f"{33.4 + p / 2000:.3f}",
                "NaN" if p % 170 == 0 else f"{250 - p / 4:.1f}",
            ]
            for c in range(1, 7)
            for p in range(2, 1000, 8)
        ]
        data = _csv([c.name for c in cols], rows)
        _run(
            vetted,
            "quay.3.1",
            [(_table("ctd", "CTD downcasts", cols, data), data)],
            title="CTD profiles of temperature, salinity and oxygen off Point Loma, 2024",
            abstract=(
                "Six CTD downcasts to 1,000 dbar off Point Loma on cruise RR2402: temperature, practical "
                "salinity and dissolved oxygen, averaged in 8 dbar bins."
            ),
            keywords=("CTD", "oxygen", "temperature", "salinity"),
            cruise_id="RR2402",
        )
        made.append("quay.3")
    if not Submission.objects.filter(package_id_text="quay.4.1").exists():
        bad = _mooring(random.Random(3), 48, fix=False)
        _run(
            vetted,
            "quay.4.1",
            [(_table("mooring", "Hourly mooring data", MOORING_COLUMNS, bad), bad)],
            title="A submission that fails: a temperature written as n/a, not a declared missing-value code",
            abstract="Two days of mooring data with a temperature written as n/a: the table check refuses it.",
        )
        made.append("quay.4.1 (failed, with report)")
    log(f"submissions: {', '.join(made) if made else 'demo packages exist already'}")
