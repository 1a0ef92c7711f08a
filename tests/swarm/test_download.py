"""Downloading another portal's torrent (apps.swarm.download): from its web seed with every piece checked,
never from an address the fetcher refuses, and never accepting bytes that do not match the pieces."""

from __future__ import annotations

import io
import ipaddress
import random

import pytest

from apps.submissions.fetch import _is_public
from apps.swarm import download
from apps.swarm.torrents import TorrentFile, make_torrent
from tests.support.mirror_server import RangeServer

FILES = {"a.csv": bytes(range(256)) * 300, "sub/b.txt": b"notes\n" * 5000}  # 76,800 and 30,000 bytes


def serve(root, files: dict[str, bytes]) -> None:
    """Lay out ``files`` as the web seed serves them (BEP 19: ``<base>/<name>/<path>``)."""
    for path, data in files.items():
        (root / "ds" / path).parent.mkdir(parents=True, exist_ok=True)
        (root / "ds" / path).write_bytes(data)


@pytest.fixture
def web_seed(tmp_path):
    serve(tmp_path / "seed", FILES)
    with RangeServer(tmp_path / "seed") as server:
        yield server


def torrent_of(base: str):
    files = [TorrentFile(path, len(data), lambda data=data: io.BytesIO(data)) for path, data in FILES.items()]
    return make_torrent("ds", files, web_seeds=[base + "/"])


def test_a_torrent_downloads_from_its_web_seed_with_every_piece_checked(settings, web_seed, tmp_path):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    made = torrent_of(web_seed.url)
    done = download.download(made.data, tmp_path, timeout=60, stall=20)
    assert done.infohash == made.infohash and done.name == "ds"
    assert sorted(done.files) == sorted((f"ds/{p}", len(d)) for p, d in FILES.items())
    for path, data in FILES.items():
        assert (tmp_path / "ds" / path).read_bytes() == data


def test_a_web_seed_on_a_private_address_is_never_contacted(settings, web_seed, tmp_path):
    settings.FETCH_ALLOWED_HOSTS = []  # 127.0.0.1 is loopback: refused like any private address
    made = torrent_of(web_seed.url)
    with pytest.raises(download.DownloadError, match=r"stalled at 0 of 106,800 bytes \(no data"):
        download.download(made.data, tmp_path, timeout=60, stall=3)
    assert not (tmp_path / "ds" / "a.csv").exists() or (tmp_path / "ds" / "a.csv").stat().st_size == 0


def test_bytes_that_do_not_match_the_pieces_are_never_accepted(settings, web_seed, tmp_path):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    serve(web_seed.root, {path: bytes(b ^ 0xFF for b in data) for path, data in FILES.items()})
    made = torrent_of(web_seed.url)
    with pytest.raises(download.DownloadError, match=r"stalled at [\d,]+ of 106,800 bytes .*peer banned"):
        download.download(made.data, tmp_path, timeout=60, stall=4)  # banned after its pieces failed


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<html>not a torrent</html>", "Not a torrent file"),
        (b"d4:infoi1ee", "Not a torrent file"),
        (b"x" * (download.MAX_TORRENT_BYTES + 1), "at most 16,777,216 are read"),
    ],
)
def test_what_is_not_a_torrent_is_refused_with_the_reason(data, message):
    with pytest.raises(download.DownloadError, match=message):
        download.parse(data)


def test_a_torrent_larger_than_the_fetch_limit_is_refused(settings):
    settings.FETCH_MAX_BYTES = 100_000
    with pytest.raises(download.DownloadError, match="106,800 bytes, more than FETCH_MAX_BYTES"):
        download.parse(torrent_of("http://example.org").data)


def test_the_ip_filter_refuses_what_the_fetcher_refuses(settings):
    """Address by address: the edges of every special-purpose range, then random addresses of both
    families. The filter blocks exactly those the fetcher's rule (``is_global``) refuses, and beyond them
    only IPv6 outside global unicast 2000::/3 (unallocated: ``is_global`` calls it global, nothing routes it)
    and the two anycast addresses of 192.0.0.0/24 that ``is_global`` spares."""
    settings.FETCH_ALLOWED_HOSTS = []
    f = download.ip_filter()
    rng = random.Random(20261203)
    samples = [ipaddress.ip_address(rng.getrandbits(32)) for _ in range(20000)]
    samples += [ipaddress.ip_address((0x2 << 125) | rng.getrandbits(125)) for _ in range(5000)]  # 2000::/3
    samples += [ipaddress.ip_address(rng.getrandbits(128)) for _ in range(2000)]
    for net in (*download._BLOCKED_V4, *download._BLOCKED_V6_IN_GLOBAL, "8.8.8.0/24", "2001:4860::/32"):
        n = ipaddress.ip_network(net)
        first, last = int(n.network_address), int(n.broadcast_address)
        samples += [n.network_address, n.broadcast_address]
        samples += [
            n.network_address.__class__(i) for i in (first - 1, last + 1) if 0 <= i < 2**n.max_prefixlen
        ]
    unicast, protocol = ipaddress.ip_network("2000::/3"), ipaddress.ip_network("192.0.0.0/24")
    leaks = [str(ip) for ip in samples if f.access(str(ip)) != download.BLOCKED and not _is_public(ip)]
    over = [
        str(ip)
        for ip in samples
        if f.access(str(ip)) == download.BLOCKED
        and _is_public(ip)
        and (ip in unicast if ip.version == 6 else ip not in protocol)
    ]
    assert not leaks and not over, (leaks[:20], over[:20])


def test_allowed_hosts_open_the_filter_for_them_only(settings):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1", "10.1.0.0/16"]
    f = download.ip_filter()
    assert f.access("127.0.0.1") == 0 and f.access("10.1.200.3") == 0
    assert f.access("127.0.0.2") == download.BLOCKED and f.access("10.2.0.1") == download.BLOCKED
