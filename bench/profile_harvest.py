#!/usr/bin/env python
"""Where the harvester's CPU goes, stage by stage: one full harvest of the benchmark's home portal with
the prefetch thread turned off (cProfile sees one thread), its time split into HTTP fetch, XML parse,
record reading (the crosswalk), the remote-record upsert, search indexing and the rest.

``python bench/profile_harvest.py`` uses bench/bench_harvest.py's two databases
(``BENCH_HARVEST_HOME_DATABASE_URL``, ``BENCH_HARVEST_DATABASE_URL``): the home portal is loaded when it
does not hold N = 100,000 × BENCH_SCALE records, the harvesting one is recreated. Not a benchmark
(bench_harvest.py is): a tool to see what a record costs the harvester.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_harvest import HARVESTER_DB, HOME_DB, N  # noqa: E402

# The stages: (name, the function whose cumulative time is that stage's) — cProfile's own names.
STAGES = (
    ("HTTP fetch (httpx2, the provider's wait included)", "_request_with_retry"),
    ("XML parse (hardened parser)", "xml"),
    ("record reading (crosswalk)", "read_record"),
    ("remote-record upsert", "_upsert_records"),
    ("search indexing", "index_remote"),
    ("deletions", "_apply_deletions"),
    ("run bookkeeping, audit", "_finish"),
)


def main() -> int:
    os.environ["BENCH_OAI_DATABASE_URL"] = HOME_DB
    os.environ.setdefault("OAI_PAGE_SIZE", "500")
    from bench import bench_oai
    from bench.support import recreate_database

    bench_oai.N = N
    if bench_oai.loaded_count() != N:
        bench_oai.fresh_database()
        bench_oai.load()
    recreate_database(HARVESTER_DB)
    os.environ.update(
        DATABASE_URL=HARVESTER_DB,
        HARVEST_ALLOW_LOOPBACK="1",
        QUAYSIDE_VAR_DIR=str(bench_oai.VAR / "harvester"),
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, cwd=ROOT)
    proc, base = bench_oai.start_gunicorn()
    try:
        import django

        django.setup()
        from apps.federation import harvester, services
        from apps.federation.models import HarvestSource

        harvester.prefetched = lambda items, depth=2: items  # one thread, so cProfile sees it all
        source = HarvestSource.objects.create(base_url=f"{base}/oai", name="Home portal")
        services.harvest(source.pk, full=True)  # warm: imports, connections, the provider's workers
        profile = cProfile.Profile()
        cpu, wall = time.process_time(), time.perf_counter()
        profile.enable()
        run = services.harvest(source.pk, full=True)
        profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    records = run.records + run.deleted
    print(
        f"{records:,} records in {wall:.2f} s wall, {cpu:.2f} s CPU in this process "
        f"({1000 * cpu / records:.3f} ms a record; cProfile's own overhead included)"
    )
    stats = pstats.Stats(profile)
    by_name: dict[str, float] = {}
    for (_, _, name), (_, _, _, cumulative, _) in stats.stats.items():
        by_name[name] = max(by_name.get(name, 0.0), cumulative)
    for label, name in STAGES:
        seconds = by_name.get(name, 0.0)
        print(f"  {label:<52} {seconds:6.2f} s  {1000 * seconds / records:.3f} ms a record")
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("tottime").print_stats(30)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
