"""The smart node's ranking and budget fill (quayside_node.rank), checked case by case and against the
row-by-row reference (tests/support/node_reference.py) on a synthetic catalog."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from quayside_node import rank

from tests.support import node_reference


def catalog_table(rows: list[dict]) -> pa.Table:
    """Catalog rows with defaults: (id, infohash, status, collection, keywords)."""
    return pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.string()),
            "collection": pa.array([r.get("collection", "edi") for r in rows], pa.string()),
            "keywords": pa.array([r.get("keywords", []) for r in rows], pa.list_(pa.string())),
            "quayside:status": pa.array([r.get("status", "published") for r in rows], pa.string()),
            "quayside:infohash": pa.array([r.get("infohash", r["id"] * 40) for r in rows], pa.string()),
        }
    )


def health_table(rows: list[dict]) -> pa.Table:
    """Health rows (infohash, copies, bytes; 16 KiB pieces unless given)."""
    piece = [r.get("piece_size", 16384) for r in rows]
    return pa.table(
        {
            "infohash": pa.array([r["infohash"] for r in rows], pa.string()),
            "copies": pa.array([r["copies"] for r in rows], pa.int32()),
            "bytes": pa.array([r["bytes"] for r in rows], pa.int64()),
            "pieces": pa.array([-(-r["bytes"] // p) for r, p in zip(rows, piece, strict=True)], pa.int32()),
            "piece_size": pa.array(piece, pa.int32()),
        }
    )


def read(tmp_path, catalog: pa.Table, health: pa.Table, **kwargs):
    pq.write_table(catalog, tmp_path / "stac.parquet")
    pq.write_table(health, tmp_path / "health.parquet")
    c = rank.read_catalog(tmp_path / "stac.parquet", **{k: v for k, v in kwargs.items() if k != "held"})
    h = pq.read_table(tmp_path / "health.parquet", columns=rank.HEALTH_COLUMNS)
    return c, h


def ranked_rows(c: rank.Catalog, h: pa.Table, **kwargs) -> pa.Table:
    return rank.rank(c, h, **kwargs).rows


def ids(ranked: pa.Table) -> list[str]:
    return ranked["id"].to_pylist()


def test_the_fewest_copies_rank_first_and_ties_go_to_the_smaller_version(tmp_path):
    catalog = catalog_table([{"id": x} for x in "abcd"])
    health = health_table(
        [
            {"infohash": "a" * 40, "copies": 3, "bytes": 10},
            {"infohash": "b" * 40, "copies": 1, "bytes": 500},
            {"infohash": "c" * 40, "copies": 1, "bytes": 200},
            {"infohash": "d" * 40, "copies": 2, "bytes": 1},
        ]
    )
    c, h = read(tmp_path, catalog, health)
    assert ids(ranked_rows(c, h)) == ["c", "b", "d", "a"]


def test_withdrawn_tainted_and_unbuilt_versions_are_never_candidates_and_held_ones_are_deleted(tmp_path):
    catalog = catalog_table(
        [
            {"id": "a"},
            {"id": "b", "status": "withdrawn"},
            {"id": "c", "status": "tainted"},
            {"id": "d"},  # no health row: no public torrent
            {"id": "e", "infohash": None},
        ]
    )
    health = health_table([{"infohash": x * 40, "copies": 1, "bytes": 10} for x in "abc"])
    c, h = read(tmp_path, catalog, health)
    assert ids(ranked_rows(c, h)) == ["a"]
    held = {"a" * 40, "b" * 40, "c" * 40, "d" * 40, "f" * 40}
    assert rank.rank(c, h, held=held).gone == {"b" * 40, "c" * 40, "d" * 40, "f" * 40}


def test_a_favoured_subject_or_scope_ranks_before_an_unfavoured_version_with_equal_copies(tmp_path):
    catalog = catalog_table(
        [
            {"id": "a", "keywords": ["Plankton"]},
            {"id": "b", "keywords": ["Oceanography", "ice"]},
            {"id": "c", "collection": "knb-lter-ble"},
            {"id": "d", "keywords": None},
        ]
    )
    health = health_table([{"infohash": x * 40, "copies": 2, "bytes": 100 - i} for i, x in enumerate("abcd")])
    c, h = read(tmp_path, catalog, health, subjects=["oceanography"], scopes=["knb-lter-ble"])
    ranked = ranked_rows(c, h)
    assert ids(ranked) == ["c", "b", "d", "a"]  # favoured (smaller first), then the rest (smaller first)
    assert ranked["favoured"].to_pylist() == [True, True, False, False]
    # Twice the priority: a favoured version with 2 copies ranks level with an unfavoured one with 1.
    health = health_table(
        [{"infohash": "a" * 40, "copies": 1, "bytes": 50}, {"infohash": "b" * 40, "copies": 2, "bytes": 60}]
    )
    c, h = read(tmp_path, catalog, health, subjects=["oceanography"])
    assert ids(ranked_rows(c, h)) == ["a", "b"]
    assert ids(ranked_rows(c, h, favour=3)) == ["b", "a"]


def test_a_version_held_completely_counts_one_copy_less_so_holding_it_does_not_push_it_out(tmp_path):
    catalog = catalog_table([{"id": "a"}, {"id": "b"}])
    health = health_table(
        [{"infohash": "a" * 40, "copies": 2, "bytes": 10}, {"infohash": "b" * 40, "copies": 1, "bytes": 20}]
    )
    c, h = read(tmp_path, catalog, health)
    assert ids(ranked_rows(c, h)) == ["b", "a"]
    ranked = ranked_rows(c, h, held_complete=["a" * 40])
    assert ids(ranked) == ["a", "b"]  # 2 - 1 = 1 copy, and smaller
    assert ranked["copies"].to_pylist() == [1, 1]


def test_the_budget_takes_whole_versions_while_they_fit_then_the_next_by_pieces(tmp_path):
    catalog = catalog_table([{"id": x} for x in "abcd"])
    health = health_table(
        [
            {"infohash": "a" * 40, "copies": 1, "bytes": 40_000},
            {"infohash": "b" * 40, "copies": 1, "bytes": 50_000},
            {"infohash": "c" * 40, "copies": 2, "bytes": 100_000},  # 7 pieces of 16 KiB
            {"infohash": "d" * 40, "copies": 3, "bytes": 1},
        ]
    )
    c, h = read(tmp_path, catalog, health)
    ranked = ranked_rows(c, h)
    plan = rank.fill(ranked, 150_000)
    assert plan.whole == ["a" * 40, "b" * 40]
    assert plan.partial == ("c" * 40, 3)  # 60,000 bytes left: 3 whole pieces of 16,384
    assert plan.planned_bytes == 90_000 + 3 * 16384
    assert plan.rows["take"].to_pylist() == [3, 4, 3]
    # Nothing after the partial version, even what would fit (d: 1 byte): the rank order is kept.
    assert "d" * 40 not in plan.infohashes
    # Smaller than the first version: pieces of it only; smaller than a piece: nothing.
    assert rank.fill(ranked, 20_000).partial == ("a" * 40, 1) and rank.fill(ranked, 20_000).whole == []
    assert rank.fill(ranked, 16_000).infohashes == set()
    assert rank.fill(ranked, 10**12).whole == ["a" * 40, "b" * 40, "c" * 40, "d" * 40]
    assert "partial" not in "\n".join(rank.plan_lines(rank.fill(ranked, 10**12)))


@pytest.mark.parametrize("budget", [0, 10**9, 10**11, 10**13, 10**16])
def test_the_vectorised_plan_matches_the_row_by_row_reference(tmp_path, budget):
    catalog, health = node_reference.synthetic(20_000, seed=budget % 7)
    held = health["infohash"].to_pylist()[::97]
    pq.write_table(catalog, tmp_path / "stac.parquet", row_group_size=3000)
    pq.write_table(health, tmp_path / "health.parquet")
    kwargs = {"subjects": ["Subject-3", "subject-150"], "scopes": ["scope-7"]}
    c = rank.read_catalog(tmp_path / "stac.parquet", **kwargs)
    health_batches = rank.read_health(tmp_path / "health.parquet", batch_size=1500)
    ranking = rank.rank(c, health_batches, budget=budget, held_complete=held)
    plan = rank.fill(ranking.rows, budget)
    whole, partial = node_reference.plan(
        catalog.to_pylist(), health.to_pylist(), budget, held_complete=held, **kwargs
    )
    assert plan.whole == whole
    assert plan.partial == partial
    assert len(whole) > 0 or budget < 10**11


def test_reading_an_empty_catalog_plans_nothing(tmp_path):
    c, h = read(tmp_path, catalog_table([]), health_table([]))
    assert len(c) == 0
    assert rank.fill(ranked_rows(c, h), 10**9).infohashes == set()
    assert rank.fill(rank.rank(c, rank.read_health(tmp_path / "health.parquet")).rows, 10**9).whole == []


@pytest.mark.parametrize("budget", [None, 0, 10**10, 10**12])
def test_the_plan_is_the_same_whether_the_tables_are_read_in_one_batch_or_many_small_ones(
    tmp_path, monkeypatch, budget
):
    catalog, health = node_reference.synthetic(12_000, seed=5)
    pq.write_table(catalog, tmp_path / "stac.parquet", row_group_size=2000)
    pq.write_table(health, tmp_path / "health.parquet", row_group_size=1000)
    held = health["infohash"].to_pylist()[::53]
    kwargs = {"subjects": ["subject-3"], "scopes": ["scope-7"]}

    def ranking(catalog_rows: int, health_rows: int) -> rank.Ranking:
        monkeypatch.setattr(rank, "BATCH_ROWS", catalog_rows)
        c = rank.read_catalog(tmp_path / "stac.parquet", **kwargs)
        h = rank.read_health(tmp_path / "health.parquet", batch_size=health_rows)
        return rank.rank(c, h, budget=budget, held=held[:5] + ["f" * 40], held_complete=held)

    one = ranking(1 << 20, 1 << 20)
    for many in (ranking(97, 1 << 20), ranking(1 << 20, 61), ranking(333, 250)):
        assert many.rows.equals(one.rows)
        assert many.gone == one.gone == {"f" * 40}
    if budget is not None:  # the ranking kept is what the fill reads: the plan and at most one more row
        plan = rank.fill(one.rows, budget)
        assert one.rows.num_rows <= len(plan.whole) + 1
        whole, partial = node_reference.plan(
            catalog.to_pylist(), health.to_pylist(), budget, held_complete=held, **kwargs
        )
        assert (plan.whole, plan.partial) == (whole, partial)
    else:
        assert one.rows.num_rows == len(set(health["infohash"].to_pylist()) & set(_published(catalog)))


def _published(catalog: pa.Table) -> list[str]:
    return [r["quayside:infohash"] for r in catalog.to_pylist() if r["quayside:status"] == "published"]


def test_infohashes_match_in_any_case_and_exactly_even_when_they_share_their_first_bytes(tmp_path):
    same_start = "0123456789abcdef" * 2  # 32 digits: 16 bytes in common, the rest differs
    catalog = catalog_table(
        [
            {"id": "a", "infohash": same_start + "00000001"},
            {"id": "b", "infohash": (same_start + "00000002").upper()},
            {"id": "c", "infohash": same_start + "00000003", "status": "withdrawn"},
            {"id": "d", "infohash": "not an infohash"},
            {"id": "e", "infohash": "g" * 40},
        ]
    )
    health = health_table(
        [
            {"infohash": (same_start + "00000001").upper(), "copies": 2, "bytes": 10},
            {"infohash": same_start + "00000002", "copies": 1, "bytes": 10},
            {"infohash": same_start + "00000003", "copies": 1, "bytes": 10},
            {"infohash": same_start + "00000004", "copies": 1, "bytes": 10},
            {"infohash": "not an infohash", "copies": 1, "bytes": 10},
            {"infohash": "g" * 40, "copies": 1, "bytes": 10},
        ]
    )
    c, h = read(tmp_path, catalog, health)
    ranked = ranked_rows(c, h)
    assert ids(ranked) == ["b", "a"]
    assert ranked["infohash"].to_pylist() == [same_start + "00000002", same_start + "00000001"]
