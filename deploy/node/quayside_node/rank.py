"""Which dataset versions this node should hold: the ranking and the budget fill, vectorised (pyarrow.compute,
numpy), in memory bounded by what the node will hold rather than by the catalog's size.

Inputs: the STAC GeoParquet catalog (``collection``, ``keywords``, ``quayside:status``, ``quayside:infohash``;
``id`` only for the rows of the plan) and the portal's swarm health (``infohash``, ``copies``, ``bytes``,
``pieces``, ``piece_size``), each read one batch at a time.

Memory (bench/bench_node_rank.py measures it):

- The catalog is reduced as it is read to one compact record per published version (``Catalog``): the
  infohash as 20 bytes (a uint64, a uint64 and a uint32, sorted for ``searchsorted``), the favoured bit and
  the catalog row number (for the plan's ``id``, read at the end from only the row groups that hold plan
  rows) — 25 bytes a version, the only thing that grows with the catalog. It has to be kept: health and the
  catalog are two files in no common order, so one side of the join is held, and this is the smaller one.
- Health is streamed: each batch is joined against that record, given its sort key, and merged into the
  ranking so far, which is cut after every batch to what the budget can take (below): memory
  O(plan + batch), whatever the catalog's size. (Mid-way the ranking so far is the plan for the candidates
  seen so far, in the same budget: it can be longer than the final plan — 250,000 rows against a final
  104,581 in the benchmark — but is bounded by the budget all the same.)
- What is left above the imports is mostly constant: the decoding of a few row groups at a time and what
  the allocators keep of it (about 150 MiB; bench/bench_node_rank.py: 233 MiB peak at 250,000 versions
  and 252 at 1,000,000 with the same budget).

The rule (docs/node.md, "Ranking"):

- Candidates: catalog rows whose ``quayside:status`` is ``published``, joined with health on the infohash
  (a version the portal has no health row for has no built, public torrent yet). Infohashes are v1: 40 hex
  digits (any case); anything else matches nothing. Health has one row per infohash (the portal's swarm
  table is keyed by it).
- ``copies`` is the portal's count of healthy copies. A version this node already holds completely counts
  one copy less (the node's own), so taking a version does not by itself push it out of the plan next cycle.
- Favoured versions (a keyword in the node's ``subjects``, case-insensitive, or a collection in its
  ``scopes``) have their priority multiplied by ``favour`` (2 by default): the sort key is
  ``copies / weight`` (weight ``favour`` or 1), so a favoured version ranks before an unfavoured one with
  the same copies.
- Ties: fewer bytes first (the bytes one more copy costs), then the infohash (a stable order).
- Fill: whole versions in rank order while the cumulative bytes fit the budget; the first one that does
  not fit is taken by as many whole pieces as the rest of the budget holds; nothing after it.

Why cutting the ranking after every batch keeps the plan exact: the fill reads only the rows whose
cumulative bytes *before* them fit the budget (the whole versions and the one after). A row outside that
prefix of some of the candidates stays outside it when more candidates come (they only add bytes before
it), so it can be dropped as soon as it falls out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CATALOG_COLUMNS = ["id", "collection", "keywords", "quayside:status", "quayside:infohash"]
HEALTH_COLUMNS = ["infohash", "copies", "bytes", "pieces", "piece_size"]
DEFAULT_FAVOUR = 2.0
BATCH_ROWS = 1 << 16  # rows of catalog or health decoded at a time
# Compressed column data asked for at a time: the chunks of the row groups one ``iter_batches`` reads are
# prefetched together (``_prefetch``: coalesced into few requests) and held until it ends; over a whole
# file, that would hold every needed byte of the catalog at once.
READ_BYTES = 8 << 20

# Hex digit → its value; 255 for every other byte. numpy, because pyarrow has no hex-decoding kernel.
_HEX = np.full(256, 255, np.uint8)
_HEX[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _any_in(lists: pa.Array, values: list[str]) -> pa.Array:
    """Per row of a list<string> array: does any element (lower-cased) appear in ``values``?

    Vectorised with prefix sums: a hit count over the flat values, cumulated, read at each row's offsets;
    a row's hits are the difference between its end and start offsets."""
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks()
    n = len(lists)
    if not values or n == 0:
        return pa.array([False] * n, pa.bool_())
    flat = lists.values  # with .offsets: also right for a slice (list_flatten would drop the offset base)
    hits = pc.fill_null(pc.is_in(pc.utf8_lower(flat), value_set=pa.array(values, pa.string())), False)
    cumulative = pc.cumulative_sum(pc.cast(hits, pa.int64()))
    # One leading zero so that offset 0 reads "no hits before".
    sums = pa.concat_arrays([pa.array([0], pa.int64()), cumulative])
    at = pc.take(sums, lists.offsets)
    return pc.greater(pc.subtract(at.slice(1), at.slice(0, n)), 0)


