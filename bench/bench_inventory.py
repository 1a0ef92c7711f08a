#!/usr/bin/env python
"""Inventorying a delivery from a drop folder, against hashdeep and against the bare ceiling.

The delivery (200,000 small files of 1-32 KB in instrument folders plus seven files of 1 GB, about 10 GB at
BENCH_SCALE=1; both the file count and the large files' size scale) is generated under BENCH_DIR (default:
the system temp folder) and removed at the end (BENCH_KEEP=1 keeps it). Contenders, on cached data (the
page cache is warmed first), each computing the digests of every byte:

  (a) Quayside: ``apps.deliveries.services.run_inventory`` on a fresh PostgreSQL database (DATABASE_URL's
      server, database ``qs_bench_inventory``): list the tree (path safety, one COPY per 5,000 rows), hash
      MD5 and SHA-256 — the large files on DELIVERY_HASH_THREADS threads, the small ones in helper
      processes (``apps.deliveries.hashproc``; their memory is not in the peak reported), which start on
      the small files while the scan still lists (``inventory.Early``: their rows, up to 100,000, wait in
      memory for the scan to commit, and are in the peak) — (no manifest of
      the tree gives SHA-1, so the inventory leaves SHA-1 out, as for most deliveries), write every
      checkpoint; MD5 in SIMD lanes (``apps.storage.md5lanes``, built by ``make``) where it is built;
  (a') the same without the lanes (``QUAYSIDE_MD5_LANES=0``: hashlib's MD5, as on a machine where
      Quayside was installed without a C compiler), one round;
  (b) ``hashdeep -r -c md5,sha256`` (Debian package hashdeep; two digests, its own threads);
  (c) the ceiling: a bare loop reading each file once and feeding MD5 and SHA-256, on two threads.

Also measured: the database rows/s of the inventory insert (``inventory.insert_rows``, COPY) on its own,
and the peak resident memory of (a) above what the process held before it started.
Targets: (a) ≥ 2 × (b), (a) ≥ 0.8 × (c), ≥ 50,000 rows/s, memory bounded whatever the file count.
Each contender runs BENCH_ROUNDS times (default 2), interleaved; the best time counts.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.support import recreate_database, write_results  # noqa: E402

MiB = 1024 * 1024
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BASE = Path(os.environ.get("BENCH_DIR", tempfile.gettempdir())) / "quayside-bench-inventory"
TREE = BASE / "RR-bench"
SMALL_FILES = max(200, int(200_000 * SCALE))
LARGE_FILES = [int(1024 * MiB * SCALE)] * 7
FOLDERS = [
    "multibeam/EM122",
    "ctd/SBE911",
    "adcp/OS75",
    "adcp/OS150",
    "nav/POSMV",
    "met/MET",
    "gravimeter/BGM3",
]
DB_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_deliver").rsplit("/", 1)[0]
BENCH_DB = f"{DB_URL}/qs_bench_inventory"


def generate() -> list[Path]:
    rng = random.Random(20250112)
    pool = rng.randbytes(4 * MiB)
    for i in range(SMALL_FILES):
        folder = TREE / FOLDERS[i % len(FOLDERS)] / f"day{(i // 1000) % 40:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(1024, 32 * 1024)
        start = rng.randrange(0, len(pool) - size)
        (folder / f"f{i:06d}.dat").write_bytes(i.to_bytes(8, "big") + pool[start + 8 : start + size])
    big = TREE / "multibeam" / "EM122" / "watercolumn"
    big.mkdir(parents=True, exist_ok=True)
    for n, size in enumerate(LARGE_FILES):
        with open(big / f"wc-{n}.wcd", "wb") as out:
            block = rng.randbytes(8 * MiB)
            left = size
            while left > 0:
                out.write(block[: min(left, len(block))])
                left -= len(block)
                block = block[1:] + block[:1]
    return sorted(p for p in TREE.rglob("*") if p.is_file())


def ceiling(files: list[Path]) -> None:
    buffers = (
        threading.local()
    )  # one buffer a thread: a fresh 1 MiB buffer a file cost more than hashing a small one

    def one(path: Path) -> None:
        md5, sha256 = hashlib.md5(), hashlib.sha256()
        if not hasattr(buffers, "buffer"):
            buffers.buffer = bytearray(MiB)
        buffer = buffers.buffer
        view = memoryview(buffer)
        with open(path, "rb", buffering=0) as f:
            while n := f.readinto(buffer):
                md5.update(view[:n])
                sha256.update(view[:n])

    # Large files first, as a fair scheduler would; both cores busy until the end.
    order = sorted(files, key=lambda p: -p.stat().st_size)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, order, chunksize=64))


def hashdeep() -> None:
    subprocess.run(["hashdeep", "-r", "-c", "md5,sha256", str(TREE)], check=True, stdout=subprocess.DEVNULL)


class PeakRSS:
    """Samples this process's resident memory every 20 ms while the block runs."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self.stop = threading.Event()

    def __enter__(self):
        self.base = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.growth_mib = max(0, self.peak - self.base) / MiB


def setup_django():
    os.environ["DATABASE_URL"] = BENCH_DB
    os.environ["DELIVERY_ALLOWED_ROOTS"] = str(BASE)
    os.environ.setdefault("QUAYSIDE_TESTING", "0")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    recreate_database(BENCH_DB)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from apps.cruises.models import Cruise, Organisation, Vessel

    org = Organisation.objects.create(name="Bench Ocean Institution")
    vessel = Vessel.objects.create(name="Bench", code="BN", operator=org)
    return Cruise.objects.create(cruise_id="BN2501", vessel=vessel, operator=org)


