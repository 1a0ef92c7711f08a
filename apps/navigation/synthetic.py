"""Generated ship tracks as NMEA 0183 (the demo, the tests and ``bench/bench_nav.py`` use them).

A ship steams at a steady speed along a heading from a start point, one epoch per ``interval`` seconds, each
epoch written as GGA + RMC (+ ZDA) with correct checksums, optionally behind a logger prefix (OpenRVDAS ISO
8601 or SCS). ``Faults`` injects the problems a certificate must catch. Writing is plain Python per line
(test tooling; the reader is the part that must be fast).
"""

from __future__ import annotations

import datetime
import functools
import operator
from dataclasses import dataclass

import numpy as np

KNOT = 1852.0 / 3600.0


def checksum(body: str) -> str:
    return f"{functools.reduce(operator.xor, body.encode(), 0):02X}"


def sentence(body: str) -> str:
    return f"${body}*{checksum(body)}"


def _ddmm(value: float, degree_digits: int, pos: str, neg: str) -> tuple[str, str]:
    hemi = pos if value >= 0 else neg
    value = abs(value)
    deg = int(value)
    minutes = (value - deg) * 60
    if round(minutes, 6) >= 60:
        deg, minutes = deg + 1, 0.0
    return f"{deg:0{degree_digits}d}{minutes:09.6f}", hemi


@dataclass
class Faults:
    gap: tuple[int, int] | None = None  # drop epochs [a, b)
    spike: int | None = None  # move this epoch 0.05° north
    bad_quality: tuple[int, int] | None = None  # quality 0 for epochs [a, b)
    out_of_order: tuple[int, int] | None = None  # write epochs [a, b) again after b (late, stale records)
    week_rollover: tuple[int, int] | None = None  # RMC/ZDA dates 1,024 weeks early for epochs [a, b)


def positions(n: int, lat0: float, lon0: float, heading: float, speed_kn: float, interval: float):
    """Lat/lon of ``n`` epochs steaming on ``heading`` (degrees) from (lat0, lon0); lon in [-180, 180)."""
    step = speed_kn * KNOT * interval
    h = np.radians(heading)
    lat = lat0 + np.arange(n) * step * np.cos(h) / 111320.0
    dlon = step * np.sin(h) / (111320.0 * np.cos(np.radians(lat)))
    lon = lon0 + np.concatenate(([0.0], np.cumsum(dlon[:-1])))
    lon = ((lon + 180.0) % 360.0) - 180.0
    return lat, lon


def lines(
    start: datetime.datetime,
    n: int,
    *,
    lat0: float = 32.7,
    lon0: float = -117.2,
    heading: float = 250.0,
    speed_kn: float = 10.0,
    interval: float = 1.0,
    prefix: str | None = "iso",
    zda: bool = True,
    talker: str = "GP",
    faults: Faults | None = None,
):
    """Yield the lines (without newline) of a generated NMEA stream."""
    faults = faults or Faults()
    lat, lon = positions(n, lat0, lon0, heading, speed_kn, interval)
    if faults.spike is not None:
        lat[faults.spike] += 0.05
    roll = datetime.timedelta(weeks=1024)
    order = list(range(n))
    if faults.out_of_order:
        a, b = faults.out_of_order
        order = order[:b] + order[a:b] + order[b:]
    for i in order:
        if faults.gap and faults.gap[0] <= i < faults.gap[1]:
            continue
        t = start + datetime.timedelta(seconds=i * interval)
        logged = t
        sensor = t
        if faults.week_rollover and faults.week_rollover[0] <= i < faults.week_rollover[1]:
            sensor = t - roll
        hms = t.strftime("%H%M%S") + f".{t.microsecond // 10000:02d}"
        la, ns = _ddmm(lat[i], 2, "N", "S")
        lo, ew = _ddmm(lon[i], 3, "E", "W")
        quality = 1
        if faults.bad_quality and faults.bad_quality[0] <= i < faults.bad_quality[1]:
            quality = 0
        if prefix == "iso":
            pre = logged.strftime("%Y-%m-%dT%H:%M:%S") + f".{logged.microsecond:06d}Z "
        elif prefix == "scs":
            pre = logged.strftime("%m/%d/%Y,%H:%M:%S") + f".{logged.microsecond // 1000:03d},"
        else:
            pre = ""
        yield pre + sentence(f"{talker}GGA,{hms},{la},{ns},{lo},{ew},{quality},10,0.9,12.0,M,-35.1,M,,")
        yield pre + sentence(
            f"{talker}RMC,{hms},{'A' if quality else 'V'},{la},{ns},{lo},{ew},{speed_kn:.1f},{heading:.1f},"
            f"{sensor.strftime('%d%m%y')},,,A"
        )
        if zda:
            yield pre + sentence(f"{talker}ZDA,{hms},{sensor.strftime('%d,%m,%Y')},00,00")


def write(path, start: datetime.datetime, n: int, **options) -> int:
    """Write a generated stream to ``path``; the number of bytes written."""
    size = 0
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        batch = []
        for line in lines(start, n, **options):
            batch.append(line)
            if len(batch) >= 30000:
                text = "\n".join(batch) + "\n"
                fh.write(text)
                size += len(text)
                batch = []
        if batch:
            text = "\n".join(batch) + "\n"
            fh.write(text)
            size += len(text)
    return size
