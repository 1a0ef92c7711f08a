"""The node's libtorrent session (quayside_node.session) with real sessions on 127.0.0.1 (DHT, LSD, UPnP,
NAT-PMP off) and a real HTTP web seed: no portal needed."""

from __future__ import annotations

import os
import time

import libtorrent as lt
import pytest
from quayside_node.session import NodeSession, spread

from tests.support.mirror_server import RangeServer

NAME = "edi.7.1"
PIECE = 16384
FILES = {"a.csv": os.urandom(70_000), "b/c.bin": os.urandom(5_000), "d.txt": os.urandom(90_000)}


@pytest.fixture
def web_seed(tmp_path):
    """The files served with Range at ``<url>/<NAME>/<path>`` (BEP 19), and a v1 torrent of them."""
    root = tmp_path / "served"
    for path, data in FILES.items():
        (root / NAME / path).parent.mkdir(parents=True, exist_ok=True)
        (root / NAME / path).write_bytes(data)
    with RangeServer(root) as server:
        entries = sorted(lt.list_files(str(root / NAME)), key=lambda e: e.filename)
        ct = lt.create_torrent(entries, PIECE, lt.create_torrent.v1_only)
        ct.set_creation_date(0)
        ct.add_url_seed(server.url + "/")
        lt.set_piece_hashes(ct, str(root))
        data = lt.bencode(ct.generate())
        infohash = str(lt.torrent_info(lt.bdecode(data)).info_hashes().v1)
        yield server, data, infohash


def client(*, listen: str = "127.0.0.1:0") -> lt.session:
    return lt.session(
        {
            "listen_interfaces": listen,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "allow_multiple_connections_per_ip": True,
        }
    )


def without_web_seeds(data: bytes) -> bytes:
    decoded = lt.bdecode(data)
    decoded.pop(b"url-list", None)
    return lt.bencode(decoded)


def assert_files(folder) -> None:
    for path, data in FILES.items():
        assert (folder / NAME / path).read_bytes() == data, path


def test_an_outbound_only_node_downloads_a_version_from_its_web_seed(tmp_path, web_seed):
    _server, data, infohash = web_seed
    node = NodeSession(tmp_path / "node")  # no listen interfaces: opens no socket
    assert node.port == 0
    node.add(infohash, data)
    assert node.wait_until_done({infohash}, 30)
    held = node.holdings()[infohash]
    assert held.complete and held.bytes_held == sum(len(d) for d in FILES.values())
    assert_files(tmp_path / "node" / "data" / infohash)
    assert (tmp_path / "node" / "torrents" / f"{infohash}.torrent").read_bytes() == data
    node.close()


def test_a_partial_holding_downloads_only_its_chosen_pieces(tmp_path, web_seed):
    _server, data, infohash = web_seed
    total = lt.torrent_info(lt.bdecode(data)).num_pieces()  # 10: a 70,000 + 5,000 + 90,000 byte tree
    node = NodeSession(tmp_path / "node", salt="node-1")
    pieces = node.choose_pieces(infohash, 3, total)  # not held yet, no peers: spread
    assert pieces == spread(total, 3, "node-1" + infohash) and len(pieces) == 3
    node.add(infohash, data, pieces=pieces)
    assert node.wait_until_done({infohash}, 30)
    time.sleep(0.5)  # a piece fetched beyond the wanted ones would show now
    held = node.holdings()[infohash]
    assert (held.pieces_held, held.pieces_total, held.complete) == (3, total, False)
    status = node.handles[infohash].status(lt.status_flags_t.query_pieces)
    assert [i for i, have in enumerate(status.pieces) if have] == pieces
    # Held pieces are kept when the choice is made again.
    assert node.choose_pieces(infohash, 3, total) == pieces
    assert set(pieces) <= set(node.choose_pieces(infohash, 5, total))
    node.want(infohash, None)  # the whole version after all
    assert node.wait_until_done({infohash}, 30) and node.holdings()[infohash].complete
    assert_files(tmp_path / "node" / "data" / infohash)
    node.close()


def test_an_outbound_only_node_seeds_to_a_peer_it_connects_to_without_the_web_seed(tmp_path, web_seed):
    _server, data, infohash = web_seed
    node = NodeSession(tmp_path / "node")
    node.add(infohash, data)
    assert node.wait_until_done({infohash}, 30)
    peer = client()
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(lt.bdecode(without_web_seeds(data)))
    params.save_path = str(tmp_path / "peer")
    handle = peer.add_torrent(params)
    deadline = time.monotonic() + 30
    while not handle.status().is_seeding:
        assert time.monotonic() < deadline, f"stalled at {handle.status().progress:.0%}"
        node.handles[infohash].connect_peer(("127.0.0.1", peer.listen_port()))  # out, over TCP
        peer.wait_for_alert(500)
        peer.pop_alerts()
        node.pump(0)
    assert_files(tmp_path / "peer")
    while node.holdings()[infohash].uploaded == 0:  # libtorrent updates the totals once a second
        assert time.monotonic() < deadline
        node.pump(0.2)
    node.close()


def test_rarest_pieces_first_when_peers_are_known(tmp_path, web_seed):
    _server, data, infohash = web_seed
    total = lt.torrent_info(lt.bdecode(data)).num_pieces()
    # Another node holding pieces 0-5 (downloaded from the web seed).
    other = NodeSession(tmp_path / "other", listen="127.0.0.1:0", dht=False)
    other.add(infohash, data, pieces=list(range(6)))
    assert other.wait_until_done({infohash}, 30)
    deadline = time.monotonic() + 30
    node = NodeSession(tmp_path / "node", listen="127.0.0.1:0", dht=False)
    node.add(infohash, without_web_seeds(data), pieces=[])  # known to the session, nothing wanted yet
    handle = node.handles[infohash]
    while handle.status().num_peers == 0 or sum(handle.piece_availability()) < 6:
        assert time.monotonic() < deadline, "the node never saw the peer's pieces"
        handle.connect_peer(("127.0.0.1", other.port))
        node.pump(0.2)
        other.pump(0)
    assert list(handle.piece_availability()) == [1] * 6 + [0] * (total - 6)
    chosen = node.choose_pieces(infohash, 3, total)
    assert len(chosen) == 3 and all(p >= 6 for p in chosen)  # none of those the other node has
    node.close()
    other.close()


def test_dropping_deletes_the_files_and_a_restart_keeps_what_is_held(tmp_path, web_seed):
    server, data, infohash = web_seed
    folder = tmp_path / "node"
    node = NodeSession(folder)
    node.add(infohash, data)
    assert node.wait_until_done({infohash}, 30)
    node.close()  # saves resume data
    assert (folder / "resume" / f"{infohash}.resume").exists()
    server.httpd.shutdown()  # no web seed: whatever is held after the restart was on disk

    again = NodeSession(folder)
    assert again.load() == 1
    assert again.wait_until_done({infohash}, 10) and again.holdings()[infohash].complete
    again.drop(infohash)
    assert not (folder / "data" / infohash).exists()
    assert not (folder / "torrents" / f"{infohash}.torrent").exists()
    assert not (folder / "resume" / f"{infohash}.resume").exists()
    assert again.holdings() == {}
    again.close()


def test_spread_pieces_are_even_and_differ_between_nodes():
    a, b = spread(1000, 10, "node-a"), spread(1000, 10, "node-b")
    assert len(a) == len(b) == 10 and a != b
    assert all(95 <= y - x <= 105 for x, y in zip(a, a[1:], strict=False))
    assert spread(5, 10, "x") == [0, 1, 2, 3, 4]
