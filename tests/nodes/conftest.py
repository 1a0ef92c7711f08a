"""Fixtures for smart nodes: their own folders per test, versions with built torrents, node tokens."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from rest_framework.test import APIClient

from apps.nodes import services
from apps.packages.models import Revision
from apps.storage.services import store_bytes
from apps.swarm.models import Torrent
from tests import factories

_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def nodes_settings(settings, tmp_path):
    settings.NODES_DIR = tmp_path / "nodes"
    settings.CATALOG_DIR = tmp_path / "catalog"
    settings.SWARM_SEED_DIR = tmp_path / "seed"
    settings.SWARM_DHT = False
    return settings


def torrent_of(
    state: str = "published", *, size: int = 1_000_000, piece_size: int = 65536, **kwargs
) -> Torrent:
    """A version in ``state`` with a built torrent row (its .torrent bytes are a stand-in: the tests that
    need a real torrent build one with tests.swarm.conftest). Published through the real path first, then
    moved to ``state``, as a withdrawn or tainted version was published once."""
    revision = factories.make_revision("published", **kwargs)
    n = next(_serial)
    torrent, _ = Torrent.objects.update_or_create(
        revision=revision,
        defaults={
            "state": Torrent.State.BUILT,
            "infohash": hashlib.sha1(f"torrent {n}".encode()).hexdigest(),
            "blob": store_bytes(f"d4:infod4:name{len(str(n))}:{n}ee".encode()),
            "total_size": size,
            "piece_size": piece_size,
            "file_count": 1,
        },
    )
    if state != "published":
        Revision.objects.filter(pk=revision.pk).update(state=state)
        revision.refresh_from_db()
    return torrent


@pytest.fixture
def node_and_key(node_operator):
    return services.issue_node(node_operator, "Node one")


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def node_client(node_and_key) -> APIClient:
    return bearer(node_and_key[1])


def holding(torrent_or_infohash, held: int = 16, total: int = 16, size: int = 1_000_000) -> dict:
    infohash = getattr(torrent_or_infohash, "infohash", torrent_or_infohash)
    return {"infohash": infohash, "pieces_held": held, "pieces_total": total, "bytes_held": size}
