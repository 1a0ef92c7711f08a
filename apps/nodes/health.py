"""How many healthy copies each public version has, and ``/swarm/health.parquet``, the file nodes rank by.

``healthy_copies`` is THE rule (the health file, the nodes page and its plot all use it):

    copies = max(seeds, 1 + nodes) + mirrors

- ``seeds``: the most complete copies the seeder or a tracker saw (``swarm.SwarmHealth``; the portal's own
  seeder is one of them when it seeds the version);
- ``nodes``: smart nodes whose last report, within NODES_STALE_SECONDS, says they hold the whole torrent;
  ``1 +`` the portal's own copy, which always exists (a node the seeder sees is a seed too, hence ``max``:
  the same copy is never counted twice);
- ``mirrors``: verified mirrors (``catalog.Mirror`` with health ok), counted as the catalog counts them.

The file has one row per published version's built torrent (columns in ``SCHEMA``), written in batches of
``batch_size`` torrents — four queries a batch, memory bounded by one batch — to a temporary file renamed
over the served one (readers see the old file or the new one). ``write_health`` is the beat task's work.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from apps.catalog.models import Mirror
from apps.catalog.parquet import WRITER_OPTIONS, replace_synced, temporary_path
from apps.packages.models import Revision
from apps.swarm.models import SwarmHealth, Torrent

from .models import NodeHolding

TS = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        ("infohash", pa.string()),
        ("seeds", pa.int32()),
        ("mirrors", pa.int32()),
        ("nodes", pa.int32()),
        ("partial_nodes", pa.int32()),
        ("copies", pa.int32()),
        ("bytes", pa.int64()),
        ("pieces", pa.int32()),
        ("piece_size", pa.int32()),
        ("updated", TS),
    ]
)


def healthy_copies(seeds: int, nodes: int, mirrors: int) -> int:
    """Healthy copies of a version: ``max(seeds, 1 + nodes) + mirrors`` (see the module's docstring)."""
    return max(seeds, 1 + nodes) + mirrors


def health_path() -> Path:
    return Path(settings.NODES_DIR) / "health.parquet"


def public_torrents():
    """Built torrents of published versions: the health file's rows (the seeder's list, as values)."""
    return Torrent.objects.filter(
        state=Torrent.State.BUILT, blob__isnull=False, revision__state=Revision.State.PUBLISHED
    )


def fresh_holdings():
    """Holdings of active nodes that reported within NODES_STALE_SECONDS."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.NODES_STALE_SECONDS)
    return NodeHolding.objects.filter(node__revoked_at__isnull=True, node__last_seen_at__gte=cutoff)


def iter_batches(batch_size: int = 10_000, *, updated: datetime.datetime | None = None):
    """The health rows as Arrow record batches, torrent by torrent in primary-key order (keyset paging:
    each batch is one indexed range, however many torrents there are)."""
    updated = updated or timezone.now()
    last = 0
    while True:
        rows = list(
            public_torrents()
            .filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "revision_id", "infohash", "total_size", "piece_size")[:batch_size]
        )
        if not rows:
            return
        lo, hi = rows[0][0], rows[-1][0]
        last = hi
        seeds = dict(
            SwarmHealth.objects.filter(torrent_id__gte=lo, torrent_id__lte=hi)
            .order_by()
            .values("torrent_id")
            .annotate(m=Max("seeds"))
            .values_list("torrent_id", "m")
        )
        nodes = {
            pk: (full, partial)
            for pk, full, partial in fresh_holdings()
            .filter(torrent_id__gte=lo, torrent_id__lte=hi)
            .order_by()
            .values("torrent_id")
            .annotate(
                full=Count("pk", filter=Q(complete=True)), partial=Count("pk", filter=Q(complete=False))
            )
            .values_list("torrent_id", "full", "partial")
        }
        mirrors = dict(
            Mirror.objects.filter(
                revision__torrent__pk__gte=lo, revision__torrent__pk__lte=hi, health=Mirror.Health.OK
            )
            .order_by()  # Mirror's default ordering would join the revision and group by it
            .values("revision_id")
            .annotate(n=Count("pk"))
            .values_list("revision_id", "n")
        )
        s = [seeds.get(r[0]) or 0 for r in rows]
        m = [mirrors.get(r[1], 0) for r in rows]
        full = [nodes.get(r[0], (0, 0))[0] for r in rows]
        partial = [nodes.get(r[0], (0, 0))[1] for r in rows]
        columns = {
            "infohash": pa.array([r[2] for r in rows], pa.string()),
            "seeds": pa.array(s, pa.int32()),
            "mirrors": pa.array(m, pa.int32()),
            "nodes": pa.array(full, pa.int32()),
            "partial_nodes": pa.array(partial, pa.int32()),
            "copies": pa.array([healthy_copies(*v) for v in zip(s, full, m, strict=True)], pa.int32()),
            "bytes": pa.array([r[3] for r in rows], pa.int64()),
            "pieces": pa.array([-(-r[3] // r[4]) if r[4] else 0 for r in rows], pa.int32()),
            "piece_size": pa.array([r[4] for r in rows], pa.int32()),
            "updated": pa.array([updated] * len(rows), TS),
        }
        yield pa.RecordBatch.from_arrays([columns[f.name] for f in SCHEMA], schema=SCHEMA)


@dataclass
class Written:
    rows: int
    size: int
    seconds: float


def write_health(target: Path | None = None, *, batch_size: int = 10_000) -> Written:
    """Write the health file from the database, atomically (temporary file, fsync, rename)."""
    started = time.monotonic()
    target = Path(target or health_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, SCHEMA, **WRITER_OPTIONS) as writer:
            for batch in iter_batches(batch_size):
                writer.write_batch(batch, row_group_size=batch_size)
                rows += batch.num_rows
        size = tmp.stat().st_size
        replace_synced(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Written(rows=rows, size=size, seconds=time.monotonic() - started)


PAGE_COLUMNS = ["infohash", "copies", "seeds", "nodes", "partial_nodes", "mirrors", "bytes"]
_cache: dict = {}


def sorted_health(path: Path | None = None) -> pa.Table | None:
    """The health file's rows for the pages (``PAGE_COLUMNS``), fewest copies first (ties: smaller first,
    as nodes rank them; a numeric sort key, several times faster than the infohash on a million rows);
    None while the first file has not been written. Kept in memory until the file changes (keyed by its
    modification time and size), so a page view sorts at most once per rewrite."""
    path = Path(path or health_path())
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    if _cache.get("key") != key:
        table = pq.read_table(path, columns=PAGE_COLUMNS)
        _cache.clear()
        _cache.update(key=key, table=table.sort_by([("copies", "ascending"), ("bytes", "ascending")]))
    return _cache["table"]
