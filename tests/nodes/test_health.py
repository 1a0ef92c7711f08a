"""The health file: one rule for healthy copies, rows of published versions' torrents, built batch by batch
in few queries, written atomically and served like /catalog/stac.parquet (ETag, Last-Modified, Range)."""

from __future__ import annotations

import datetime

import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from apps.catalog.models import Mirror
from apps.nodes import health, services
from apps.nodes.models import Node
from apps.swarm.models import SwarmHealth

from .conftest import torrent_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("seeds", "nodes", "mirrors", "copies"),
    [
        (0, 0, 0, 1),  # the portal's own copy, even when its seeder has not reported
        (1, 0, 0, 1),  # the seeder is that copy
        (1, 2, 0, 3),
        (5, 2, 0, 5),  # the nodes are among the seeds the seeder sees: not counted twice
        (1, 0, 2, 3),  # verified mirrors are copies of their own
        (4, 4, 1, 6),
    ],
)
def test_healthy_copies_is_one_rule(seeds, nodes, mirrors, copies):
    assert health.healthy_copies(seeds, nodes, mirrors) == copies


def _node(operator, name: str, *, seen_ago: float = 0, revoked: bool = False) -> Node:
    node, _ = services.issue_node(operator, name)
    node.last_seen_at = timezone.now() - datetime.timedelta(seconds=seen_ago)
    node.revoked_at = timezone.now() if revoked else None
    node.save(update_fields=["last_seen_at", "revoked_at"])
    return node


def _hold(node, torrent, *, complete: bool = True):
    from apps.nodes.models import NodeHolding

    NodeHolding.objects.create(
        node=node, torrent=torrent, pieces_held=16 if complete else 3, pieces_total=16, complete=complete
    )


def rows_by_infohash(path=None) -> dict[str, dict]:
    table = pq.read_table(path or health.health_path())
    return {row["infohash"]: row for row in table.to_pylist()}


def test_the_file_has_a_row_per_public_torrent_with_its_copies(node_operator, settings):
    settings.NODES_STALE_SECONDS = 600
    lonely = torrent_of(size=1_000_000, piece_size=65536)
    popular = torrent_of(size=10, piece_size=16384)
    withdrawn = torrent_of("withdrawn")
    torrent_of("held")
    SwarmHealth.objects.create(torrent=popular, source="session", seeds=2, peers=1)
    SwarmHealth.objects.create(torrent=popular, source="tracker", seeds=3)
    Mirror.objects.create(
        revision=popular.revision, kind="bucket", base_url="https://m.example/a/", health="ok"
    )
    Mirror.objects.create(
        revision=popular.revision, kind="bucket", base_url="https://m.example/b/"
    )  # unverified
    fresh, other = _node(node_operator, "fresh"), _node(node_operator, "other")
    stale = _node(node_operator, "stale", seen_ago=601)
    revoked = _node(node_operator, "revoked", revoked=True)
    for node in (fresh, other, stale, revoked):
        _hold(node, popular)
    _hold(fresh, lonely, complete=False)
    _hold(fresh, withdrawn)

    written = health.write_health()
    assert written.rows == 2
    rows = rows_by_infohash()
    assert set(rows) == {lonely.infohash, popular.infohash}  # withdrawn, held: no rows
    assert rows[popular.infohash] | {"updated": None} == {
        "infohash": popular.infohash,
        "seeds": 3,  # the most any source saw
        "mirrors": 1,
        "nodes": 2,  # fresh and other; not the stale or the revoked one
        "partial_nodes": 0,
        "copies": 4,  # max(3, 1 + 2) + 1
        "bytes": 10,
        "pieces": 1,
        "piece_size": 16384,
        "updated": None,
    }
    assert rows[lonely.infohash]["copies"] == 1 and rows[lonely.infohash]["partial_nodes"] == 1
    assert rows[lonely.infohash]["pieces"] == 16  # ceil(1,000,000 / 65,536)
    assert rows[lonely.infohash]["updated"].tzinfo is not None
    schema = pq.read_schema(health.health_path())
    assert str(schema.field("seeds").type) == "int32" and str(schema.field("bytes").type) == "int64"
    assert pq.ParquetFile(health.health_path()).metadata.row_group(0).column(0).compression == "ZSTD"


