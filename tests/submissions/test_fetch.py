"""The fetcher against a real HTTP server on 127.0.0.1: caps, retries, redirects, address checks."""

from __future__ import annotations

import hashlib

import pytest

from apps.submissions.fetch import FetchError, fetch, resolve_checked


def test_it_streams_a_file_and_computes_its_md5(data_server, allow_loopback, tmp_path):
    payload = b"a,b\n1,2\n" * 10_000
    (data_server.root / "t.csv").write_bytes(payload)
    got = fetch(f"{data_server.url}/t.csv", tmp_path / "out")
    assert got.size == len(payload) and got.md5 == hashlib.md5(payload).hexdigest()
    assert (tmp_path / "out").read_bytes() == payload


def test_it_stops_at_the_size_cap(data_server, allow_loopback, settings, tmp_path):
    settings.FETCH_MAX_BYTES = 1000
    (data_server.root / "big.csv").write_bytes(b"x" * 5000)
    with pytest.raises(FetchError, match="limit of 1,000 bytes"):
        fetch(f"{data_server.url}/big.csv", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.part").exists()


def test_it_retries_temporary_server_errors(data_server, allow_loopback, tmp_path):
    calls = []

    def flaky(handler):
        calls.append(1)
        return (503, {}, b"busy") if len(calls) < 2 else (200, {}, b"ok\n")

    data_server.routes["/flaky.csv"] = flaky
    assert fetch(f"{data_server.url}/flaky.csv", tmp_path / "out").size == 3
    assert len(calls) == 2


def test_it_follows_redirects_and_checks_each_hop(data_server, allow_loopback, tmp_path):
    (data_server.root / "t.csv").write_bytes(b"ok\n")
    data_server.routes["/old.csv"] = (301, {"Location": "/t.csv"}, b"")
    got = fetch(f"{data_server.url}/old.csv", tmp_path / "out")
    assert got.url.endswith("/t.csv") and got.size == 3


def test_private_addresses_are_refused_unless_allowed(settings):
    settings.FETCH_ALLOWED_HOSTS = []
    for host in (
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "0.0.0.0",
    ):
        with pytest.raises(FetchError, match="private, loopback"):
            resolve_checked(host, 80)
    assert resolve_checked("8.8.8.8", 80) == "8.8.8.8"  # a public address passes (no connection is made)
    settings.FETCH_ALLOWED_HOSTS = ["10.0.0.0/8", "localhost"]
    assert resolve_checked("10.1.2.3", 80) == "10.1.2.3"
    assert resolve_checked("localhost", 80) in ("127.0.0.1", "::1")
    with pytest.raises(FetchError):
        resolve_checked("192.168.1.1", 80)


@pytest.mark.parametrize(
    "host",
    [
        "100.100.100.200",  # cloud metadata in carrier-grade NAT space (100.64.0.0/10)
        "100.64.0.1",
        "192.88.99.1",  # 6to4 relay anycast
        "198.18.0.1",  # benchmarking
        "192.0.0.170",
        "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
        "::ffff:10.0.0.1",  # IPv4-mapped private
    ],
)
def test_special_purpose_addresses_are_refused_too(settings, host):
    settings.FETCH_ALLOWED_HOSTS = []
    with pytest.raises(FetchError, match="private, loopback"):
        resolve_checked(host, 80)


def test_only_http_and_https_are_fetched(tmp_path):
    for url in ("ftp://example.org/x.csv", "file:///etc/passwd", "gopher://x/"):
        with pytest.raises(FetchError, match="only http and https"):
            fetch(url, tmp_path / "out")


def test_it_connects_to_the_address_it_checked_not_a_second_dns_answer(
    data_server, allow_loopback, tmp_path, monkeypatch
):
    """DNS rebinding: a name that answers 127.0.0.1 (allowed here) and then 10.0.0.1 must not reach 10.0.0.1.
    The resolver is the only stand-in; the HTTP exchange is real, on 127.0.0.1."""
    import socket

    (data_server.root / "t.csv").write_bytes(b"ok\n")
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    calls = []

    def rebinding(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    got = fetch(f"http://rebind.example:{data_server.port}/t.csv", tmp_path / "out")
    assert got.size == 3 and calls == ["rebind.example"]  # resolved once, connected to that answer
