"""The smart node's ranking rule written again, row by row in plain Python (dicts, sorted, a loop): the
oracle ``tests/nodes/test_client_rank.py`` checks ``quayside_node.rank`` against, and the peer
``bench/bench_node_rank.py`` measures it against. Deliberately the obvious code, not a copy of the
vectorised one."""

from __future__ import annotations

from collections.abc import Iterable


def plan(
    catalog_rows: Iterable[dict],
    health_rows: Iterable[dict],
    budget: int,
    *,
    subjects: Iterable[str] = (),
    scopes: Iterable[str] = (),
    held_complete: Iterable[str] = (),
    favour: float = 2.0,
) -> tuple[list[str], tuple[str, int] | None]:
    """(whole infohashes in rank order, (infohash, pieces) or None) — docs/node.md, "Ranking"."""
    subjects = {s.lower() for s in subjects}
    scopes = set(scopes)
    held = set(held_complete)
    health = {row["infohash"].lower(): row for row in health_rows}
    candidates = []
    for row in catalog_rows:
        infohash = row["quayside:infohash"]
        if not infohash or row["quayside:status"] != "published":
            continue
        infohash = infohash.lower()
        h = health.get(infohash)
        if h is None:
            continue
        favoured = row["collection"] in scopes or any(k.lower() in subjects for k in row["keywords"] or [])
        copies = max(h["copies"] - (1 if infohash in held else 0), 1)
        key = copies / (favour if favoured else 1.0)
        candidates.append((key, h["bytes"], infohash, h["piece_size"]))
    candidates.sort()
    whole, used = [], 0
    for _key, size, infohash, piece_size in candidates:
        if used + size <= budget:
            whole.append(infohash)
            used += size
            continue
        pieces = (budget - used) // piece_size if piece_size else 0
        return whole, ((infohash, pieces) if pieces > 0 else None)
    return whole, None


def synthetic(n: int, *, seed: int = 1):
    """A catalog and a swarm health table of ``n`` versions shaped like the portal's (pyarrow tables):
    ~96 % published, 2 % withdrawn, 2 % tainted, 1 % without a torrent yet, 1 % of torrents missing from
    health; 50 collections, keywords from 200, copies 1–6 (a tenth at 1), sizes from KB to tens of GB; a
    ``description`` column (120 random hex digits a row) that the node must not read: a real catalog's
    titles, abstracts, links and assets are most of its bytes."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    raw = rng.bytes(20 * n)
    infohash = [raw[i : i + 20].hex() for i in range(0, 20 * n, 20)]
    noise = rng.bytes(60 * n)
    status = rng.choice(["published", "withdrawn", "tainted"], size=n, p=[0.96, 0.02, 0.02])
    has_torrent = rng.random(n) > 0.01
    words = [f"subject-{i}" for i in range(200)]
    counts = rng.integers(0, 5, size=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    keyword_values = pa.array(np.array(words)[rng.integers(0, 200, size=int(offsets[-1]))])
    if isinstance(keyword_values, pa.ChunkedArray):  # large inputs come back in chunks
        keyword_values = keyword_values.combine_chunks()
    catalog = pa.table(
        {
            "id": pa.array([f"edi.{i}.1" for i in range(n)]),
            "collection": pa.array(np.array([f"scope-{i}" for i in range(50)])[rng.integers(0, 50, size=n)]),
            "keywords": pa.ListArray.from_arrays(pa.array(offsets), keyword_values),
            # Titles, abstracts, links, assets: most of a real catalog's bytes; incompressible here.
            "description": pa.array(
                [f"An abstract: {noise[i : i + 60].hex()}" for i in range(0, 60 * n, 60)]
            ),
            "quayside:status": pa.array(status),
            "quayside:infohash": pa.array(
                [ih if t else None for ih, t in zip(infohash, has_torrent, strict=True)]
            ),
        }
    )
    in_health = has_torrent & (status == "published") & (rng.random(n) > 0.01)
    idx = np.flatnonzero(in_health)
    size = np.exp(rng.uniform(np.log(1e4), np.log(5e10), size=len(idx))).astype(np.int64)
    piece_size = np.maximum(16384, 2 ** np.ceil(np.log2(np.maximum(size / 1500, 1)))).astype(np.int64)
    piece_size = np.minimum(piece_size, 16 << 20)
    copies = rng.choice([1, 2, 3, 4, 5, 6], size=len(idx), p=[0.1, 0.3, 0.25, 0.15, 0.1, 0.1])
    health = pa.table(
        {
            "infohash": pa.array([infohash[i] for i in idx]),
            "seeds": pa.array(copies, pa.int32()),
            "mirrors": pa.array(np.zeros(len(idx)), pa.int32()),
            "nodes": pa.array(np.zeros(len(idx)), pa.int32()),
            "partial_nodes": pa.array(np.zeros(len(idx)), pa.int32()),
            "copies": pa.array(copies, pa.int32()),
            "bytes": pa.array(size, pa.int64()),
            "pieces": pa.array(-(-size // piece_size), pa.int32()),
            "piece_size": pa.array(piece_size, pa.int32()),
        }
    )
    return catalog, health
