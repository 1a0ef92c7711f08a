"""Building test packages: real CSV tables described by real EML (sizes and MD5s computed from the files)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from apps.packages.eml.build import Column, Table, build_eml

FIXTURES = Path(__file__).parent / "fixtures"

STATION_COLUMNS = [
    Column("station", "code", codes=["S1", "S2", "S3"]),
    Column("name"),
    Column("latitude", "real", unit="degree", minimum=-90, maximum=90),
    Column("longitude", "real", unit="degree", minimum=-180, maximum=180),
    Column("depth_m", "real", unit="meter", missing=["NA"]),
    Column("commissioned", "date", format="YYYY-MM-DD"),
]
OBS_COLUMNS = [
    Column("station", "code", codes=["S1", "S2", "S3"]),
    Column("time", "date", format="YYYY-MM-DDThh:mm:ss"),
    Column("temperature", "real", unit="celsius", missing=["-9999"]),
    Column("salinity", "real", unit="dimensionless"),
    Column("count", "whole"),
]


def write_observations(path: Path, rows: int, *, bad_row: int | None = None, bad_value: str = "warm") -> Path:
    """``rows`` data rows; with ``bad_row`` (1-based) that row's temperature is ``bad_value``."""
    rnd = random.Random(rows)
    with open(path, "w", newline="") as out:
        out.write("station,time,temperature,salinity,count\n")
        for i in range(1, rows + 1):
            temp = bad_value if i == bad_row else ("-9999" if i % 97 == 0 else f"{rnd.uniform(4, 18):.3f}")
            out.write(
                f"S{1 + i % 3},2024-03-{1 + i % 28:02d}T{i % 24:02d}:00:00,{temp},{rnd.uniform(30, 35):.2f},{i % 50}\n"
            )
    return path


def two_tables(folder: Path, base_url: str = "", *, rows: int = 50) -> tuple[Table, Table]:
    """The stations fixture and a generated observations table in ``folder``, described from the files."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "stations.csv", folder / "stations.csv")
    write_observations(folder / "observations.csv", rows)
    t1 = Table("stations", "Mooring stations", STATION_COLUMNS, object_name="stations.csv").describe_file(
        folder / "stations.csv"
    )
    t2 = Table(
        "observations", "Hourly observations", OBS_COLUMNS, object_name="observations.csv"
    ).describe_file(folder / "observations.csv")
    if base_url:
        t1.url, t2.url = f"{base_url}/stations.csv", f"{base_url}/observations.csv"
    return t1, t2


def eml_for(package_id: str, tables, **kwargs) -> bytes:
    return build_eml(package_id, list(tables), **kwargs)
