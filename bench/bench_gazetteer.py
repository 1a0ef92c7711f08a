#!/usr/bin/env python
"""Search by place: "which cruises entered region R between dates D1 and D2?"

1. Generate N = 10,000 × BENCH_SCALE cruise tracks (about 200 control points each, one to six weeks at sea
   between 2015 and 2025, some across the antimeridian) and their timed pieces
   (``apps.navigation.segments``), and 200 region polygons (irregular, 1–8° across), in PostgreSQL (its own
   database ``qs_bench_gazetteer``; BENCH_GAZETTEER_DATABASE_URL to change it).
2. Time ``apps.gazetteer.services.cruises_crossing`` over QUERIES random (region, 30–120-day window) pairs:
   p50/p95 (target p95 ≤ 100 ms).
3. Peer, in the same run: the naive answer — every track's pieces read and intersected with shapely, no box
   or time index — over a few of the same queries; the answers must be equal.
"""

from __future__ import annotations

import datetime
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import recreate_database, write_results  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
N = max(200, int(10_000 * SCALE))
REGIONS = 200
QUERIES = 200
PEER_QUERIES = 5
DB_URL = os.environ.get(
    "BENCH_GAZETTEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_gazetteer"
)
os.environ.update(
    DATABASE_URL=DB_URL,
    QUAYSIDE_VAR_DIR=tempfile.mkdtemp(prefix="qs-bench-gaz-"),
    DJANGO_SETTINGS_MODULE="portal.settings",
)
EPOCH0 = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC).timestamp()
YEARS10 = 10 * 365 * 86400


def track(rng: random.Random):
    """(times, lats, lons) of one cruise: a wandering course of ~200 control points."""
    import numpy as np

    n = rng.randint(120, 280)
    days = rng.uniform(7, 42)
    t = (
        EPOCH0
        + rng.uniform(0, YEARS10)
        + np.sort(np.random.default_rng(rng.getrandbits(32)).uniform(0, days * 86400, n))
    )
    heading = rng.uniform(0, 2 * math.pi)
    lat, lon = rng.uniform(-60, 60), rng.uniform(-180, 180)
    lats, lons = [], []
    step = 300 * 0.5144 * 10 / 111_000  # ~10 knots between points a few minutes to hours apart, in degrees
    for i in range(n):
        heading += rng.gauss(0, 0.25)
        dt = (t[i] - t[i - 1]) if i else 0
        d = step * dt / 300
        lat = max(-75.0, min(75.0, lat + d * math.cos(heading)))
        lon = ((lon + d * math.sin(heading) / max(math.cos(math.radians(lat)), 0.2)) + 180) % 360 - 180
        lats.append(lat), lons.append(lon)
    return t, np.array(lats), np.array(lons)


