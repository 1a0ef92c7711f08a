"""A track as short timed pieces: what "which cruises entered this region between these dates?" reads.

The control-point line (Douglas–Peucker of the one-minute track, so every one-minute fix lies within the
tolerance of it) is cut at the antimeridian and then into pieces of at most ``POINTS`` vertices. Each piece
keeps its vertices' times, its time span and its box; the box and span columns are indexed
(``TrackSegment``), so a query first reads the few pieces whose box meets the region's box and whose span
meets the dates, then clips each to the dates (times interpolated along the piece) and intersects the clipped
line exactly with the region (shapely).

A piece never crosses the antimeridian, so its box always has west ≤ east.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

POINTS = 32  # vertices a piece at most: ~10,000 tracks × a few hundred control points stay ~100k rows


@dataclass
class Piece:
    start: float  # epoch seconds
    end: float
    bbox: tuple[float, float, float, float]  # west, south, east, north (west ≤ east)
    points: list[list[float]]  # [lon, lat, t]


def _split(t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> list[tuple[list, list, list]]:
    """Runs of the line between antimeridian crossings; a crossing ends one run at ±180 and starts the next
    at ∓180, its latitude and time interpolated."""
    runs: list[tuple[list, list, list]] = [([], [], [])]
    for i in range(len(t)):
        if i and abs(lon[i] - lon[i - 1]) > 180:
            eastward = lon[i - 1] > lon[i]
            x1 = lon[i] + 360 if eastward else lon[i] - 360
            edge = 180.0 if eastward else -180.0
            frac = (edge - lon[i - 1]) / (x1 - lon[i - 1]) if x1 != lon[i - 1] else 0.0
            la = float(lat[i - 1] + frac * (lat[i] - lat[i - 1]))
            ti = float(t[i - 1] + frac * (t[i] - t[i - 1]))
            runs[-1][0].append(ti), runs[-1][1].append(la), runs[-1][2].append(edge)
            runs.append(([ti], [la], [-edge]))
        runs[-1][0].append(float(t[i])), runs[-1][1].append(float(lat[i])), runs[-1][2].append(float(lon[i]))
    return runs


def pieces(t, lat, lon, size: int = POINTS) -> list[Piece]:
    """The timed pieces of a line (times in epoch seconds, longitudes in [-180, 180)). Empty without
    times (an undated track cannot answer "between these dates")."""
    t, lat, lon = (np.asarray(a, dtype=np.float64) for a in (t, lat, lon))
    ok = ~(np.isnan(t) | np.isnan(lat) | np.isnan(lon))
    t, lat, lon = t[ok], lat[ok], lon[ok]
    out: list[Piece] = []
    for rt, rla, rlo in _split(t, lat, lon):
        n = len(rt)
        if not n:  # an undated track: no fix has a time
            continue
        step = max(size - 1, 1)
        for a in range(0, max(n - 1, 1), step):
            b = min(a + size, n)
            pts = [[round(rlo[i], 7), round(rla[i], 7), round(rt[i], 3)] for i in range(a, b)]
            lons, lats = [p[0] for p in pts], [p[1] for p in pts]
            out.append(Piece(pts[0][2], pts[-1][2], (min(lons), min(lats), max(lons), max(lats)), pts))
    return out


def clipped(points: list[list[float]], start: float | None, end: float | None):
    """The piece's line between ``start`` and ``end`` (epoch seconds; None = open), positions interpolated
    at the cut, as a shapely geometry, or None when the piece lies outside the dates."""
    lo = -np.inf if start is None else start
    hi = np.inf if end is None else end
    out: list[tuple[float, float]] = []
    for i, (x, y, t) in enumerate(points):
        if i:
            x0, y0, t0 = points[i - 1]
            for cut in (lo, hi):  # entering or leaving the window between two vertices
                if t0 < cut < t or t < cut < t0:
                    f = (cut - t0) / (t - t0)
                    out.append((x0 + f * (x - x0), y0 + f * (y - y0)))
        if lo <= t <= hi:
            out.append((x, y))
    if not out:
        return None
    return Point(out[0]) if len(out) == 1 else LineString(out)


def crosses(points: list[list[float]], region, start: float | None, end: float | None) -> bool:
    """Whether the piece, between the dates, meets ``region`` (a prepared shapely geometry)."""
    line = clipped(points, start, end)
    return line is not None and region.intersects(line)


def prepared(geometry):
    """A shapely geometry prepared for many ``intersects`` calls."""
    shapely.prepare(geometry)
    return geometry


def epoch(value: datetime.datetime | datetime.date | None, *, end: bool = False) -> float | None:
    """Epoch seconds of a datetime, or of a date's first (``end``: last) instant; None stays None."""
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time.max if end else datetime.time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()