def infohash_keys(strings: pa.Array) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(the rows that hold a v1 infohash — 40 hex digits, any case —, their 20 bytes as three columns
    (uint64, uint64, uint32) in the hex digits' order). Decoded with numpy over the string buffer: a
    Python ``bytes.fromhex`` a row cost seconds a million rows."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    forty = pc.fill_null(pc.equal(pc.binary_length(strings), 40), False)
    rows = np.flatnonzero(forty.to_numpy(zero_copy_only=False))
    chosen = pc.take(strings, pa.array(rows, pa.int64()))  # a fresh array: its characters are contiguous
    width = np.int64 if pa.types.is_large_string(chosen.type) else np.int32
    offsets = chosen.buffers()[1]
    start = (
        int(np.frombuffer(offsets, width, 1, chosen.offset * np.dtype(width).itemsize)[0]) if rows.size else 0
    )
    chars = np.frombuffer(chosen.buffers()[2] or b"", np.uint8)[start : start + 40 * len(rows)]
    digits = _HEX[chars].reshape(-1, 40)
    hexadecimal = (digits < 16).all(axis=1)
    rows, digits = rows[hexadecimal], digits[hexadecimal]
    raw = np.ascontiguousarray((digits[:, 0::2] << 4) | digits[:, 1::2])  # n × 20 bytes
    big = (
        np.ascontiguousarray(raw[:, :16]).view(">u8").astype(np.uint64)
    )  # bytes 0-15 (big-endian: the same order as the digits)
    low = np.ascontiguousarray(raw[:, 16:]).view(">u4")[:, 0].astype(np.uint32)
    return rows, (big[:, 0].copy(), big[:, 1].copy(), low)


@dataclass
class Catalog:
    """The catalog's published versions with a v1 infohash, one compact record each (module docstring),
    sorted by infohash: ``hi``, ``mid``, ``lo`` (its 20 bytes), ``favoured``, ``row`` (catalog row number,
    for the ``id``). ``parquet``: the catalog itself, to read the ids of the plan's rows."""

    hi: np.ndarray
    mid: np.ndarray
    lo: np.ndarray
    favoured: np.ndarray
    row: np.ndarray
    parquet: pq.ParquetFile | None = None
    source: object = None  # what ``parquet`` reads: a path or a file object (``HTTPRangeFile``)

    def __len__(self) -> int:
        return len(self.hi)

    def close(self) -> None:
        """Close the catalog's Parquet reader (and its file) now: a reader left to interpreter shutdown
        can be freed by an Arrow I/O thread after Python stopped taking the GIL, which aborts the
        process ("terminate called without an active exception")."""
        if self.parquet is not None:
            self.parquet.close(force=True)
            self.parquet = None

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.hi, self.mid, self.lo, self.favoured, self.row))

    def lookup(self, keys: tuple[np.ndarray, np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(probe positions, catalog positions) of every pair of equal infohashes: ``searchsorted`` on the
        first 8 bytes, then the other 12 compared. A catalog that lists one infohash in several published
        rows (or two infohashes that share their first 8 bytes) gives several catalog positions for one
        probe: those probes are compared one by one, as the rule makes each published row a candidate."""
        hi, mid, lo = keys
        if len(self.hi) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        # The probes in order, so that each search starts where the last ended (numpy does so when the
        # probes are sorted): half the time of searching them as they come.
        order = np.argsort(hi)
        left = np.empty(len(hi), np.int64)
        left[order] = np.searchsorted(self.hi, hi[order], "left")
        at = np.minimum(left, len(self.hi) - 1)
        nxt = np.minimum(left + 1, len(self.hi) - 1)
        run = (self.hi[at] == hi) & (nxt != at) & (self.hi[nxt] == hi)  # more than one with these 8 bytes
        one = np.flatnonzero((self.hi[at] == hi) & ~run)
        same = (self.mid[at[one]] == mid[one]) & (self.lo[at[one]] == lo[one])
        probes, found = [one[same]], [at[one][same]]
        for p in np.flatnonzero(run):  # rare: a loop is enough
            right = np.searchsorted(self.hi, hi[p], "right")
            span = np.arange(left[p], right)
            span = span[(self.mid[span] == mid[p]) & (self.lo[span] == lo[p])]
            probes.append(np.full(len(span), p))
            found.append(span)
        return np.concatenate(probes).astype(np.int64), np.concatenate(found).astype(np.int64)

    def ids(self, rows: np.ndarray) -> pa.Array:
        """The catalog's ``id`` at these row numbers, in their order: the id column of only the row groups
        that hold one of them, one row group at a time."""
        if len(rows) == 0 or self.parquet is None:
            return pa.array([None] * len(rows), pa.string())
        meta = self.parquet.metadata
        starts = np.cumsum([0] + [meta.row_group(g).num_rows for g in range(meta.num_row_groups)])
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        group = np.searchsorted(starts, ordered, "right") - 1
        parts = []
        for g in np.unique(group):
            _prefetch(self.parquet, self.source, [int(g)], {"id"})
            column = self.parquet.read_row_group(int(g), columns=["id"], use_threads=False)["id"]
            local = ordered[group == g] - starts[g]
            parts.append(pc.take(column, pa.array(local, pa.int64())).combine_chunks())
        _prefetch(self.parquet, self.source, [], set())
        in_row_order = pa.concat_arrays(parts)
        return pc.take(in_row_order, pa.array(np.argsort(order), pa.int64()))


def open_parquet(source) -> pq.ParquetFile:
    """``source`` (a path or a file object) as a ``ParquetFile`` that reads on the caller's thread only:
    no pre-buffering on Arrow's I/O pool (``_prefetch`` coalesces the reads instead; httpfile's docstring
    says why), and every read below passes ``use_threads=False``."""
    return pq.ParquetFile(source, pre_buffer=False)


def _prefetch(parquet: pq.ParquetFile, source, groups: list[int], wanted: set[str]) -> None:
    """Fetch the chunks of the ``wanted`` columns in these row groups in few requests, when ``source``
    can (``HTTPRangeFile.prefetch``); ``groups=[]`` frees what was fetched. A chunk starts at its
    dictionary page, if any, and is ``total_compressed_size`` long (as Arrow computes it)."""
    prefetch = getattr(source, "prefetch", None)
    if prefetch is None:
        return
    ranges = []
    for g in groups:
        group = parquet.metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] not in wanted:
                continue
            start = chunk.data_page_offset
            if chunk.has_dictionary_page and 0 < (chunk.dictionary_page_offset or 0) < start:
                start = chunk.dictionary_page_offset
            ranges.append((start, start + chunk.total_compressed_size))
    prefetch(ranges)


def _batches(
    parquet: pq.ParquetFile, columns: list[str], batch_size: int, source=None
) -> Iterator[pa.RecordBatch]:
    """``parquet.iter_batches`` over runs of row groups of at most ``READ_BYTES`` of these columns (one
    row group at least), each run's chunks prefetched from ``source`` (``_prefetch``), so that what is
    held stays bounded (``READ_BYTES``). One thread: the columns are few and small, and each decoding
    thread kept memory of its own (25 MiB more at the peak, and no faster on two cores)."""
    meta, wanted = parquet.metadata, set(columns)
    run: list[int] = []
    size = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        chunks = (group.column(c) for c in range(group.num_columns))
        nbytes = sum(c.total_compressed_size for c in chunks if c.path_in_schema.split(".")[0] in wanted)
        if run and size + nbytes > READ_BYTES:
            yield from _run(parquet, source, run, columns, batch_size)
            run, size = [], 0
        run.append(g)
        size += nbytes
    if run:
        yield from _run(parquet, source, run, columns, batch_size)


def _run(parquet, source, groups: list[int], columns: list[str], batch_size: int):
    _prefetch(parquet, source, groups, set(columns))
    try:
        yield from parquet.iter_batches(
            batch_size=batch_size, row_groups=groups, columns=columns, use_threads=False
        )
    finally:
        _prefetch(parquet, source, [], set())


def read_catalog(source, *, subjects: Iterable[str] = (), scopes: Iterable[str] = ()) -> Catalog:
    """The catalog's published versions (``Catalog``), read a batch at a time and reduced at once, so that
    only one batch's columns and the compact records are in memory. ``source``: a path or a file object
    (``HTTPRangeFile``): only the footer and four columns' chunks are read now (``id`` later, for the plan's
    rows: ``Catalog.ids``)."""
    subjects = sorted({s.lower() for s in subjects})
    scopes = pa.array(sorted(set(scopes)), pa.string())
    parquet = open_parquet(source)
    # Filled in place (the catalog's row count bounds them) rather than gathered and concatenated, which
    # would hold every record twice at the end.
    columns = [
        np.empty(parquet.metadata.num_rows, t) for t in (np.uint64, np.uint64, np.uint32, bool, np.uint32)
    ]
    offset = n = 0
    for batch in _batches(parquet, CATALOG_COLUMNS[1:], BATCH_ROWS, source):
        published = pc.fill_null(pc.equal(batch["quayside:status"], "published"), False)
        table = pa.Table.from_batches([batch]).append_column("row", pa.array(np.arange(len(batch)) + offset))
        offset += len(batch)
        table = table.filter(published)
        rows, (hi, mid, lo) = infohash_keys(table["quayside:infohash"])
        table = table.take(pa.array(rows, pa.int64()))
        favoured = _any_in(table["keywords"], subjects)
        if len(scopes):
            favoured = pc.or_(favoured, pc.fill_null(pc.is_in(table["collection"], value_set=scopes), False))
        k = len(rows)
        columns[0][n : n + k], columns[1][n : n + k], columns[2][n : n + k] = hi, mid, lo
        columns[3][n : n + k] = favoured.to_numpy(zero_copy_only=False)
        columns[4][n : n + k] = table["row"].to_numpy()
        n += k
    order = np.argsort(columns[0][:n], kind="stable")
    # One column at a time, so that the sort costs one column more, not a second copy of all.
    for i in range(len(columns)):
        columns[i] = columns[i][order]
    return Catalog(*columns, parquet=parquet, source=source)


def read_health(source, *, batch_size: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The health rows the ranking needs (``HEALTH_COLUMNS``), one batch at a time, from a path or a file
    object; the reader is closed when the batches end or the generator is closed (``Catalog.close``)."""
    parquet = open_parquet(source)
    try:
        yield from _batches(parquet, HEALTH_COLUMNS, batch_size, source)
    finally:
        parquet.close(force=True)


