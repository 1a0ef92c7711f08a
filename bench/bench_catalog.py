#!/usr/bin/env python
"""STAC GeoParquet catalog benchmark (issue 14, benchmark a).

1. Load N = 1,000,000 × BENCH_SCALE published versions into PostgreSQL (their own database
   ``qs_bench_catalog``; BENCH_CATALOG_DATABASE_URL to change it) with INSERT … SELECT generate_series:
   N/2 packages of two versions, two files each (2N entities and blobs), a coverage box and dates; then
   VACUUM (ANALYZE), as autovacuum leaves a database that has been in use.
2. Quayside: ``apps.catalog.parquet.write_catalog`` — database → records → Arrow columns → Parquet, in
   batches (target ≤ 60 s at 1M, bounded memory: the peak RSS of its process is reported).
3. Peer, the same run, the same items: the stac-geoparquet package's ``parse_stac_items_to_parquet`` fed
   the very item dicts the JSON API serves (``items.to_item`` over the same records). Reported twice: the
   whole path from the database (``peer_total``), and the package's own part (the time to make the dicts
   alone subtracted). Target: Quayside ≥ 1.0× the package.
4. Release → served: one new version is published at that size; the catalog job (after its debounce)
   rebuilds the new version's segment and stitches the served file, and the time until the new row is
   readable from the served file is measured (≤ 60 s).

Wall and CPU time (of the building process; PostgreSQL's own work is not in it) are reported: the shared
machine is loaded by others. ``BENCH_CATALOG_BASELINE`` may name a JSON file of the same parts measured
with earlier code on this machine ({"build_s", "build_cpu_s", "release_to_served_s", "release_cpu_s"});
it is recorded beside the figures as ``before_*``.

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
N = max(1000, int(1_000_000 * SCALE)) // 2 * 2
DB_URL = os.environ.get("BENCH_CATALOG_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_catalog")
VAR = Path(os.environ.get("BENCH_CATALOG_VAR", tempfile.mkdtemp(prefix="qs-bench-catalog-")))
ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "QUAYSIDE_VAR_DIR": str(VAR),
    "QUAYSIDE_TESTING": "0",
    "DEBUG": "False",
    "CELERY_BROKER_URL": "memory://",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
    "PYTHONPATH": str(ROOT),
    "BENCH_CATALOG_VAR": str(VAR),
}
os.environ.update(ENV)

LOAD_SQL = """
SELECT setseed(0.42);
INSERT INTO accounts_user (password, is_superuser, email, name, affiliation, orcid, is_staff, is_active, date_joined)
  SELECT '!', false, 'bench@example.org', 'Bench Owner', '', '', false, true, now()
  WHERE NOT EXISTS (SELECT 1 FROM accounts_user WHERE email = 'bench@example.org');
INSERT INTO packages_package (scope, identifier, owner_id, cruise_id, created_at)
  SELECT (ARRAY['edi','knb-lter-quay','quay'])[1 + i % 3], i, (SELECT id FROM accounts_user LIMIT 1), NULL, now()
  FROM generate_series(1, {PACKAGES}) AS i;
INSERT INTO packages_revision (number, state, eml_version, title, abstract, keywords, creators, coverage, licence,
    created_at, archived_at, published_at, withdrawn_reason, metadata_modified_at, doi, package_id,
    withdrawn_category)
  SELECT v, 'published', '2.2.0', 'Bench dataset ' || p.identifier || ' version ' || v,
    'Water temperature and salinity from a bench mooring, generated for the catalog benchmark.',
    '["temperature", "salinity"]'::jsonb, '[]'::jsonb,
    jsonb_build_object('bbox', jsonb_build_array(x, y, x + 1 + random() * 5, y + 1 + random() * 5),
                       'begin', (date '2015-01-01' + (p.identifier % 3000))::text,
                       'end', (date '2015-02-01' + (p.identifier % 3000))::text),
    'CC-BY-4.0', now(), now(), now() - (p.identifier || ' seconds')::interval, '',
    now(), '10.5072/' || p.scope || '.' || p.identifier || '.' || v, p.id, ''
  FROM packages_package p CROSS JOIN generate_series(1, 2) AS v,
       LATERAL (SELECT -179 + random() * 350 AS x, -80 + random() * 150 AS y) AS c;
INSERT INTO storage_blob (sha256, size, md5, sha1, created_at, lease_owner, removed_reason)
  SELECT encode(sha256(('f' || r.id || '-' || k)::bytea), 'hex'), 1000 + (r.id * 7 + k) % 100000,
         md5('f' || r.id || '-' || k), encode(sha256(('s' || r.id || '-' || k)::bytea), 'hex')::varchar(40), now(), '', ''
  FROM packages_revision r CROSS JOIN generate_series(1, 2) AS k;
INSERT INTO packages_entity (revision_id, entity_id, name, entity_type, object_name, url, declared_size,
    declared_md5, format_name, mime_type, blob_id)
  SELECT r.id, 'e' || k, 'table ' || k, 'dataTable', 'table' || k || '.csv', '', NULL, '', 'text/csv', 'text/csv',
         encode(sha256(('f' || r.id || '-' || k)::bytea), 'hex')
  FROM packages_revision r CROSS JOIN generate_series(1, 2) AS k;
