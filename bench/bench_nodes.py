#!/usr/bin/env python
"""Smart nodes' health file at scale (issue 15 §3): ``/swarm/health.parquet`` for N = 1,000,000 × BENCH_SCALE
public torrents, built batch by batch in bounded memory.

1. Load N published versions with a built torrent each into PostgreSQL (their own database
   ``qs_bench_nodes``; BENCH_NODES_DATABASE_URL to change it) with INSERT … SELECT generate_series: a seeder
   report per torrent, a verified mirror for 1 % of the versions, and 10 nodes holding N/10 torrents each
   (N holdings in all, 1 in 10 partial).
2. ``apps.nodes.health.write_health`` — the beat task's work: time, CPU and peak RSS of its process.
3. ``/nodes/`` at that size, signed out: the first view after a rewrite (reads and sorts the file's page
   columns) and the next (kept in memory), with the queries each takes.
4. A node's report of NODES_REPORT_MAX_HOLDINGS (100,000) holdings through the API: the request's time for
   a new node's first report (every holding written) and for the same report again (nothing changed).

Each part runs in its own process so that its peak memory is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import recreate_database, write_results  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
N = max(1000, int(1_000_000 * SCALE)) // 10 * 10
DB_URL = os.environ.get("BENCH_NODES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_nodes")
VAR = Path(os.environ.get("BENCH_NODES_VAR", tempfile.mkdtemp(prefix="qs-bench-nodes-")))
ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "QUAYSIDE_VAR_DIR": str(VAR),
    "QUAYSIDE_TESTING": "0",
    "DEBUG": "False",
    "CELERY_BROKER_URL": "memory://",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "PYTHONPATH": str(ROOT),
    "BENCH_NODES_VAR": str(VAR),
    "ALLOWED_HOSTS": "testserver,localhost",
}
os.environ.update(ENV)

LOAD_SQL = """
SELECT setseed(0.42);
INSERT INTO accounts_user (password, is_superuser, email, name, affiliation, orcid, is_staff, is_active, date_joined)
  VALUES ('!', false, 'node-bench@example.org', 'Bench Node Operator', '', '', false, true, now());
INSERT INTO auth_group (name) SELECT 'node_operator' WHERE NOT EXISTS (SELECT 1 FROM auth_group WHERE name = 'node_operator');
INSERT INTO accounts_user_groups (user_id, group_id)
  SELECT u.id, g.id FROM accounts_user u, auth_group g WHERE u.email = 'node-bench@example.org' AND g.name = 'node_operator';
INSERT INTO packages_package (scope, identifier, owner_id, cruise_id, created_at)
  SELECT 'edi', i, (SELECT id FROM accounts_user LIMIT 1), NULL, now() FROM generate_series(1, {N}) AS i;
INSERT INTO packages_revision (number, state, eml_version, title, abstract, keywords, creators, coverage, licence,
    created_at, archived_at, published_at, withdrawn_reason, metadata_modified_at, doi, package_id,
    withdrawn_category)
  SELECT 1, 'published', '2.2.0', 'Bench dataset ' || p.identifier, '', '[]'::jsonb, '[]'::jsonb, '{}'::jsonb,
    'CC-BY-4.0', now(), now(), now(), '', now(), '', p.id, ''
  FROM packages_package p;
INSERT INTO storage_blob (sha256, size, md5, sha1, created_at, lease_owner, removed_reason)
  VALUES (repeat('a', 64), 1000, repeat('b', 32), repeat('c', 40), now(), '', '');
INSERT INTO swarm_torrent (state, infohash, piece_size, total_size, file_count, message, attempts, requested_at,
    built_at, lease_owner, blob_id, revision_id)
  SELECT 'built', md5('t' || r.id) || substr(md5('u' || r.id), 1, 8), 262144, 1000000 + (r.id * 7919) % 900000000,
    2, '', 1, now(), now(), '', repeat('a', 64), r.id
  FROM packages_revision r;
INSERT INTO swarm_swarmhealth (source, seeds, peers, completed, uploaded, updated_at, torrent_id)
  SELECT 'session', 1 + (t.id % 4), t.id % 3, 0, 0, now(), t.id FROM swarm_torrent t;
INSERT INTO catalog_mirror (kind, label, base_url, file_urls, record_url, doi, health, health_message, checks_run,
    lease_owner, created_at, revision_id)
  SELECT 'bucket', '', 'https://m.example/' || r.id || '/', '{}'::jsonb, '', '', 'ok', '', 1, '', now(), r.id
  FROM packages_revision r WHERE r.id % 100 = 0;
INSERT INTO nodes_node (operator_id, name, key_hash, hint, budget_bytes, subjects, scopes, upload_limit,
    download_limit, client, created_at, registered_at, last_seen_at, bytes_held, torrents_held, uploaded, downloaded)
  SELECT (SELECT id FROM accounts_user WHERE email = 'node-bench@example.org'), 'bench node ' || k,
    md5('node' || k) || md5('key' || k), 'qn_bench' || k, 10 ^ 12, '[]'::jsonb, '[]'::jsonb, 0, 0, 'bench', now(),
    now(), now(), 0, 0, 0, 0
  FROM generate_series(1, 10) AS k;