def region(rng: random.Random, centre: tuple[float, float] | None = None) -> dict:
    """An irregular 16-gon 1–8° across, at ``centre`` or anywhere."""
    cx, cy = centre or (rng.uniform(-170, 170), rng.uniform(-60, 60))
    cx, cy, r = max(-170.0, min(170.0, cx)), cy, rng.uniform(0.5, 4)
    ring = []
    for k in range(16):
        a = 2 * math.pi * k / 16
        rr = r * rng.uniform(0.4, 1.0)
        ring.append([round(cx + rr * math.cos(a), 4), round(cy + rr * math.sin(a), 4)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def load(rng: random.Random) -> dict[str, float]:
    """Load everything; returns the time of the track point each on-track region was placed at."""
    import django

    django.setup()
    from apps.cruises.models import Cruise, Organisation, Vessel
    from apps.gazetteer.models import Region
    from apps.navigation import segments
    from apps.navigation.models import Track, TrackSegment

    org = Organisation.objects.create(name="Bench Ocean Institute", short_name="BOI")
    vessels = [
        Vessel.objects.create(name=f"R/V Bench {i}", code=f"B{i:02d}", operator=org) for i in range(20)
    ]
    cruises = Cruise.objects.bulk_create(
        [
            Cruise(cruise_id=f"{vessels[i % 20].code}{i:05d}", vessel=vessels[i % 20], operator=org)
            for i in range(N)
        ]
    )
    made = 0
    on_track: list[tuple[float, float, float]] = []  # (lon, lat, time) of a point on some track
    for start in range(0, N, 1000):
        tracks, pieces = [], []
        for cruise in cruises[start : start + 1000]:
            t, lat, lon = track(rng)
            tracks.append(
                Track(
                    cruise=cruise,
                    state="done",
                    dated=True,
                    first_time=datetime.datetime.fromtimestamp(t[0], datetime.UTC),
                    last_time=datetime.datetime.fromtimestamp(t[-1], datetime.UTC),
                    west=float(lon.min()),
                    south=float(lat.min()),
                    east=float(lon.max()),
                    north=float(lat.max()),
                    control={
                        "type": "LineString",
                        "coordinates": [[float(x), float(y)] for x, y in zip(lon, lat, strict=True)],
                    },
                    control_points=len(t),
                )
            )
            pieces.append(segments.pieces(t, lat, lon))
            i = rng.randrange(len(t))
            on_track.append((float(lon[i]), float(lat[i]), float(t[i])))
        Track.objects.bulk_create(tracks)
        rows = [TrackSegment.of_piece(tr, p) for tr, ps in zip(tracks, pieces, strict=True) for p in ps]
        TrackSegment.objects.bulk_create(rows, batch_size=2000)
        made += len(rows)
    regions = []
    # Half the regions are placed on a track (so many questions have answers), half anywhere.
    placed: dict[str, float] = {}
    for i in range(REGIONS):
        point = rng.choice(on_track) if i % 2 else None
        if point:
            placed[f"R{i:03d}"] = point[2]
        g = region(rng, point[:2] if point else None)
        xs, ys = [p[0] for p in g["coordinates"][0]], [p[1] for p in g["coordinates"][0]]
        regions.append(
            Region(
                gazetteer="bench",
                name=f"R{i:03d}",
                geometry=g,
                west=min(xs),
                south=min(ys),
                east=max(xs),
                north=max(ys),
            )
        )
    Region.objects.bulk_create(regions)
    from django.db import connection

    with connection.cursor() as c:
        c.execute("ANALYZE")
    print(f"loaded {N} tracks, {made} timed pieces, {REGIONS} regions")
    return placed


def naive(region_row, start, end) -> list[int]:
    """Every piece of every track, intersected with shapely: no index."""
    from apps.gazetteer.services import region_geometry
    from apps.navigation import segments
    from apps.navigation.models import TrackSegment

    geometry = region_geometry(region_row)
    t0, t1 = segments.epoch(start), segments.epoch(end, end=True)
    found = set()
    for cruise_pk, points in TrackSegment.objects.values_list("track__cruise_id", "points").iterator(
        chunk_size=5000
    ):
        if cruise_pk not in found and segments.crosses(points, geometry, t0, t1):
            found.add(cruise_pk)
    return sorted(found)


def main() -> int:
    rng = random.Random(13)
    recreate_database(DB_URL)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    started = time.perf_counter()
    placed = load(rng)
    load_s = time.perf_counter() - started
    from apps.gazetteer.models import Region
    from apps.gazetteer.services import cruises_crossing

    regions = list(Region.objects.all())
    queries = []
    for _ in range(QUERIES):
        # windows of 30–120 days: around the visit that placed an on-track region, or anywhere in the ten years
        r = rng.choice(regions)
        if r.name in placed and rng.random() < 0.5:
            d1 = datetime.datetime.fromtimestamp(placed[r.name], datetime.UTC).date()
            d1 -= datetime.timedelta(days=rng.randint(0, 30))
        else:
            d1 = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randint(0, 3600))
        queries.append((r, d1, d1 + datetime.timedelta(days=rng.randint(30, 120))))
    cruises_crossing(*queries[0])  # warm the cache and the connection
    times, answers, hits = [], [], 0
    for q in queries:
        t = time.perf_counter()
        found = cruises_crossing(*q)
        times.append((time.perf_counter() - t) * 1000)
        answers.append(found)
        hits += len(found)
    peer_times = []
    # the peer answers the first PEER_QUERIES questions that have an answer, and one that has none
    answered = [i for i, a in enumerate(answers) if a][: PEER_QUERIES - 1]
    unanswered = [i for i, a in enumerate(answers) if not a][:1]
    asked = answered + unanswered
    for i in asked:
        q = queries[i]
        t = time.perf_counter()
        found = naive(*q)
        peer_times.append((time.perf_counter() - t) * 1000)
        assert found == answers[i], f"query {i}: index {answers[i]} != naive {found}"
    times.sort()
    p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
    peer_p50 = statistics.median(peer_times)
    figures = {
        "tracks": N,
        "regions": REGIONS,
        "queries": QUERIES,
        "p50 ms": round(p50, 2),
        "p95 ms": round(p95, 2),
        "max ms": round(times[-1], 2),
        "cruises found per query (mean)": round(hits / QUERIES, 2),
        "load s": round(load_s, 1),
        "speed-up over naive (p50)": round(peer_p50 / p50, 1),
        "BENCH_SCALE": SCALE,
    }
    peers = {
        "naive all-tracks shapely p50 ms": round(peer_p50, 1),
        "naive queries (answers equal)": PEER_QUERIES,
    }
    target = "met" if p95 <= 100 else "NOT met"
    write_results(
        "gazetteer",
        figures,
        f"{N:,} tracks × {REGIONS} regions: p95 {p95:.1f} ms (target ≤ 100 ms {target}), "
        f"{peer_p50 / p50:.0f}× the naive all-tracks shapely scan (p50)",
        peers=peers,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