def test_the_build_goes_batch_by_batch_in_a_few_queries_each(django_assert_max_num_queries):
    torrents = [torrent_of() for _ in range(7)]
    # 3 batches of ≤ 3 torrents, 4 queries each, and the empty look-up that ends it.
    with django_assert_max_num_queries(13):
        written = health.write_health(batch_size=3)
    assert written.rows == 7
    assert set(rows_by_infohash()) == {t.infohash for t in torrents}
    assert pq.ParquetFile(health.health_path()).num_row_groups == 3


def test_a_failed_write_leaves_the_old_file_whole(monkeypatch):
    torrent_of()
    health.write_health()
    before = health.health_path().read_bytes()

    def broken(batch_size, **kwargs):
        yield from []
        raise RuntimeError("database went away")

    monkeypatch.setattr(health, "iter_batches", broken)
    with pytest.raises(RuntimeError):
        health.write_health()
    assert health.health_path().read_bytes() == before
    assert [p.name for p in health.health_path().parent.iterdir()] == ["health.parquet"]  # no temporary left


def test_the_beat_task_writes_it(settings):
    from apps.nodes.tasks import write_health

    assert settings.CELERY_BEAT_SCHEDULE["nodes-write-health"]["task"] == "apps.nodes.tasks.write_health"
    torrent_of()
    assert write_health.apply().get().startswith("1 rows")
    assert health.health_path().exists()
    assert sorted(p.name for p in health.health_path().parent.iterdir()) == [".health.lock", "health.parquet"]


def test_a_build_under_way_makes_the_next_run_wait_its_turn():
    import fcntl

    from apps.nodes.tasks import write_health

    health.health_path().parent.mkdir(parents=True)
    with open(health.health_path().parent / ".health.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another worker process building (flock: per open file)
        assert write_health.apply().get().startswith("busy")
        assert not health.health_path().exists()
    assert write_health.apply().get().startswith("0 rows")


# --- served ------------------------------------------------------------------------------------------


def test_it_is_served_with_etag_last_modified_and_range(client):
    missing = client.get("/swarm/health.parquet")
    assert missing.status_code == 503 and missing["Retry-After"] == "60"
    torrent_of()
    health.write_health()
    data = health.health_path().read_bytes()
    response = client.get("/swarm/health.parquet")
    assert response.status_code == 200 and b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    assert response["Accept-Ranges"] == "bytes" and response["Last-Modified"]
    etag = response["ETag"]
    assert client.get("/swarm/health.parquet", HTTP_IF_NONE_MATCH=etag).status_code == 304
    # The footer, as a node reads it: the last 8 bytes (footer length + "PAR1").
    tail = client.get("/swarm/health.parquet", HTTP_RANGE="bytes=-8")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == data[-8:]
    assert tail["Content-Range"] == f"bytes {len(data) - 8}-{len(data) - 1}/{len(data)}"
    head = client.head("/swarm/health.parquet")
    assert head.status_code == 200 and int(head["Content-Length"]) == len(data)
    # A new file is a new ETag: the old one no longer gets 304.
    torrent_of()
    health.write_health()
    assert client.get("/swarm/health.parquet", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_download_in_progress_keeps_reading_the_file_it_opened(client):
    torrent_of()
    health.write_health()
    first = health.health_path().read_bytes()
    response = client.get("/swarm/health.parquet")
    for _ in range(3):
        torrent_of()
    health.write_health()  # renamed over the served file while the response is open
    assert b"".join(response.streaming_content) == first
    assert health.health_path().read_bytes() != first