INSERT INTO nodes_nodeholding (node_id, torrent_id, pieces_held, pieces_total, bytes_held, complete, updated_at)
  SELECT n.id, t.id, CASE WHEN t.id % 10 = 0 THEN 1 ELSE 4 END, 4, 1000, t.id % 10 <> 0, now()
  FROM nodes_node n JOIN swarm_torrent t ON t.id % 10 = n.id % 10;
UPDATE nodes_node SET torrents_held = {N} / 10, bytes_held = 1000 * ({N} / 10);
ANALYZE;
"""


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)


def load() -> float:
    import psycopg

    recreate_database(DB_URL)
    sh(sys.executable, "manage.py", "migrate", "-v0")
    started = time.perf_counter()
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(LOAD_SQL.replace("{N}", str(N)))
    return time.perf_counter() - started


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def part_health() -> dict:
    from apps.nodes import health

    cpu = time.process_time()
    written = health.write_health()
    return {
        "seconds": written.seconds,
        "cpu_s": time.process_time() - cpu,
        "rows": written.rows,
        "bytes": written.size,
        "peak_mib": _peak_mib(),
    }


def part_page() -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    figures = {}
    for name in ("first", "next"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get("/nodes/")
            figures[f"{name}_s"] = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        figures[f"{name}_queries"] = len(queries)
    figures["peak_mib"] = _peak_mib()
    return figures


def part_report() -> dict:
    from django.conf import settings
    from django.test import Client

    from apps.accounts.models import User
    from apps.nodes import services
    from apps.swarm.models import Torrent

    count = settings.NODES_REPORT_MAX_HOLDINGS
    operator = User.objects.get(email="node-bench@example.org")
    _, key = services.issue_node(operator, "bench reporter")
    infohashes = list(Torrent.objects.order_by("pk").values_list("infohash", flat=True)[:count])
    body = json.dumps(
        {
            "holdings": [
                {"infohash": ih, "pieces_held": 4, "pieces_total": 4, "bytes_held": 1000} for ih in infohashes
            ],
            "uploaded": 0,
            "downloaded": 0,
        }
    )
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    figures = {"holdings": len(infohashes), "body_mib": len(body) / 2**20}
    for name in ("first", "again"):  # a new node's first report, then the same report (a steady node)
        started = time.perf_counter()
        response = client.post("/api/nodes/report", body, content_type="application/json")
        figures[f"{name}_s"] = time.perf_counter() - started
        assert response.status_code == 200, response.content[:200]
        assert response.json()["accepted"] == len(infohashes)
    figures["peak_mib"] = _peak_mib()
    return figures


def run_part(name: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--part", name],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"part {name} failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"nodes benchmark: {N:,} public torrents (BENCH_SCALE={SCALE})", flush=True)
    load_s = load()
    print(f"loaded in {load_s:.1f} s", flush=True)
    built = run_part("health")
    print(
        f"health.parquet: {built['rows']:,} rows, {built['bytes'] / 2**20:.1f} MiB in {built['seconds']:.1f} s "
        f"(CPU {built['cpu_s']:.1f} s), peak {built['peak_mib']:.0f} MiB",
        flush=True,
    )
    page = run_part("page")
    print(
        f"/nodes/: first view {page['first_s']:.2f} s ({page['first_queries']} queries), "
        f"next {page['next_s']:.2f} s, peak {page['peak_mib']:.0f} MiB",
        flush=True,
    )
    report = run_part("report")
    print(
        f"report of {report['holdings']:,} holdings: first {report['first_s']:.1f} s, again {report['again_s']:.1f} s",
        flush=True,
    )
    figures = {
        "torrents": N,
        "load_s": round(load_s, 1),
        "health_build_s": round(built["seconds"], 2),
        "health_build_cpu_s": round(built["cpu_s"], 2),
        "health_peak_mib": round(built["peak_mib"]),
        "health_file_mib": round(built["bytes"] / 2**20, 2),
        "page_first_s": round(page["first_s"], 3),
        "page_next_s": round(page["next_s"], 3),
        "page_queries": page["next_queries"],
        "page_peak_mib": round(page["peak_mib"]),
        "report_holdings": report["holdings"],
        "report_first_s": round(report["first_s"], 2),
        "report_again_s": round(report["again_s"], 2),
    }
    summary = (
        f"health.parquet of {N:,} torrents in {built['seconds']:.1f} s, peak {built['peak_mib']:.0f} MiB; "
        f"/nodes/ {page['first_s']:.2f} s first, {page['next_s']:.2f} s next; "
        f"a report of {report['holdings']:,} holdings {report['first_s']:.1f} s first, {report['again_s']:.1f} s again"
    )
    write_results("nodes", figures, summary)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        import django

        django.setup()
        print(json.dumps(globals()[f"part_{sys.argv[2]}"]()))
    else:
        main()
