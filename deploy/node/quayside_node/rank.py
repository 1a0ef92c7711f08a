"""Which dataset versions this node should hold: the ranking and the budget fill, vectorised (pyarrow.compute).

Inputs: the STAC GeoParquet catalog (only ``id``, ``collection``, ``keywords``, ``quayside:status``,
``quayside:infohash``) and the portal's swarm health (``infohash``, ``copies``, ``bytes``, ``pieces``,
``piece_size``), each read one row group at a time and reduced at once to the few columns the ranking
needs, so memory grows with the number of versions (about 470 bytes a version at the peak, pyarrow's
buffers and pools included: bench/bench_node_rank.py), never with the catalog's other columns.

The rule (docs/node.md, "Ranking"):

- Candidates: catalog rows whose ``quayside:status`` is ``published``, joined with health on the infohash
  (a version the portal has no health row for has no built, public torrent yet).
- ``copies`` is the portal's count of healthy copies. A version this node already holds completely counts
  one copy less (the node's own), so taking a version does not by itself push it out of the plan next cycle.
- Favoured versions (a keyword in the node's ``subjects``, case-insensitive, or a collection in its
  ``scopes``) have their priority multiplied by ``favour`` (2 by default): the sort key is
  ``copies / weight`` (weight ``favour`` or 1), so a favoured version ranks before an unfavoured one with
  the same copies.
- Ties: fewer bytes first (the bytes one more copy costs), then the infohash (a stable order).
- Fill: whole versions in rank order while the cumulative bytes fit the budget; the first one that does
  not fit is taken by as many whole pieces as the rest of the budget holds; nothing after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CATALOG_COLUMNS = ["id", "collection", "keywords", "quayside:status", "quayside:infohash"]
HEALTH_COLUMNS = ["infohash", "copies", "bytes", "pieces", "piece_size"]
DEFAULT_FAVOUR = 2.0


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


def reduce_catalog(batch: pa.RecordBatch, *, subjects: list[str], scopes: list[str]) -> pa.Table:
    """One catalog batch as (id, infohash, published, favoured): rows with an infohash only."""
    table = pa.Table.from_batches([batch])
    table = table.filter(pc.is_valid(table["quayside:infohash"]))
    favoured = _any_in(table["keywords"], subjects)
    if scopes:
        in_scope = pc.fill_null(pc.is_in(table["collection"], value_set=pa.array(scopes, pa.string())), False)
        favoured = pc.or_(favoured, in_scope)
    return pa.table(
        {
            "id": table["id"],
            "infohash": pc.utf8_lower(table["quayside:infohash"]),
            "published": pc.fill_null(pc.equal(table["quayside:status"], "published"), False),
            "favoured": favoured,
        }
    )


def _empty_catalog() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([], pa.string()),
            "infohash": pa.array([], pa.string()),
            "published": pa.array([], pa.bool_()),
            "favoured": pa.array([], pa.bool_()),
        }
    )


def read_catalog(source, *, subjects: Iterable[str] = (), scopes: Iterable[str] = ()) -> pa.Table:
    """The catalog's rows that have an infohash, reduced (``reduce_catalog``) batch by batch, so only one
    row group's full columns are in memory at a time. ``source``: a path or a file object
    (``HTTPRangeFile``): only the footer and these five columns' chunks are read. The result stays in
    chunks (one per batch): concatenating would copy it all once more."""
    subjects = sorted({s.lower() for s in subjects})
    scopes = sorted(set(scopes))
    parquet = pq.ParquetFile(source)
    parts = [
        reduce_catalog(batch, subjects=subjects, scopes=scopes)
        for batch in parquet.iter_batches(columns=CATALOG_COLUMNS, batch_size=1 << 16)
    ]
    return pa.concat_tables(parts) if parts else _empty_catalog()


def read_health(source) -> pa.Table:
    """The health rows the ranking needs (``HEALTH_COLUMNS``), from a path or a file object; the infohash
    in one chunk (the ranking looks catalog rows up in it)."""
    parquet = pq.ParquetFile(source)
    parts = []
    for batch in parquet.iter_batches(columns=HEALTH_COLUMNS, batch_size=1 << 16):
        table = pa.Table.from_batches([batch])
        parts.append(table.set_column(0, "infohash", pc.utf8_lower(table["infohash"])))
    if not parts:
        return parquet.schema_arrow.empty_table().select(HEALTH_COLUMNS)
    table = pa.concat_tables(parts)
    return table.set_column(0, "infohash", table["infohash"].combine_chunks())


def rank(
    catalog: pa.Table,
    health: pa.Table,
    *,
    held_complete: Iterable[str] = (),
    favour: float = DEFAULT_FAVOUR,
) -> pa.Table:
    """The published versions with health, most at risk first: columns id, infohash, copies (as this node
    counts them), bytes, pieces, piece_size, favoured, key (the sort key, ``copies / weight``).

    Each catalog row is looked up in health with ``index_in`` (a hash lookup giving a row number) rather
    than a join, which would copy every column of both sides: only the candidates' numbers are gathered,
    and their strings once, in rank order."""
    infohashes = health["infohash"]
    if isinstance(infohashes, pa.ChunkedArray):
        infohashes = infohashes.combine_chunks()
    at = pc.index_in(catalog["infohash"], value_set=infohashes)
    rows = pc.indices_nonzero(pc.and_(catalog["published"], pc.is_valid(at)))  # candidate catalog rows
    hrow = pc.take(at, rows)  # their health rows
    infohash = pc.take(infohashes, hrow)
    held = pa.array(sorted(set(held_complete)), pa.string())
    mine = pc.cast(pc.is_in(infohash, value_set=held), pa.int32())
    copies = pc.max_element_wise(pc.subtract(pc.take(health["copies"], hrow), mine), 1)
    favoured = pc.take(catalog["favoured"], rows)
    key = pc.divide(pc.cast(copies, pa.float64()), pc.if_else(favoured, favour, 1.0))
    size = pc.take(health["bytes"], hrow)
    order = pc.sort_indices(
        pa.table({"key": key, "bytes": size, "infohash": infohash}),
        sort_keys=[("key", "ascending"), ("bytes", "ascending"), ("infohash", "ascending")],
    )
    del infohash
    hrow, rows = pc.take(hrow, order), pc.take(rows, order)
    return pa.table(
        {
            "id": pc.take(catalog["id"], rows),
            "infohash": pc.take(infohashes, hrow),
            "copies": pc.take(copies, order),
            "bytes": pc.take(size, order),
            "pieces": pc.take(health["pieces"], hrow),
            "piece_size": pc.take(health["piece_size"], hrow),
            "favoured": pc.take(favoured, order),
            "key": pc.take(key, order),
        }
    )


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


def to_delete(catalog: pa.Table, health: pa.Table, held: Iterable[str]) -> set[str]:
    """Held infohashes that are no longer public: withdrawn or tainted in the catalog, or absent from
    health (no public torrent). Delete these at once, whatever the budget."""
    held = sorted(set(held))
    if not held:
        return set()
    live = catalog.filter(catalog["published"])["infohash"]
    live = pc.filter(live, pc.is_in(live, value_set=health["infohash"]))
    held_array = pa.array(held, pa.string())
    gone = pc.filter(held_array, pc.invert(pc.is_in(held_array, value_set=live)))
    return set(gone.to_pylist())


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
