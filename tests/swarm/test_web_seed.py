"""A torrent downloads completely from Quayside's web seed alone (no peer online), with libtorrent and with
two independent clients from Debian (aria2c, transmission-cli); the bytes match the archive."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.conftest import require_system

from .conftest import FILE_BYTES, assert_same_files, build, download, make_version, torrent_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_three_clients_download_from_the_web_seed_alone(live_server, settings, tmp_path):
    """One version, one live server (its database flush is the slow part), three clients in turn."""
    served = served_torrent(live_server, settings, tmp_path)
    libtorrent_downloads(served, tmp_path)
    aria2c_downloads(served, tmp_path)
    transmission_downloads(served, tmp_path)


def served_torrent(live_server, settings, tmp_path):
    """(torrent file, tree name): a published version's torrent whose only source is the live server."""
    settings.SITE_BASE_URL = live_server.url
    revision = make_version()
    torrent = build(revision)
    path = tmp_path / "version.torrent"
    path.write_bytes(torrent_bytes(torrent))
    return path, f"edi.{revision.package.identifier}.1"


def libtorrent_downloads(served_torrent, tmp_path):
    path, name = served_torrent
    download(path.read_bytes(), tmp_path / "lt")
    assert_same_files(tmp_path / "lt", name)


def aria2c_downloads(served_torrent, tmp_path):
    require_system("aria2c", shutil.which("aria2c") is not None, "apt-get install aria2")
    from tests.support.ports import free_port

    path, name = served_torrent
    dest = tmp_path / "aria2"
    subprocess.run(
        ["aria2c", "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
         "--enable-peer-exchange=false", "--seed-time=0", f"--listen-port={free_port()}", "--quiet=true",
         "--bt-tracker-connect-timeout=1", "-d", str(dest), str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    assert_same_files(dest, name)


def transmission_downloads(served_torrent, tmp_path):
    require_system("transmission-cli", shutil.which("transmission-cli") is not None,
                   "apt-get install transmission-cli")  # fmt: skip
    from tests.support.ports import free_port

    path, name = served_torrent
    dest = tmp_path / "transmission"
    dest.mkdir()
    home = tmp_path / "transmission-home"
    process = subprocess.Popen(
        ["transmission-cli", "-w", str(dest), "-p", str(free_port()), "-er", "-g", str(home), str(path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        # It does not exit by itself: done when every file has its bytes (it writes them in place).
        while not all(
            (dest / name / p).exists() and (dest / name / p).read_bytes() == data
            for p, data in FILE_BYTES.items()
        ):
            assert process.poll() is None, "transmission-cli exited early"
            assert time.monotonic() < deadline, "transmission-cli did not finish from the web seed"
            time.sleep(0.5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert_same_files(dest, name)