def quayside(cruise, n: int) -> tuple[float, float, int]:
    from apps.deliveries import services
    from apps.deliveries.models import Delivery

    delivery = Delivery.objects.create(cruise=cruise, shipment=f"r{n}", method="folder", source=str(TREE))
    with PeakRSS() as rss:
        started = time.perf_counter()
        assert services.run_inventory(delivery.pk) == "done"
        took = time.perf_counter() - started
    delivery.refresh_from_db()
    assert delivery.state == "inventoried" and not delivery.refused, delivery.errors
    return took, rss.growth_mib, delivery.files_done


def without_lanes(cruise) -> float | None:
    """(a') once, with hashlib's MD5 (the helper processes read QUAYSIDE_MD5_LANES themselves); None
    when the lanes are not built (then (a) is this already)."""
    from apps.storage import md5lanes

    if not md5lanes.available():
        return None
    lib = md5lanes._lib
    os.environ["QUAYSIDE_MD5_LANES"] = "0"
    md5lanes._lib = None
    try:
        return quayside(cruise, 99)[0]
    finally:
        md5lanes._lib = lib
        del os.environ["QUAYSIDE_MD5_LANES"]


def insert_rate(cruise) -> float:
    """Rows/s of the inventory insert alone: the scan's entries (repeated under numbered folders to at
    least 50,000 rows, so fixed costs do not dominate) written with COPY in one transaction; best of 3."""
    from django.db import transaction

    from apps.deliveries import inventory
    from apps.deliveries.models import Delivery
    from apps.deliveries.sources import Entry, FolderSource

    entries = [e for e in FolderSource(TREE).scan() if isinstance(e, Entry)]
    copies = max(1, -(-50_000 // len(entries)))
    rows = [Entry(f"copy{n}/{e.path}", "", e.size, e.modified_at) for n in range(copies) for e in entries]
    best = 0.0
    for attempt in range(3):
        delivery = Delivery.objects.create(
            cruise=cruise, shipment=f"insert{attempt}", method="folder", source=str(TREE)
        )
        started = time.perf_counter()
        with transaction.atomic():
            for i in range(0, len(rows), inventory.BATCH):
                inventory.insert_rows(delivery.pk, rows[i : i + inventory.BATCH])
        best = max(best, len(rows) / (time.perf_counter() - started))
    return best


def main() -> None:
    if shutil.which("hashdeep") is None:
        sys.exit("hashdeep is not installed: apt-get install hashdeep")
    free = shutil.disk_usage(BASE.parent if BASE.parent.exists() else tempfile.gettempdir()).free
    needed = SMALL_FILES * 17 * 1024 + sum(LARGE_FILES)
    if needed > free * 0.5:
        sys.exit(f"not enough disk for BENCH_SCALE={SCALE}: needs {needed / MiB:,.0f} MiB")
    shutil.rmtree(BASE, ignore_errors=True)
    try:
        files = generate()
        total = sum(p.stat().st_size for p in files)
        print(f"{len(files):,} files, {total / MiB:,.0f} MiB at BENCH_SCALE={SCALE}", flush=True)
        cruise = setup_django()
        hashdeep()  # warms the page cache
        times = {"quayside": [], "hashdeep": [], "ceiling": []}
        growth = []
        for n in range(ROUNDS):
            took, mib, count = quayside(cruise, n)
            assert count == len(files)
            times["quayside"].append(took)
            growth.append(mib)
            started = time.perf_counter()
            hashdeep()
            times["hashdeep"].append(time.perf_counter() - started)
            started = time.perf_counter()
            ceiling(files)
            times["ceiling"].append(time.perf_counter() - started)
        fallback = without_lanes(cruise)
        rows = insert_rate(cruise)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(BASE, ignore_errors=True)
    best = {k: min(v) for k, v in times.items()}
    figures = {"files": len(files), "MiB": round(total / MiB), "scale": SCALE}
    for name, seconds in best.items():
        figures[f"{name} s"] = round(seconds, 2)
        figures[f"{name} files/s"] = round(len(files) / seconds)
        figures[f"{name} MiB/s"] = round(total / MiB / seconds, 1)
    figures["vs hashdeep"] = round(best["hashdeep"] / best["quayside"], 2)
    figures["vs ceiling"] = round(best["ceiling"] / best["quayside"], 2)
    if fallback is not None:
        figures["without MD5 lanes s"] = round(fallback, 2)
        figures["without MD5 lanes vs hashdeep"] = round(best["hashdeep"] / fallback, 2)
    figures["insert rows/s"] = round(rows)
    figures["peak memory growth MiB"] = round(growth[-1], 1)  # the last round: imports and caches warm
    summary = (
        f"{figures['quayside files/s']:,} files/s, {figures['quayside MiB/s']} MiB/s; "
        f"{figures['vs hashdeep']}× hashdeep (target ≥ 2), {figures['vs ceiling']}× the ceiling (target ≥ 0.8); "
        f"insert {figures['insert rows/s']:,} rows/s (target ≥ 50,000); peak memory +{figures['peak memory growth MiB']} MiB"
    )
    if fallback is not None:
        summary += f"; without the MD5 lanes (hashlib) {figures['without MD5 lanes vs hashdeep']}× hashdeep"
    peers = {
        "hashdeep -r -c md5,sha256": {"s": figures["hashdeep s"], "MiB/s": figures["hashdeep MiB/s"]},
        "bare hashlib, 2 threads": {"s": figures["ceiling s"], "MiB/s": figures["ceiling MiB/s"]},
    }
    for k, v in figures.items():
        print(f"  {k}: {v}")
    write_results("inventory", figures, summary, peers=peers)


if __name__ == "__main__":
    main()
