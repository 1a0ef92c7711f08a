"""The inventory engine: list a delivery's files into the database, then hash them in parallel.

``scan`` writes one row per file (path, size, modification time; status pending) in one transaction —
COPY on PostgreSQL, ``bulk_create`` elsewhere — and the refused paths. ``hash_pending`` then hashes the
pending rows: a few threads (``DELIVERY_HASH_THREADS``, one per core by default) each read a file once
and compute MD5 and SHA-256 (SHA-1 too when a manifest of the delivery gives SHA-1:
``manifests.wants_sha1``) from the same buffers; hashlib and the reads release the GIL, so the threads use
both cores. Where the MD5 lanes are built (``apps.storage.md5lanes``) a thread reads several files side by
side and takes their MD5s together (``hashproc.hash_in_lanes``), else one file at a time
(``hashproc.hash_one``). Small files of a folder, when there are
many, go in batches to helper processes instead (``hashproc``: for a small file the Python around the
hashing dominates, and threads take turns on the GIL for it). Large files go first, so the last minutes
are not one big file on one core. Every ``DELIVERY_CHECKPOINT_SECONDS`` the hashed rows and the delivery's
counters are written in one transaction that also checks the lease: a worker killed between checkpoints
loses only the files hashed since the last one, and a worker that lost its lease writes nothing.

Memory is bounded whatever the file count: the scan holds one folder's names (S3: the listing), the
hashing a batch of rows and a few 1 MiB buffers per thread (one pair, or one per lane), a helper at most
16 MiB of a batch's files (``hashproc.LANE_BYTES``)."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.storage import md5lanes

from . import hashproc, manifests
from .models import Delivery, InventoryFile
from .sources import Entry, FolderSource, Refusal

log = logging.getLogger(__name__)

BATCH = 5000
LARGE = 64 * 1024 * 1024  # hashed first, with SHA-256 on a helper thread
SMALL = 1024 * 1024  # below this, many files go to helper processes (``hashproc``)
PROCESS_BATCH = 256  # small files a helper process hashes per task
MAX_REFUSALS_KEPT = 10_000  # in the delivery's report; the count is always exact


class LeaseLost(Exception):
    """Another worker holds the delivery now: stop without writing."""


def _columns() -> list[str]:
    return [
        "delivery_id", "path", "source_path", "size", "modified_at", "md5", "sha1", "sha256",
        "instrument_class", "status", "error", "manifest_check",
    ]  # fmt: skip


def insert_rows(delivery_id: int, entries: list[Entry]) -> None:
    """Insert pending rows for ``entries``: COPY on PostgreSQL (psycopg 3), bulk_create elsewhere."""
    if not entries:
        return
    if connection.vendor == "postgresql":
        table = InventoryFile._meta.db_table
        # COPY's text format written here, one string per batch (2-3x write_row's speed): names hold no
        # control characters (the sources refuse them), so only the backslash needs escaping.
        lines = []
        for e in entries:
            modified = e.modified_at.isoformat() if e.modified_at else r"\N"
            path = e.path.replace("\\", "\\\\")
            source_path = e.source_path.replace("\\", "\\\\")
            lines.append(f"{delivery_id}\t{path}\t{source_path}\t{e.size}\t{modified}\t\t\t\t\tpending\t\t\n")
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(_columns())}) FROM STDIN") as copy:
                copy.write("".join(lines))
        return
    InventoryFile.objects.bulk_create(
        [
            InventoryFile(
                delivery_id=delivery_id,
                path=e.path,
                source_path=e.source_path,
                size=e.size,
                modified_at=e.modified_at,
            )
            for e in entries
        ],
        batch_size=500,
    )


def _check_lease(delivery_id: int, lease, **updates) -> None:
    """In the caller's transaction: apply ``updates`` to the delivery if the lease is still ours."""
    if not Delivery.objects.filter(pk=delivery_id, lease_owner=lease.owner).update(**updates):
        raise LeaseLost()


