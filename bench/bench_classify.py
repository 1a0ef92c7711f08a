#!/usr/bin/env python
"""Classifying a delivery's inventory with a distribution profile: 300,000 inventory rows (× BENCH_SCALE) in
a dozen instrument folders with nested subfolders and stray files, a vessel profile of 12 rules over a fleet
template, on PostgreSQL (its own database).

Measures the preview (every path matched, nothing written) and the commit (the same match, instrument
classes written with bulk UPDATEs, one Dataset per system and its DatasetFile rows), in rows/s, against two
peers in the same run: the usual hand loop (``fnmatch.fnmatchcase`` of every rule against every path, in
Python, over the same rows) and the per-file approach (one UPDATE per file, timed on a sample of 2,000 rows
and given as rows/s). Writes bench/results/classify.json.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import recreate_database, write_results  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
ROWS = max(2_000, int(300_000 * SCALE))
DB_URL = os.environ.get("BENCH_CLASSIFY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_bench_classify")
SAMPLE = 2_000

FOLDERS = [
    ("multibeam/EM124/raw/line{:04d}", "{:06d}.kmall"),
    ("multibeam/EM124/watercolumn/line{:04d}", "{:06d}.kmwcd"),
    ("ctd/SBE911/cast{:03d}", "cast{:06d}.hex"),
    ("adcp/OS75/{:03d}", "os75_{:06d}.ENR"),
    ("adcp/OS150/{:03d}", "os150_{:06d}.LTA"),
    ("nav/posmv/2024/{:03d}", "posmv_{:06d}.gps"),
    ("nav/cnav/2024/{:03d}", "cnav_{:06d}.gps"),
    ("met/{:03d}", "MET_{:06d}.csv"),
    ("tsg/SBE45/{:03d}", "tsg_{:06d}.txt"),
    ("gravity/BGM3/{:03d}", "grav_{:06d}.dat"),
    ("docs", "report_{:06d}.pdf"),
    ("tmp/{:03d}", "junk_{:06d}.bak"),
]
TEMPLATE = [
    ("multibeam", "Kongsberg", "", "multibeam/**"),
    ("ctd", "Sea-Bird", "SBE911plus", "ctd/*/cast*/*.hex"),
    ("adcp", "Teledyne RDI", "OS75", "adcp/OS75/"),
    ("adcp", "Teledyne RDI", "OS150", "adcp/OS150/"),
    ("navigation", "Applanix", "POS MV", "nav/posmv/**/*.gps"),
    ("navigation", "C-Nav", "3050", "nav/cnav/**/*.gps"),
    ("meteorology", "", "", "met/*/MET_*.csv"),
    ("tsg", "Sea-Bird", "SBE45", "tsg/**"),
    ("gravimeter", "Bell", "BGM-3", "gravity/BGM3/**/*.dat"),
    ("documentation", "", "", "docs/*.pdf"),
]
VESSEL = [
    ("multibeam", "Kongsberg", "EM124", "multibeam/EM124/raw/**/*.kmall"),
    ("multibeam", "Kongsberg", "EM124 water column", "multibeam/EM124/watercolumn/**/*.kmwcd"),
]


def paths() -> list[str]:
    out = []
    for i in range(ROWS):
        folder, name = FOLDERS[i % len(FOLDERS)]
        out.append(
            f"{folder.format(i % 97)}/{name.format(i)}" if "{" in folder else f"{folder}/{name.format(i)}"
        )
    return out


def main() -> None:
    os.environ["DATABASE_URL"] = DB_URL
    recreate_database(DB_URL)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from apps.accounts.models import User
    from apps.cruises.models import Cruise, Organisation, Vessel
    from apps.deliveries.models import Delivery, InventoryFile
    from apps.distributions import classify, services
    from apps.distributions.models import Profile

    manager = User.objects.create_superuser("bench@example.org", "x")
    org = Organisation.objects.create(name="Bench Oceanographic")
    vessel = Vessel.objects.create(name="Bench Explorer", code="BX", operator=org)
    cruise = Cruise.objects.create(cruise_id="BX2401", vessel=vessel, operator=org)
    delivery = Delivery.objects.create(
        cruise=cruise, shipment="S1", method="folder", source="/nonexistent", state=Delivery.State.INVENTORIED
    )
    all_paths = paths()
    rows = (
        InventoryFile(delivery=delivery, path=p, size=1000 + i % 5000, sha256=f"{i:064x}")
        for i, p in enumerate(all_paths)
    )
    InventoryFile.objects.bulk_create(rows, batch_size=10_000)

    def rules(items):
        return [{"instrument_class": c, "vendor": v, "model": m, "pattern": p} for c, v, m, p in items]

    template = services.save_profile(
        manager, name="Fleet", operator=org, vessel=None, template=None, rules=rules(TEMPLATE)
    )
    profile = services.save_profile(
        manager, name="Vessel", operator=org, vessel=vessel, template=template, rules=rules(VESSEL)
    )
    effective = Profile.objects.get(pk=profile.pk).effective_rules()

    started = time.perf_counter()
    preview = services.preview(delivery, profile)
    preview_s = time.perf_counter() - started
    started = time.perf_counter()
    datasets = services.commit_classification(delivery, profile, manager, expected=preview.fingerprint)
    commit_s = time.perf_counter() - started

    # Peer 1: the hand loop, every rule's fnmatch against every path (the same rows read the same way).
    started = time.perf_counter()
    hand = 0
    for _pk, path, _size in (
        InventoryFile.objects.filter(delivery=delivery)
        .values_list("pk", "path", "size")
        .iterator(chunk_size=classify.CHUNK)
    ):
        for rule in effective:
            if fnmatch.fnmatchcase(
                path, rule.pattern.rstrip("/") + ("/*" if rule.pattern.endswith("/") else "")
            ):
                hand += 1
                break
    fnmatch_s = time.perf_counter() - started

    # Peer 2: one UPDATE per file, on a sample.
    sample = list(InventoryFile.objects.filter(delivery=delivery).values_list("pk", flat=True)[:SAMPLE])
    started = time.perf_counter()
    for pk in sample:
        InventoryFile.objects.filter(pk=pk).update(instrument_class="other")
    per_row_s = time.perf_counter() - started
    connection.close()

    figures = {
        "rows": ROWS,
        "rules": len(effective),
        "datasets": len(datasets),
        "unmatched": preview.unmatched_files,
        "preview_rows_s": round(ROWS / preview_s),
        "commit_rows_s": round(ROWS / commit_s),
        "commit_s": round(commit_s, 2),
        "ratio_preview_to_fnmatch_loop": round(fnmatch_s / preview_s, 2),
        "ratio_commit_to_per_row_updates": round((ROWS / commit_s) / (SAMPLE / per_row_s), 1),
        "scale": SCALE,
    }
    peers = {
        "fnmatch_loop_rows_s": round(ROWS / fnmatch_s),
        "per_row_update_rows_s": round(SAMPLE / per_row_s),
    }
    summary = (
        f"classify {ROWS:,} rows with {len(effective)} rules: preview {figures['preview_rows_s']:,} rows/s "
        f"({figures['ratio_preview_to_fnmatch_loop']}× an fnmatch loop), commit {figures['commit_rows_s']:,} rows/s "
        f"({figures['ratio_commit_to_per_row_updates']}× one UPDATE per file)"
    )
    write_results("classify", figures, summary, peers=peers)


if __name__ == "__main__":
    main()