@dataclass
class Ranking:
    """``rows``: the candidates most at risk first — id, infohash (lower case), copies (as this node counts
    them), bytes, pieces, piece_size, favoured, key (``copies / weight``) — as many as ``budget`` needs
    (all without a budget). ``gone``: the held infohashes that are no longer public (``rank``)."""

    rows: pa.Table
    gone: set[str] = field(default_factory=set)


def _candidates(
    catalog: Catalog, batch: pa.RecordBatch, held_complete: pa.Array, favour: float, limit: float | None
) -> pa.Table:
    """One health batch joined with the catalog: its candidates with their sort key and catalog row, only
    those with a key of at most ``limit`` (the others would rank after the ranking's cut)."""
    infohash = pc.utf8_lower(batch["infohash"])
    rows, keys = infohash_keys(infohash)
    probe, at = catalog.lookup(keys)
    rows = rows[probe]
    favoured = catalog.favoured[at]
    copies = batch["copies"].to_numpy(zero_copy_only=False)[rows].astype(np.int64)
    if len(held_complete):
        copies -= pc.is_in(pc.take(infohash, pa.array(rows)), value_set=held_complete).to_numpy(
            zero_copy_only=False
        )
    copies = np.maximum(copies, 1)
    key = copies / np.where(favoured, favour, 1.0)
    if limit is not None:
        kept = key <= limit
        rows, at, favoured, copies, key = rows[kept], at[kept], favoured[kept], copies[kept], key[kept]
    take = pa.array(rows, pa.int64())
    return pa.table(
        {
            "row": pa.array(catalog.row[at]),
            "infohash": pc.take(infohash, take),
            "copies": pa.array(copies.astype(np.int32)),
            "bytes": pc.cast(pc.take(batch["bytes"], take), pa.int64()),
            "pieces": pc.take(batch["pieces"], take),
            "piece_size": pc.take(batch["piece_size"], take),
            "favoured": pa.array(favoured),
            "key": pa.array(key),
        }
    )