def scan(delivery: Delivery, source, lease, *, listed=None) -> list[tuple[str, str]]:
    """List the source into pending rows and record the refused paths, all in one transaction (a scan
    interrupted halfway leaves nothing: the next run lists again). ``listed(entry)`` is called for each
    file as it is listed (``Early.offer``). Returns the files that may be manifests (``(path,
    source_path)``, ``manifests.is_candidate``), for ``manifests.wants_sha1``."""
    candidates: list[tuple[str, str]] = []
    refused: list[dict] = []
    refused_count = 0
    files = 0
    size = 0
    with transaction.atomic(durable=True):
        InventoryFile.objects.filter(delivery=delivery).delete()
        batch: list[Entry] = []
        for item in source.scan():
            if isinstance(item, Refusal):
                refused_count += 1
                if len(refused) < MAX_REFUSALS_KEPT:
                    refused.append({"path": item.path, "reason": item.reason})
                continue
            batch.append(item)
            if listed is not None:
                listed(item)
            if manifests.is_candidate(item.path, item.size):
                candidates.append((item.path, item.source_path))
            files += 1
            size += item.size
            if len(batch) >= BATCH:
                insert_rows(delivery.pk, batch)
                batch = []
        insert_rows(delivery.pk, batch)
        if refused_count > len(refused):
            refused.append(
                {"path": "…", "reason": f"{refused_count - len(refused)} more refused paths not listed"}
            )
        _check_lease(
            delivery.pk,
            lease,
            scanned=True,
            files_total=files,
            bytes_total=size,
            files_done=0,
            bytes_done=0,
            run_bytes_start=0,
            refused=refused,
            manifests=[],
        )
    if connection.vendor == "postgresql":
        # After a bulk load the planner still has the table's statistics from before it, and reads the
        # delivery's whole index for every window of ``InventoryFile.by_window`` (the pending files, the
        # early rows' ids, the manifests): 0.38 s → 0.21 s a pass over 200,000 rows; the ANALYZE 0.14 s.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {InventoryFile._meta.db_table}")
    delivery.scanned, delivery.files_total, delivery.bytes_total, delivery.refused = (
        True,
        files,
        size,
        refused,
    )
    log.info("delivery %s: %d files, %d bytes listed, %d refused", delivery.pk, files, size, refused_count)
    return candidates


def _pending(delivery_id: int, skip: set[int] = frozenset()) -> Iterator[tuple[int, str, int]]:
    """Pending rows, large files first (``InventoryFile.by_window``). Rows in ``skip`` (hashed already,
    not yet written) are left out."""
    pending = InventoryFile.Status.PENDING
    for sizes in ({"size__gte": LARGE}, {"size__lt": LARGE}):
        for pk, source_path, path, size in InventoryFile.by_window(
            delivery_id, "id", "source_path", "path", "size", status=pending, **sizes
        ):
            if pk not in skip:
                yield pk, source_path or path, size


class Pacer:
    """A read-rate limit shared by the hashing threads (``DELIVERY_READ_RATE_LIMIT`` bytes/s): keeps a
    shared drive or a NAS usable while a delivery is inventoried."""

    def __init__(self, rate: int):
        self.rate = rate
        self.lock = threading.Lock()
        self.start = time.monotonic()
        self.done = 0

    def __call__(self, n: int) -> None:
        with self.lock:
            self.done += n
            due = self.start + self.done / self.rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)


def inventory(delivery: Delivery, source, lease) -> bool:
    """List the delivery (unless it was listed already) and hash every pending file; True when none is
    left, False when the lease was lost. While the scan lists, helper processes already hash the small
    files it has listed (``Early``), so both cores work from the start."""
    if delivery.scanned:
        return hash_pending(delivery, source, lease)
    early = Early.start(delivery, source)
    started = time.perf_counter()
    try:
        candidates = scan(delivery, source, lease, listed=early.offer if early else None)
        log.info("delivery %s: listed in %.2f s", delivery.pk, time.perf_counter() - started)
        sha1 = manifests.wants_sha1(delivery, source, candidates)
        if early is None:
            return hash_pending(delivery, source, lease, sha1=sha1)
        rows = early.collect(delivery, lease, keep=not sha1)
        return hash_pending(delivery, source, lease, sha1=sha1, helpers=early.helpers, hashed=rows)
    except BaseException:
        if early is not None and early.helpers is not None:
            early.helpers.abort()
        raise


EARLY_MOST = 100_000  # rows hashed during the scan, held until it commits: at most ~40 MB