"""


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL)


def load() -> float:
    import psycopg

    recreate_database(DB_URL)
    sh(sys.executable, "manage.py", "migrate", "-v0")
    started = time.perf_counter()
    with psycopg.connect(DB_URL, autocommit=True) as conn:
        conn.execute(LOAD_SQL.replace("{PACKAGES}", str(N // 2)))
        # As autovacuum leaves a long-lived database: hint bits and the visibility map set. Freshly bulk-loaded
        # rows have neither, and the first build to read them paid for setting them (77 s against 54–56 s
        # for the builds after it on 2026-12-04).
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


def _peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_with_children() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def part_ours() -> dict:
    from apps.catalog import parquet

    out = VAR / "ours.parquet"
    cpu = _cpu_with_children()
    built = parquet.write_catalog(out)
    return {
        "seconds": built.seconds,
        "cpu_s": _cpu_with_children() - cpu,  # the segment processes' (CATALOG_BUILD_PROCESSES) included
        "rows": built.rows,
        "bytes": built.size,
        "peak_mib": _peak_mib(),
    }


def _item_dicts():
    from apps.catalog import items

    for batch in items.iter_records():
        for record in batch:
            yield items.to_item(record)


def part_dicts() -> dict:
    started = time.perf_counter()
    count = sum(1 for _ in _item_dicts())
    return {"seconds": time.perf_counter() - started, "rows": count, "peak_mib": _peak_mib()}


def part_peer() -> dict:
    from stac_geoparquet.arrow import parse_stac_items_to_parquet

    out = VAR / "peer.parquet"
    started = time.perf_counter()
    parse_stac_items_to_parquet(_item_dicts(), output_path=out, chunk_size=10_000)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "bytes": out.stat().st_size, "peak_mib": _peak_mib()}


def part_release() -> dict:
    """One release at this size, then what the worker does: wait out the debounce, rebuild, and the new
    row is read from the served file (by its id, with a filter: only the row groups that hold it)."""
    import pyarrow.dataset as ds
    from django.conf import settings
    from django.db import transaction

    from apps.catalog import services
    from apps.packages.models import Package, Revision
    from apps.publishing.services import on_archived

    services.refresh(force=True)
    package = Package.objects.order_by("pk").first()
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic():
        revision = Revision.objects.create(
            package=package, number=99, state="archived", title="The release", coverage={"bbox": [1, 2, 3, 4]}
        )
        revision = Revision.objects.select_for_update().get(pk=revision.pk)
        on_archived(revision)
    time.sleep(settings.CATALOG_DEBOUNCE_SECONDS)  # the queued task's countdown
    result = services.refresh()
    table = ds.dataset(services.catalog_path()).to_table(filter=ds.field("id") == revision.package_id_text)
    assert table.num_rows == 1, (result, table.num_rows)
    return {"seconds": time.perf_counter() - started, "cpu_s": time.process_time() - cpu, "build": result}


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
    print(f"catalog benchmark: {N:,} versions (BENCH_SCALE={SCALE})", flush=True)
    load_s = load()
    print(f"loaded in {load_s:.1f} s", flush=True)
    ours = run_part("ours")
    print(
        f"quayside: {ours['rows']:,} rows in {ours['seconds']:.1f} s, peak {ours['peak_mib']:.0f} MiB",
        flush=True,
    )
    dicts = run_part("dicts")
    peer = run_part("peer")
    peer_own = max(peer["seconds"] - dicts["seconds"], 1e-9)
    print(
        f"stac-geoparquet: {peer['seconds']:.1f} s from the database ({dicts['seconds']:.1f} s of it making the "
        f"item dicts), peak {peer['peak_mib']:.0f} MiB",
        flush=True,
    )
    release = run_part("release")
    figures = {
        "versions": ours["rows"],
        "scale": SCALE,
        "build_s": round(ours["seconds"], 2),
        "build_rows_s": round(ours["rows"] / ours["seconds"]),
        "build_peak_mib": round(ours["peak_mib"]),
        "file_mib": round(ours["bytes"] / 2**20, 1),
        "vs_peer_total": round(peer["seconds"] / ours["seconds"], 2),
        "vs_peer_own": round(peer_own / ours["seconds"], 2),
        "release_to_served_s": round(release["seconds"], 2),
        "build_cpu_s": round(ours["cpu_s"], 2),
        "release_cpu_s": round(release["cpu_s"], 2),
    }
    peers = {
        "stac_geoparquet_total_s": round(peer["seconds"], 2),
        "stac_geoparquet_own_s": round(peer_own, 2),
        "item_dicts_s": round(dicts["seconds"], 2),
        "stac_geoparquet_peak_mib": round(peer["peak_mib"]),
        "stac_geoparquet_file_mib": round(peer["bytes"] / 2**20, 1),
    }
    baseline = os.environ.get("BENCH_CATALOG_BASELINE")
    if baseline:
        peers.update({f"before_{k}": v for k, v in json.loads(Path(baseline).read_text()).items()})
    summary = (
        f"{ours['rows']:,} versions: built in {ours['seconds']:.1f} s (target ≤ 60 s at 1M), "
        f"{figures['vs_peer_total']}× stac-geoparquet from the database, {figures['vs_peer_own']}× its own part "
        f"(target ≥ 1.0×), peak {figures['build_peak_mib']} MiB; release → served {release['seconds']:.1f} s "
        f"(target ≤ 60 s; {release['build']}); CPU {ours['cpu_s']:.1f} s build, {release['cpu_s']:.1f} s release"
    )
    write_results("catalog", figures, summary, peers=peers)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        import django

        django.setup()
        print(
            json.dumps(
                {"ours": part_ours, "dicts": part_dicts, "peer": part_peer, "release": part_release}[
                    sys.argv[2]
                ]()
            )
        )
    else:
        main()