def _cut(ranked: pa.Table, budget: int | None) -> pa.Table:
    """The rows ``fill`` can read: those whose cumulative bytes before them fit ``budget``."""
    if budget is None or ranked.num_rows == 0:
        return ranked
    cumulative = pc.cumulative_sum(ranked["bytes"])
    before = pc.subtract(cumulative, ranked["bytes"])
    return ranked.slice(0, pc.sum(pc.cast(pc.less_equal(before, budget), pa.int64())).as_py() or 0)


SORT_KEYS = [("key", "ascending"), ("bytes", "ascending"), ("infohash", "ascending")]


def rank(
    catalog: Catalog,
    health: Iterable[pa.RecordBatch] | pa.Table,
    *,
    budget: int | None = None,
    held: Iterable[str] = (),
    held_complete: Iterable[str] = (),
    favour: float = DEFAULT_FAVOUR,
) -> Ranking:
    """The published versions with health, most at risk first (``Ranking``), health read batch by batch
    (``read_health``) and the ranking so far cut to ``budget`` after each (module docstring). ``held``:
    what the node holds, for ``Ranking.gone``; ``held_complete``: what it holds completely (one copy
    less)."""
    if isinstance(health, pa.Table):
        health = health.to_batches(max_chunksize=BATCH_ROWS)
    held = sorted({h.lower() for h in held})
    held_array = pa.array(held, pa.string())
    complete = pa.array(sorted({h.lower() for h in held_complete}), pa.string())
    in_health: set[str] = set()
    ranked = None
    for batch in health:
        if held:
            lower = pc.utf8_lower(batch["infohash"])
            in_health.update(pc.filter(lower, pc.is_in(lower, value_set=held_array)).to_pylist())
        limit = None
        if ranked is not None and budget is not None and ranked.num_rows:
            if pc.sum(ranked["bytes"]).as_py() > budget:  # full: nothing ranked after its last row counts
                limit = ranked["key"][ranked.num_rows - 1].as_py()
        candidates = _candidates(catalog, batch, complete, favour, limit)
        merged = candidates if ranked is None else pa.concat_tables([ranked, candidates])
        ranked = _cut(merged.take(pc.sort_indices(merged, sort_keys=SORT_KEYS)), budget)
    if ranked is None:
        empty = pa.RecordBatch.from_pylist([], schema=_health_schema())
        ranked = _candidates(catalog, empty, complete, favour, None)
    ranked = ranked.combine_chunks()
    ids = catalog.ids(ranked["row"].to_numpy())
    rows = ranked.drop_columns(["row"]).add_column(0, "id", ids)
    public = _published(catalog, held_array) & in_health
    return Ranking(rows=rows, gone=set(held) - public)