class Early:
    """Small files hashed by helper processes while the scan is still listing.

    The scan's rows are not visible until its transaction commits, so the helpers' rows (keyed by path
    until then) wait in memory, at most ``EARLY_MOST`` of them. After the commit (``collect``) they take
    their rows' ids and go to ``hash_pending``, which writes them at its first checkpoints, leaves their
    files out, and goes on with the rest on the same helpers. A batch the helpers have no room for is
    not waited for (the scan must not slow down): its files stay pending. The helpers start once the scan
    has listed ``DELIVERY_HASH_PROCESS_MIN_FILES`` small files. SHA-1 is left out here (whether a manifest
    wants it is known only after the listing); a delivery that wants it drops these rows and its files
    are hashed again, with SHA-1."""

    def __init__(self, delivery_id: int, root: str):
        self.delivery_id, self.root = delivery_id, root
        self.helpers: hashproc.Helpers | None = None
        self.batch: list[tuple[str, str, int]] = []
        self.small = 0
        self.taken = 0
        self.rows: list[tuple] = []
        self.lock = threading.Lock()

    @classmethod
    def start(cls, delivery: Delivery, source) -> Early | None:
        """An ``Early`` for a source whose small files may go to helpers (``_helpers_allowed``), else None."""
        if not _helpers_allowed(source, limited=bool(settings.DELIVERY_READ_RATE_LIMIT)):
            return None
        return cls(delivery.pk, source.root)

    def offer(self, entry: Entry) -> None:
        if entry.size >= SMALL or self.taken >= EARLY_MOST:
            return
        self.small += 1
        self.batch.append((entry.path, entry.source_path or entry.path, entry.size))
        if len(self.batch) < PROCESS_BATCH:
            return
        batch, self.batch = self.batch, []
        if self.helpers is None:
            if self.small < settings.DELIVERY_HASH_PROCESS_MIN_FILES:
                return
            self.helpers = _start_helpers(self.delivery_id, self.root, sha1=False, done=self._done)
        if self.helpers.put(batch, timeout=None):
            self.taken += len(batch)

    def _done(self, rows: list[tuple]) -> None:
        with self.lock:
            self.rows.extend(rows)

    def collect(self, delivery: Delivery, lease, *, keep: bool) -> list[tuple]:
        """After the scan committed: wait for the batches in flight (a few hundredths of a second),
        then the rows, keyed by id (none unless ``keep``)."""
        if self.helpers is None:
            return []
        while not self.helpers.wait_idle(timeout=settings.DELIVERY_CHECKPOINT_SECONDS):
            if lease.lost:
                raise LeaseLost()
        with self.lock:
            rows, self.rows = self.rows, []
        if not keep:
            return []
        # The ids window by window, not by path: 70,000 paths asked for in lists took a second with one
        # core idle, the delivery's small rows read by range a tenth of that.
        by_path = {row[0]: row for row in rows}
        found = []
        for pk, path in InventoryFile.by_window(delivery.pk, "id", "path", size__lt=SMALL):
            row = by_path.get(path)
            if row is not None:
                found.append((pk, *row[1:]))
        log.info("delivery %s: %d files were hashed while the scan listed", delivery.pk, len(found))
        return found


def _threads() -> int:
    return settings.DELIVERY_HASH_THREADS or os.cpu_count() or 2


def _helpers_allowed(source, *, limited: bool) -> bool:
    """Whether small files of ``source`` may go to helper processes: not for an S3 prefix (it waits on
    the network, where threads are enough), nor under a read-rate limit (shared by threads only), nor
    with ``DELIVERY_HASH_PROCESSES`` = 0."""
    return isinstance(source, FolderSource) and not limited and settings.DELIVERY_HASH_PROCESSES > 0


def _start_helpers(delivery_id: int, root: str, *, sha1: bool, done) -> hashproc.Helpers:
    processes = settings.DELIVERY_HASH_PROCESSES
    log.info("delivery %s: small files go to %d helper processes", delivery_id, processes)
    return hashproc.Helpers(root, sha1=sha1, count=processes, done=done, cwd=str(settings.BASE_DIR))


def _helpers(delivery: Delivery, source, pace, sha1: bool, done) -> hashproc.Helpers | None:
    """Helper processes for the small files (``hashproc.Helpers``), or None: not allowed
    (``_helpers_allowed``), or fewer than ``DELIVERY_HASH_PROCESS_MIN_FILES`` small files (starting the
    helpers costs a few hundredths of a second each)."""
    minimum = settings.DELIVERY_HASH_PROCESS_MIN_FILES
    if not _helpers_allowed(source, limited=pace is not None):
        return None
    small = InventoryFile.objects.filter(
        delivery_id=delivery.pk, status=InventoryFile.Status.PENDING, size__lt=SMALL
    )
    if small[:minimum].count() < minimum:
        return None
    return _start_helpers(delivery.pk, source.root, sha1=sha1, done=done)


