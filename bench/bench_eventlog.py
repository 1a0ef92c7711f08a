#!/usr/bin/env python
"""Event-log API under load: 100,000 entries (× BENCH_SCALE) posted by 8 concurrent clients through
gunicorn on loopback against PostgreSQL (its own database), with token auth and idempotency keys.

Every entry takes the one write path (the DRF view and ``services.add_entries``). Prints entries/s and
p95 latency against the targets (≥ 250/s, p95 ≤ 50 ms) and against a peer measured in the same run: a
token-authenticated GET of the cruise record through the same server (the same stack without the write:
the framework's floor). Then the same number of entries again in arrays of 50 a request (how a logger or
the page's offline queue flushes; target ≥ 1,000 entries/s). Then checks nothing was duplicated or lost:
row count, distinct idempotency keys, contiguous event numbers; and that retried keys (every 100th request
is sent twice) returned the first entry. Writes the figures to bench/results/eventlog.json.

Besides the wall-clock figures, each phase reports the CPU time it cost per entry (or per peer request), split
into the server (gunicorn master and workers), the PostgreSQL backends of the bench database and the load
generator (this process): on a shared machine the wall-clock figures move with everyone else's load, the work
an entry costs much less so, and the load generator's share shows it is not the bottleneck. The server runs
with the database connection lifetime the gunicorn configuration gives it (``DATABASE_CONN_MAX_AGE``, 60 s
there unless the environment says otherwise); before 2026-12 the bench set 600 s itself.
``bench/profile_eventlog.py`` shows what one POST costs inside Django (its SQL statements, Python calls,
a profile).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import machine_speed, recreate_database, write_results  # noqa: E402
from tests.support.ports import free_port, wait_for_port  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
TOTAL = max(80, int(100_000 * SCALE))
CLIENTS = 8


def _gunicorn_size() -> tuple[int, int]:
    """Workers and threads: BENCH_GUNICORN_WORKERS / BENCH_GUNICORN_THREADS when given, otherwise what the
    production configuration (deploy/gunicorn.conf.py, its GUNICORN_* variables and defaults) computes."""
    import runpy

    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    return (
        int(os.environ.get("BENCH_GUNICORN_WORKERS", config["workers"])),
        int(os.environ.get("BENCH_GUNICORN_THREADS", config["threads"])),
    )


WORKERS, THREADS = _gunicorn_size()
DB_URL = os.environ.get("BENCH_EVENTLOG_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_eventlog")
TARGET_RATE, TARGET_P95_MS, TARGET_BATCH_RATE = 250.0, 50.0, 1000.0
SEQUENTIAL = 200
BATCH = 50


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _hammer(url: str, headers: dict, bodies_for_client, n_clients: int) -> tuple[float, list[float], list]:
    """``n_clients`` threads, each one keep-alive HTTP/1.1 connection (http.client: a lean client, so
    the measurement is the server's, not the load generator's, on a machine the two share)."""
    import http.client
    import json
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    latencies: list[float] = []
    results: list = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        mine, answers = [], []
        for method, body in bodies_for_client(i):
            payload = json.dumps(body).encode() if body is not None else None
            hdrs = {**headers, "Content-Type": "application/json"} if payload else headers
            t0 = time.perf_counter()
            conn.request(method, parts.path, body=payload, headers=hdrs)
            response = conn.getresponse()
            data = response.read()
            mine.append(time.perf_counter() - t0)
            if response.status not in (200, 201):
                errors.append(f"{response.status} {data[:200]!r}")
                return
            answers.append((body, response.status, json.loads(data) if body is not None else None))
        conn.close()
        with lock:
            latencies.extend(mine)
            results.extend(answers)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    start = time.perf_counter()
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"requests failed: {errors[:3]}")
    return elapsed, latencies, results


class _CpuMeter:
    """CPU time used so far (user + system, seconds) by the gunicorn master and workers, by the PostgreSQL
    backends serving ``database`` and by this process (the load generator's threads).

    CPU time per entry is what the machine's other work changes least: wall-clock figures on a shared
    machine move with everyone else's load, the work each entry costs does not.

    A process that ends meanwhile — a PostgreSQL backend whose connection outlived DATABASE_CONN_MAX_AGE
    (60 s in the gunicorn configuration), a recycled worker — takes its CPU time with it, so a thread reads
    every process twice a second and keeps the last reading of each: a run loses at most half a second of
    an ended process's work. (Until 2026-12 the bench read only at the start and the end of a phase: a
    phase longer than the connection lifetime lost most of PostgreSQL's time, and the reported 0.46 ms
    per entry was a fraction of it.)"""

    def __init__(self, server_pid: int, database: str):
        import psutil
        import psycopg

        self.server = psutil.Process(server_pid)
        self.database = database
        self.conn = psycopg.connect(DB_URL, autocommit=True)
        self.seen: dict[str, dict[int, float]] = {"server": {}, "postgresql": {}}
        self.procs: dict[int, object] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self.thread.start()

    def _cpu(self, pid: int) -> float | None:
        import psutil

        try:
            proc = self.procs.get(pid) or self.procs.setdefault(pid, psutil.Process(pid))
            t = proc.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return None

    def _sample(self) -> None:
        import psutil

        try:
            workers = [self.server.pid] + [c.pid for c in self.server.children(recursive=True)]
        except psutil.Error:
            workers = []
        backends = [
            r[0]
            for r in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
        ]
        with self.lock:
            for kind, pids in (("server", workers), ("postgresql", backends)):
                for pid in pids:
                    cpu = self._cpu(pid)
                    if cpu is not None:
                        self.seen[kind][pid] = max(cpu, self.seen[kind].get(pid, 0.0))

    def _sample_until_stopped(self) -> None:
        while not self.stopped.wait(0.5):
            self._sample()

    def read(self) -> dict[str, dict[int, float]]:
        self._sample()
        with self.lock:
            return {
                "server": dict(self.seen["server"]),
                "postgresql": dict(self.seen["postgresql"]),
                "client": {0: time.process_time()},
            }

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.conn.close()


def _cpu_per_entry(before: dict, after: dict, entries: int) -> dict[str, float]:
    """Milliseconds of CPU per entry, by where it was spent. Per process: one that started meanwhile
    counts whole; one that ended meanwhile counts to its last reading (``_CpuMeter``)."""
    return {
        k: round(1000 * sum(t - before[k].get(pid, 0.0) for pid, t in after[k].items()) / entries, 2)
        for k in before
    }


def main() -> int:
    var = Path(tempfile.mkdtemp(prefix="qs-bench-eventlog-"))
    (var / "static").mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "QUAYSIDE_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "False",
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    load_before = os.getloadavg()[0]  # the machine's other work, before this run adds its own
    speed = machine_speed()
    recreate_database(DB_URL)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from apps.accounts.models import ApiToken, User
    from apps.cruises.models import Cruise, CruiseMember, Organisation, OrganisationMember, Vessel
    from apps.eventlogs.models import Event
    from apps.eventlogs.services import open_log

    org = Organisation.objects.create(name="Bench Ocean Institute")
    operator = User.objects.create_user(email="op@bench.example", password="x", name="Op")
    OrganisationMember.objects.create(organisation=org, user=operator, role="operator")
    vessel = Vessel.objects.create(name="Bench", code="BN", operator=org)
    cruise = Cruise.objects.create(cruise_id="BN2401", vessel=vessel, operator=org)
    staff = User.objects.create_user(email="staff@bench.example", password="x", name="Staff")
    CruiseMember.objects.create(cruise=cruise, user=staff, name="Staff", role="shipboard_staff")
    open_log(cruise, operator)
    _, key = ApiToken.issue(staff, "bench")
    from django.db import connections

    connections.close_all()

    port = free_port()
    # The production configuration (deploy/gunicorn.conf.py, access log included), sized by its variables.
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi:application"],
        cwd=ROOT,
        env={
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(WORKERS),
            "GUNICORN_THREADS": str(THREADS),
            "LOG_LEVEL": "warning",
        },
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=30, proc=server)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Token {key}"}
        run_id = uuid.uuid4().hex[:8]
        per_client = TOTAL // CLIENTS
        total = per_client * CLIENTS

        def peer_requests(i):
            return [("GET", None)] * max(10, per_client // 10)

        # Warm every worker up (imports, URL resolver, DB connection) before measuring anything.
        _hammer(f"{base}/api/cruises/{cruise.pk}/", headers, lambda i: [("GET", None)] * 10, CLIENTS)
        meter = _CpuMeter(server.pid, DB_URL.rsplit("/", 1)[1])
        cpu_before = meter.read()
        peer_elapsed, peer_lat, _ = _hammer(
            f"{base}/api/cruises/{cruise.pk}/", headers, peer_requests, CLIENTS
        )
        peer_cpu = _cpu_per_entry(cpu_before, meter.read(), len(peer_lat))
        peer_rate = len(peer_lat) / peer_elapsed

        def entries(i):
            for j in range(per_client):
                body = {
                    "instrument": "CTD",
                    "action": ("deploy", "at bottom", "recover")[j % 3],
                    "station": f"S{j // 30:04d}",
                    "cast": str(j % 30),
                    "latitude": 32.0 + (j % 100) / 100,
                    "longitude": -117.5,
                    "idempotency_key": f"{run_id}-{i}-{j}",
                }
                yield "POST", body
                if j % 100 == 99:
                    yield "POST", body  # a client retry: must return the first entry, not a new one

        def one_client(i):
            for j in range(SEQUENTIAL):
                yield (
                    "POST",
                    {"instrument": "CTD", "action": "deploy", "idempotency_key": f"{run_id}-seq-{j}"},
                )

        # One client alone first: the server's own time per entry, without queueing for a CPU.
        _, seq_latencies, _ = _hammer(f"{base}/api/eventlogs/{cruise.pk}/entries/", headers, one_client, 1)
        cpu_before = meter.read()
        elapsed, latencies, results = _hammer(
            f"{base}/api/eventlogs/{cruise.pk}/entries/", headers, entries, CLIENTS
        )
        single_cpu = _cpu_per_entry(cpu_before, meter.read(), len(latencies))

        # The same number of entries again, as a logger or the page's offline queue sends what it kept:
        # arrays of BATCH entries a request (a second figure; the target is the one-entry figure above).
        def batches(i):
            for b in range(per_client // BATCH):
                yield (
                    "POST",
                    [
                        {
                            "instrument": "CTD",
                            "action": "deploy",
                            "station": f"B{b:04d}",
                            "cast": str(j),
                            "idempotency_key": f"{run_id}-batch-{i}-{b}-{j}",
                        }
                        for j in range(BATCH)
                    ],
                )

        cpu_before = meter.read()
        batch_elapsed, batch_latencies, batch_results = _hammer(
            f"{base}/api/eventlogs/{cruise.pk}/entries/", headers, batches, CLIENTS
        )
        batch_cpu_total = meter.read()
        meter.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)

    created = sum(1 for _, status, _ in results if status == 201)
    replays = [(body, answer) for body, status, answer in results if status == 200]
    rate = created / elapsed
    p50, p95, p99 = (1000 * _percentile(latencies, p) for p in (50, 95, 99))
    from django.db.models import Count, Max, Min

    agg = Event.objects.filter(log__cruise=cruise).aggregate(
        n=Count("pk"),
        keys=Count("idempotency_key", distinct=True),
        lo=Min("number"),
        hi=Max("number"),
        nums=Count("number", distinct=True),
    )
    by_key = dict(Event.objects.filter(log__cruise=cruise).values_list("idempotency_key", "event_id"))
    replay_ok = all(by_key.get(body["idempotency_key"]) == answer["event_id"] for body, answer in replays)
    load = os.getloadavg()[0]
    print(
        f"machine              load average {load_before:.1f} before the run, {load:.1f} after, on "
        f"{os.cpu_count()} cores (shared; figures scale with it)"
    )
    print(f"                     {speed}")
    print(
        f"entries posted       {total:>10,}   ({CLIENTS} clients, gunicorn {WORKERS} workers × {THREADS} threads, {len(replays):,} retried keys)"
    )
    print(
        f"throughput           {rate:>10,.0f} entries/s   target {TARGET_RATE:.0f}/s → ratio {rate / TARGET_RATE:.2f}"
    )
    print(
        f"latency p50/p95/p99  {p50:>6.1f} / {p95:.1f} / {p99:.1f} ms   target p95 {TARGET_P95_MS:.0f} ms → ratio {TARGET_P95_MS / p95:.2f} (≥1 meets it)"
    )
    print(
        f"peer: GET cruise API {peer_rate:>10,.0f} req/s   → event-log POST at {rate / peer_rate:.2f}× the read-only floor"
    )
    print(
        f"one client alone     p50 {1000 * _percentile(seq_latencies, 50):.1f} ms per entry ({SEQUENTIAL} sequential posts, included in the counts)"
    )
    batch_created = sum(answer["created"] for _, _, answer in batch_results)
    batch_rate = batch_created / batch_elapsed
    batch_p95 = 1000 * _percentile(batch_latencies, 95)
    print(
        f"batched ({BATCH} a request) {batch_rate:>7,.0f} entries/s   target {TARGET_BATCH_RATE:,.0f}/s → ratio "
        f"{batch_rate / TARGET_BATCH_RATE:.2f}; p95 {batch_p95:.1f} ms a request "
        f"({len(batch_latencies):,} requests, {batch_created:,} entries)"
    )
    batch_cpu = _cpu_per_entry(cpu_before, batch_cpu_total, batch_created)
    for label, spent in (
        ("CPU per peer GET", peer_cpu),
        ("CPU per entry", single_cpu),
        ("CPU per entry (arrays)", batch_cpu),
    ):
        print(
            f"{label:<23}{sum(spent.values()):>5.2f} ms: server {spent['server']:.2f}, PostgreSQL "
            f"{spent['postgresql']:.2f}, load generator {spent['client']:.2f}"
        )
    total += SEQUENTIAL + batch_created
    ok = (
        agg["n"] == total
        and agg["keys"] == total
        and agg["lo"] == 1
        and agg["hi"] == total
        and agg["nums"] == total
        and replay_ok
    )
    print(
        f"integrity            rows {agg['n']:,}, distinct keys {agg['keys']:,}, numbers {agg['lo']}..{agg['hi']} "
        f"({agg['nums']:,} distinct), retries answered with the first entry: {replay_ok} → {'OK' if ok else 'FAILED'}"
    )
    figures = {
        "scale": SCALE,
        "entries_created": created,
        "retried_keys": len(replays),
        "clients": CLIENTS,
        "gunicorn": f"{WORKERS} workers x {THREADS} threads",
        "load_average_1min": {"before": round(load_before, 1), "after": round(load, 1)},
        "cores": os.cpu_count(),
        "entries_per_s": round(rate, 1),
        "latency_ms": {"p50": round(p50, 1), "p95": round(p95, 1), "p99": round(p99, 1)},
        "one_client_p50_ms": round(1000 * _percentile(seq_latencies, 50), 1),
        "cpu_ms_per_entry": single_cpu,
        "cpu_ms_per_entry_in_arrays": batch_cpu,
        "batch_size": BATCH,
        "batch_entries_per_s": round(batch_rate, 1),
        "batch_p95_ms_per_request": round(batch_p95, 1),
        "targets": {
            "entries_per_s": TARGET_RATE,
            "p95_ms": TARGET_P95_MS,
            "batch_entries_per_s": TARGET_BATCH_RATE,
        },
        "targets_met": {
            "entries_per_s": rate >= TARGET_RATE,
            "p95_ms": p95 <= TARGET_P95_MS,
            "batch_entries_per_s": batch_rate >= TARGET_BATCH_RATE,
        },
        "integrity_ok": ok,
    }
    summary = (
        f"one entry a request {rate:,.0f} entries/s (target {TARGET_RATE:,.0f}), p95 {p95:.1f} ms "
        f"(target {TARGET_P95_MS:.0f}); arrays of {BATCH}: {batch_rate:,.0f} entries/s "
        f"(target {TARGET_BATCH_RATE:,.0f}); integrity {'OK' if ok else 'FAILED'}; "
        f"scale {SCALE:g}, load average {load_before:.1f} before the run on {os.cpu_count()} cores"
    )
    write_results(
        "eventlog",
        figures,
        summary,
        peers={
            "GET cruise API (token, same server)": {
                "requests_per_s": round(peer_rate, 1),
                "cpu_ms_per_request": peer_cpu,
            }
        },
    )
    connections.close_all()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
