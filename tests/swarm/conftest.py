"""Fixtures for torrents: versions with a few files spanning several pieces, isolated libtorrent sessions
(127.0.0.1 only; DHT, LSD, UPnP and NAT-PMP off), a download helper, a real tracker on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import libtorrent as lt
import pytest

from apps.publishing import services as publishing
from tests import factories

# Three files over several 16 KiB pieces, a piece shared by two files, and a short last piece.
FILE_BYTES = {
    "b-ctd.csv": bytes(range(256)) * 150,  # 38,400 bytes
    "a-temp.csv": b"time,temp\n" + b"2024-03-01T00:00Z,4.5\n" * 1500,
    "c-notes.txt": b"Some notes.\n" * 7,
}


@pytest.fixture(autouse=True)
def swarm_settings(settings, tmp_path):
    settings.SWARM_DHT = False
    settings.SWARM_LISTEN_INTERFACES = "127.0.0.1:0"
    settings.SWARM_SEED_DIR = tmp_path / "seed"
    settings.CATALOG_DIR = tmp_path / "catalog"
    return settings


def make_version(state: str = "published", **kwargs):
    """A version of the files in FILE_BYTES (published through the real publishing path)."""
    revision = factories.make_revision("archived", files=0, **kwargs)
    for i, (name, data) in enumerate(FILE_BYTES.items()):
        factories.EntityFactory(
            revision=revision, entity_id=f"e{i}", object_name=name, name=name, blob__data=data
        )
    if state == "published":
        publishing.on_archived(revision)
    elif state == "held":
        from apps.packages.models import Revision

        revision.state = Revision.State.HELD
        revision.save(update_fields=["state"])
    revision.refresh_from_db()
    return revision


def build(revision):
    """Build the version's torrent the way the worker does (the task, run here)."""
    from apps.artifacts.models import RevisionBuild
    from apps.artifacts.tasks import build_artifacts
    from apps.swarm import tasks
    from apps.swarm.models import Torrent

    # The release queued both builds; the torrent waits for the derived files it holds.
    for pk in RevisionBuild.objects.filter(revision=revision).values_list("pk", flat=True):
        build_artifacts.apply(args=[pk]).get()
    torrent = Torrent.objects.get(revision=revision)
    tasks.build_torrent_task.apply(args=[torrent.pk]).get()
    torrent.refresh_from_db()
    return torrent


def torrent_bytes(torrent) -> bytes:
    from apps.storage.services import open_blob

    with open_blob(torrent.blob) as fh:
        return fh.read()


def without_web_seeds(data: bytes) -> bytes:
    """The same torrent (same infohash: ``url-list`` is outside the info dictionary) with no web seed."""
    decoded = lt.bdecode(data)
    decoded.pop(b"url-list", None)
    return lt.bencode(decoded)


def client_session() -> lt.session:
    return lt.session(
        {
            "listen_interfaces": "127.0.0.1:0",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "allow_multiple_connections_per_ip": True,
            "user_agent": "quayside-test-client",
        }
    )


def download(data: bytes, dest: Path, *, peer: tuple[str, int] | None = None, timeout: float = 60) -> None:
    """Download the torrent ``data`` into ``dest`` with a fresh libtorrent session (from its web seeds, or
    from ``peer``); fails the test if it does not finish in ``timeout`` seconds."""
    session = client_session()
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(lt.bdecode(data))
    params.save_path = str(dest)
    handle = session.add_torrent(params)
    deadline = time.monotonic() + timeout
    connected = 0.0
    while not handle.status().is_seeding:
        if peer and time.monotonic() - connected > 2:
            handle.connect_peer(peer)
            connected = time.monotonic()
        if time.monotonic() > deadline:
            s = handle.status()
            raise AssertionError(f"download stalled at {s.progress:.0%} ({s.state}): {s.errc.message()}")
        session.wait_for_alert(100)
        session.pop_alerts()
    session.remove_torrent(handle)


def assert_same_files(folder: Path, name: str) -> None:
    for path, data in FILE_BYTES.items():
        assert (folder / name / path).read_bytes() == data, path


class Tracker:
    """Debian's ``opentracker`` on 127.0.0.1 (HTTP only): a real BitTorrent tracker. Debian builds it in
    whitelist mode, so the torrents it tracks are listed before it starts (``start``). Run as root it
    chroots into its folder and drops to ``nobody``, hence the folder's mode."""

    def __init__(self, folder: Path):
        from tests.support.ports import free_port

        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/announce"  # libtorrent announces to loopback only at /announce

    def start(self, *infohashes: str) -> None:
        from tests.support.ports import wait_for_port

        self.folder.mkdir(mode=0o755)
        self.folder.chmod(0o755)  # whatever the umask: ``nobody`` reads the whitelist inside the chroot
        (self.folder / "whitelist.txt").write_text("".join(f"{ih}\n" for ih in infohashes))
        self.process = subprocess.Popen(
            ["opentracker", "-i", "127.0.0.1", "-p", str(self.port), "-d", str(self.folder),
             "-w", "whitelist.txt"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, timeout=10, proc=self.process)

    def announce(self, infohash: str, *, left: int, event: str = "") -> dict:
        """Announce a pretend peer of the swarm (BEP 3: a GET with the info hash's 20 raw bytes); its port
        is one nothing listens on, so the seeder's attempts to reach it fail at once."""
        from tests.support.ports import free_port

        query = {
            "info_hash": bytes.fromhex(infohash),
            "peer_id": os.urandom(20),
            "port": free_port(),
            "uploaded": 0,
            "downloaded": 0,
            "left": left,
            "compact": 1,
        }
        if event:
            query["event"] = event
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never an http_proxy
        with direct.open(f"{self.url}?{urllib.parse.urlencode(query)}", timeout=5) as response:
            reply = lt.bdecode(response.read())
        assert b"failure reason" not in reply, reply
        return reply

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def tracker(tmp_path):
    from tests.conftest import require_system

    require_system("opentracker", shutil.which("opentracker") is not None, "apt-get install opentracker")
    tracker = Tracker(tmp_path / "tracker")
    yield tracker
    tracker.stop()