def hash_pending(
    delivery: Delivery,
    source,
    lease,
    *,
    sha1: bool | None = None,
    helpers: hashproc.Helpers | None = None,
    hashed: list[tuple] = (),
) -> bool:
    """Hash every pending row of ``delivery``; True when none is left, False when the lease was lost.

    Files of ``SMALL`` bytes or more are hashed by the threads; smaller ones, when there are many, by
    helper processes in batches (``helpers``: those ``Early`` started, else ``_helpers``). ``hashed``
    are rows hashed already (by ``Early``): written at the first checkpoints, their files not read
    again. ``sha1``: whether to compute SHA-1 (None: ``manifests.wants_sha1`` decides)."""
    rate = settings.DELIVERY_READ_RATE_LIMIT
    pace = Pacer(rate) if rate else None
    if sha1 is None:
        sha1 = manifests.wants_sha1(delivery, source)
    work: queue.Queue = queue.Queue(maxsize=4 * BATCH)
    results: list[tuple] = list(hashed)
    skip = {row[0] for row in hashed}
    results_lock = threading.Lock()
    stop = threading.Event()

    def hasher() -> None:
        if md5lanes.available():
            hashproc.hash_in_lanes(source, work, emit, sha1=sha1, pace=pace, stop=stop)
            return
        while not stop.is_set():
            item = work.get()
            if item is None:
                return
            pk, name, size = item
            emit(hashproc.hash_one(source, pk, name, size, parallel=size >= LARGE, pace=pace, sha1=sha1))

    def emit(row: tuple) -> None:
        with results_lock:
            results.append(row)

    def done(rows: list[tuple]) -> None:
        with results_lock:
            results.extend(rows)

    threads = [threading.Thread(target=hasher, name=f"inventory-{i}", daemon=True) for i in range(_threads())]
    for t in threads:
        t.start()
    if helpers is not None and helpers.sha1 != sha1:
        helpers.abort()  # started without SHA-1, and this delivery wants it
        helpers = None
    if helpers is not None:
        helpers.done = done
    else:
        helpers = _helpers(delivery, source, pace, sha1, done)
    batch: list = []
    last = time.monotonic()
    finished = False

    def checkpoint() -> None:
        nonlocal results
        with results_lock:
            batch, results = results, []
        for i in range(0, len(batch), BATCH):  # the early rows may be many
            write_hashed(delivery.pk, lease, batch[i : i + BATCH])

    def tick() -> None:
        nonlocal last
        if lease.lost:
            raise LeaseLost()
        if time.monotonic() - last >= settings.DELIVERY_CHECKPOINT_SECONDS:
            checkpoint()
            last = time.monotonic()

    def put(item) -> None:
        while True:
            try:
                work.put(item, timeout=0.2)
                return
            except queue.Full:
                tick()

    def submit(items: list) -> None:
        while not helpers.put(items, timeout=0.2):
            tick()

    try:
        for item in _pending(delivery.pk, skip):
            if helpers is not None and item[2] < SMALL:
                batch.append(item)
                if len(batch) == PROCESS_BATCH:
                    submit(batch)
                    batch = []
            else:
                put(item)
            tick()
        if batch:
            submit(batch)
        for _ in helpers.threads if helpers is not None else []:
            submit(None)  # one end mark for each helper
        for _ in threads:
            put(None)
        while (helpers is not None and helpers.busy()) or any(t.is_alive() for t in threads):
            for t in [*threads, *(helpers.threads if helpers else [])]:
                t.join(timeout=settings.DELIVERY_CHECKPOINT_SECONDS / 4)
            tick()
        checkpoint()
        finished = True
    except LeaseLost:
        return False
    finally:
        stop.set()
        if not finished:  # lease lost, or a database error: wake the threads, stop the helpers
            _drain(work, len(threads))
            if helpers is not None:
                helpers.abort()
    return True


def _drain(work: queue.Queue, threads: int) -> None:
    try:
        while True:
            work.get_nowait()
    except queue.Empty:
        pass
    for _ in range(threads):
        try:
            work.put_nowait(None)
        except queue.Full:
            break


def write_hashed(delivery_id: int, lease, rows: list[tuple]) -> None:
    """One checkpoint: write hashed rows (``(pk, md5, sha1, sha256, status, error, size)``) and add them to
    the delivery's counters, in one transaction that checks the lease. Only rows still pending are
    written and counted, so a file is never counted twice."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMP TABLE IF NOT EXISTS inventory_hashed (id bigint, md5 text, sha1 text, "
                    "sha256 text, status text, error text, size bigint) ON COMMIT DELETE ROWS"
                )
                with cursor.cursor.copy("COPY inventory_hashed FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                table = InventoryFile._meta.db_table
                cursor.execute(
                    f"UPDATE {table} f SET md5 = h.md5, sha1 = h.sha1, sha256 = h.sha256, status = h.status, "
                    f"error = h.error, hashed_at = %s FROM inventory_hashed h "
                    f"WHERE f.id = h.id AND f.status = 'pending' RETURNING f.size",
                    [now],
                )
                sizes = [size for (size,) in cursor.fetchall()]
        else:
            sizes = []
            with connection.cursor() as cursor:
                for pk, md5, sha1, sha256, status, error, size in rows:
                    cursor.execute(
                        f"UPDATE {InventoryFile._meta.db_table} SET md5 = %s, sha1 = %s, sha256 = %s, status = %s, "
                        "error = %s, hashed_at = %s WHERE id = %s AND status = 'pending'",
                        [md5, sha1, sha256, status, error, now, pk],
                    )
                    if cursor.rowcount:
                        sizes.append(size)
        _check_lease(
            delivery_id,
            lease,
            files_done=F("files_done") + len(sizes),
            bytes_done=F("bytes_done") + sum(sizes),
            lease_until=now + lease.duration,
        )