def _health_schema() -> pa.Schema:
    return pa.schema(
        [
            ("infohash", pa.string()),
            ("copies", pa.int32()),
            ("bytes", pa.int64()),
            ("pieces", pa.int32()),
            ("piece_size", pa.int32()),
        ]
    )


def _published(catalog: Catalog, infohashes: pa.Array) -> set[str]:
    """Which of these infohashes the catalog lists as published."""
    rows, keys = infohash_keys(infohashes)
    probe, _ = catalog.lookup(keys)
    return set(pc.take(infohashes, pa.array(rows[probe], pa.int64())).to_pylist())


@dataclass
class Plan:
    """What to hold: ``whole`` infohashes, and at most one ``partial`` (infohash, pieces to hold)."""

    whole: list[str] = field(default_factory=list)
    partial: tuple[str, int] | None = None
    planned_bytes: int = 0
    rows: pa.Table | None = None  # the ranked rows in the plan, with a ``take`` column (pieces)

    @property
    def infohashes(self) -> set[str]:
        return set(self.whole) | ({self.partial[0]} if self.partial else set())


def fill(ranked: pa.Table, budget: int) -> Plan:
    """Whole versions while the cumulative bytes fit ``budget``, then the next one by whole pieces."""
    if ranked.num_rows == 0 or budget <= 0:
        return Plan(rows=ranked.slice(0, 0))
    cumulative = pc.cumulative_sum(pc.cast(ranked["bytes"], pa.int64()))
    whole = pc.sum(pc.cast(pc.less_equal(cumulative, budget), pa.int64())).as_py() or 0  # a prefix
    used = cumulative[whole - 1].as_py() if whole else 0
    plan = Plan(whole=ranked["infohash"].slice(0, whole).to_pylist(), planned_bytes=used)
    takes = ranked["pieces"].slice(0, whole).to_pylist()
    rows = whole
    if whole < ranked.num_rows:
        piece_size = ranked["piece_size"][whole].as_py()
        pieces = (budget - used) // piece_size if piece_size else 0
        if pieces > 0:
            plan.partial = (ranked["infohash"][whole].as_py(), pieces)
            plan.planned_bytes += pieces * piece_size
            takes.append(pieces)
            rows += 1
    plan.rows = ranked.slice(0, rows).append_column("take", pa.array(takes, pa.int32()))
    return plan


def plan_lines(plan: Plan, holdings: Mapping[str, object] | None = None) -> list[str]:
    """The plan as text lines (``quayside-node rank``)."""
    lines = [f"{'rank':>5}  {'copies':>6}  {'bytes':>14}  {'take':>14}  infohash  id"]
    rows = plan.rows.to_pylist() if plan.rows is not None else []
    for i, row in enumerate(rows, 1):
        take = "whole" if row["take"] == row["pieces"] else f"{row['take']}/{row['pieces']} pieces"
        mark = "*" if row["favoured"] else " "
        held = " (held)" if holdings and row["infohash"] in holdings else ""
        lines.append(
            f"{i:>5}  {row['copies']:>6}{mark} {row['bytes']:>14,}  {take:>14}  {row['infohash']}  {row['id']}{held}"
        )
    lines.append(f"planned: {plan.planned_bytes:,} bytes in {len(rows)} versions (* favoured)")
    return lines
