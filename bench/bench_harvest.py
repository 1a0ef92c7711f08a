#!/usr/bin/env python
"""OAI-PMH harvesting benchmark: one Quayside harvests another over loopback.

1. The home portal: N = 100,000 × BENCH_SCALE generated published revisions (1 % withdrawn: deleted
   records), bulk-loaded as bench/bench_oai.py does, in its own database ``qs_bench_harvest_home``,
   served by gunicorn on loopback (oai_dc, OAI_PAGE_SIZE 500).
2. The harvesting portal, in ``qs_bench_harvest`` (a second database, in a child process): a full
   harvest through ``apps.federation.services.harvest`` — remote records and their search documents
   stored — records/s (target ≥ 2,000/s, the rate Quayside's provider serves).
3. The ceiling: the same harvest with oaipmh-scythe alone (its own iterator and Record objects, nothing
   stored): Quayside's harvest must reach ≥ 0.5× its rate.
4. 100 records change at home; the incremental re-harvest (``from`` the last responseDate) must fetch
   exactly those 100 and take ≤ 5 s.

Both ends share the machine's cores, so wall-clock rates move with the load; the CPU each side spends
per record does not: the harvester process (all its threads), the provider (gunicorn's master and
workers) and each side's PostgreSQL backends, measured around the full harvest and around the
oaipmh-scythe one. The side with the most CPU per record limits the rate on a machine where both run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
N = max(1000, int(100_000 * SCALE))
HOME_DB = os.environ.get(
    "BENCH_HARVEST_HOME_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_harvest_home"
)
HARVESTER_DB = os.environ.get(
    "BENCH_HARVEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_harvest"
)
CHANGED = 100


class CpuMeter:
    """CPU seconds (user + system) spent between ``start()`` and ``stop()`` by the harvester (this
    process), the provider (the gunicorn process tree) and the PostgreSQL backends serving each side's
    database (found in pg_stat_activity). A process that appears meanwhile (a worker's first connection)
    counts whole; one that ends meanwhile is lost (none does in a run)."""

    def __init__(self, gunicorn_pid: int):
        import psutil

        self.provider = psutil.Process(gunicorn_pid)

    def _processes(self) -> dict[str, list]:
        return {
            "provider": [self.provider, *self.provider.children(recursive=True)],
            "harvester_db": self._backends(HARVESTER_DB),
            "provider_db": self._backends(HOME_DB),
        }

    @staticmethod
    def _backends(database_url: str) -> list:
        import psutil
        import psycopg

        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(database_url, autocommit=True) as conn:
            pids = [
                row[0]
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
                )
            ]
        return [psutil.Process(pid) for pid in pids if psutil.pid_exists(pid)]

    @staticmethod
    def _times(processes) -> dict[int, float]:
        import psutil

        seconds = {}
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            seconds[process.pid] = times.user + times.system
        return seconds

    def start(self) -> None:
        self.began = {side: self._times(found) for side, found in self._processes().items()}
        self.began_here = time.process_time()

    def stop(self) -> dict:
        spent = {"harvester": time.process_time() - self.began_here}
        for side, found in self._processes().items():
            before = self.began[side]
            spent[side] = sum(t - before.get(pid, 0.0) for pid, t in self._times(found).items())
        return spent


def harvester_phase(base: str, gunicorn_pid: str) -> None:
    """Runs in a child process whose Django uses the harvesting portal's database."""
    import django

    django.setup()
    from oaipmh_scythe import Scythe

    from apps.federation import services
    from apps.federation.models import HarvestSource, RemoteRecord

    source = HarvestSource.objects.create(base_url=f"{base}/oai", name="Home portal")
    meter = CpuMeter(int(gunicorn_pid))
    meter.start()
    started = time.perf_counter()
    run = services.harvest(source.pk)
    full = time.perf_counter() - started
    full_cpu = meter.stop()
    assert run.state == "done", run.message
    stored = RemoteRecord.objects.filter(source=source).count()

    meter.start()
    started = time.perf_counter()
    with Scythe(f"{base}/oai", timeout=120) as scythe:
        ceiling_count = sum(1 for _ in scythe.list_records(metadata_prefix="oai_dc"))
    ceiling = time.perf_counter() - started
    ceiling_cpu = meter.stop()

    # 100 records change at home (a metadata edit moves their datestamp), then the incremental harvest.
    import psycopg

    with psycopg.connect(HOME_DB) as conn:
        conn.execute(
            "UPDATE packages_revision SET title = title || ' (edited)', metadata_modified_at = now() "
            "WHERE id IN (SELECT id FROM packages_revision WHERE state = 'published' ORDER BY id LIMIT %s)",
            [CHANGED],
        )
    time.sleep(
        1.1
    )  # the provider's datestamps are seconds: the edit must be after the last responseDate's second
    started = time.perf_counter()
    again = services.harvest(source.pk)
    incremental = time.perf_counter() - started
    assert again.state == "done", again.message
    print(
        json.dumps(
            {
                "full_s": full,
                "records": run.records + run.deleted,
                "stored": stored,
                "pages": run.pages,
                "ceiling_s": ceiling,
                "ceiling_records": ceiling_count,
                "incremental_s": incremental,
                "incremental_records": again.records + again.deleted,
                "full_cpu": full_cpu,
                "ceiling_cpu": ceiling_cpu,
                "loadavg": os.getloadavg(),
            }
        )
    )


def main() -> int:
    os.environ["BENCH_OAI_DATABASE_URL"] = HOME_DB
    os.environ.setdefault("OAI_PAGE_SIZE", "500")
    from bench import bench_oai
    from bench.support import machine_speed, recreate_database, write_results

    bench_oai.N = N
    print(f"N = {N:,} records (BENCH_SCALE={SCALE}); {machine_speed()}", flush=True)
    bench_oai.fresh_database()
    bench_oai.load()
    recreate_database(HARVESTER_DB)
    harvester_env = {
        **bench_oai.ENV,
        "DATABASE_URL": HARVESTER_DB,
        "HARVEST_ALLOW_LOOPBACK": "1",
        "QUAYSIDE_VAR_DIR": str(bench_oai.VAR / "harvester"),
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, cwd=ROOT, env=harvester_env)
    proc, base = bench_oai.start_gunicorn()
    try:
        from concurrent.futures import ThreadPoolExecutor

        import requests

        # Warm both workers (imports, database connection) before timing: two requests at a time, so each
        # sync worker serves some (one at a time could all land on one, and the other's first request
        # would be timed).
        with ThreadPoolExecutor(2) as pool:
            list(
                pool.map(
                    lambda _: requests.get(
                        f"{base}/oai", params={"verb": "ListRecords", "metadataPrefix": "oai_dc"}, timeout=120
                    ),
                    range(6),
                )
            )
        out = subprocess.run(
            [sys.executable, __file__, "--harvester", base, str(proc.pid)],
            check=True,
            cwd=ROOT,
            env=harvester_env,
            capture_output=True,
            text=True,
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    rate = r["records"] / r["full_s"]
    ceiling_rate = r["ceiling_records"] / r["ceiling_s"]
    ratio = rate / ceiling_rate
    ms = {side: 1000 * seconds / r["records"] for side, seconds in r["full_cpu"].items()}
    ceiling_ms = {side: 1000 * seconds / r["ceiling_records"] for side, seconds in r["ceiling_cpu"].items()}
    print(
        f"  full harvest: {r['records']:,} records ({r['stored']:,} stored, {r['pages']} pages) in {r['full_s']:.1f} s = "
        f"{rate:,.0f} records/s ({rate / 2000:.2f}× the 2,000/s target)\n"
        f"  oaipmh-scythe alone (nothing stored): {r['ceiling_records']:,} records in {r['ceiling_s']:.1f} s = "
        f"{ceiling_rate:,.0f} records/s; Quayside's harvest is {ratio:.2f}× it (target ≥ 0.5)\n"
        f"  incremental re-harvest after {CHANGED} changes: {r['incremental_records']} records in "
        f"{r['incremental_s']:.2f} s (target ≤ 5 s)\n"
        f"  CPU ms a record, full harvest: harvester {ms['harvester']:.3f} (its database {ms['harvester_db']:.3f}), "
        f"provider {ms['provider']:.3f} (its database {ms['provider_db']:.3f}); oaipmh-scythe alone: "
        f"{ceiling_ms['harvester']:.3f}, its provider {ceiling_ms['provider']:.3f} "
        f"({ceiling_ms['provider_db']:.3f}); load average {r['loadavg'][0]:.2f}",
        flush=True,
    )
    assert r["records"] == N and r["incremental_records"] == CHANGED, r
    figures = {
        "scale": SCALE,
        "records": N,
        "harvest_records_s": round(rate),
        "scythe_only_records_s": round(ceiling_rate),
        "harvest_over_scythe": round(ratio, 2),
        "incremental_100_s": round(r["incremental_s"], 2),
        "harvester_cpu_ms_per_record": round(ms["harvester"], 3),
        "harvester_db_cpu_ms_per_record": round(ms["harvester_db"], 3),
        "provider_cpu_ms_per_record": round(ms["provider"], 3),
        "provider_db_cpu_ms_per_record": round(ms["provider_db"], 3),
        "load_average_1min": round(r["loadavg"][0], 2),
    }
    write_results(
        "harvest",
        figures,
        f"harvest {rate:,.0f} records/s (target ≥ 2,000), {ratio:.2f}× oaipmh-scythe alone (target ≥ 0.5); "
        f"incremental 100 changes {r['incremental_s']:.2f} s (target ≤ 5)",
        peers={
            "oaipmh-scythe 0.16.0 alone": {
                "records_s": round(ceiling_rate),
                "cpu_ms_per_record": round(ceiling_ms["harvester"], 3),
                "provider_cpu_ms_per_record": round(ceiling_ms["provider"], 3),
            }
        },
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--harvester":
        harvester_phase(sys.argv[2], sys.argv[3])
        sys.exit(0)
    sys.exit(main())
