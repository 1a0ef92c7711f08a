"""Mirroring a remote record by its home's torrent: the landing page names the torrent
(``<link rel="alternate" type="application/x-bittorrent">``) and the files (schema.org JSON-LD with
SHA-256); the mirror downloads the torrent from its web seed, then checks that every file the home lists
is in it with that size and digest. A torrent of other bytes, or one that lacks a listed file, fails the
mirror and keeps nothing; a good one is handed to the seeder. A torrent that cannot be had (not a torrent,
no web seed answers) gives way to HTTP, file by file, with the reason kept on the mirror."""

from __future__ import annotations

import hashlib
import io
import json

import pytest

from apps.audit.models import AuditEvent
from apps.federation import services
from apps.federation.models import HarvestSource, LocalMirror, RemoteRecord
from apps.storage.models import Blob
from apps.swarm.seeder import Seeder
from apps.swarm.torrents import TorrentFile, make_torrent
from tests.support.mirror_server import RangeServer

pytestmark = pytest.mark.django_db

FILES = {"counts.csv": b"station,count\n" + b"S1,12\n" * 4000, "README.txt": b"Net tows.\n" * 900}


def put(server, path: str, data: bytes) -> None:
    """Serve ``data`` at ``path`` on the home's server (a folder behind ``RangeServer``)."""
    target = server.root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


@pytest.fixture
def home(settings, tmp_path):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SWARM_SEED_DIR = tmp_path / "seed"
    with RangeServer(tmp_path / "home") as server:
        for p, d in FILES.items():
            put(server, f"/files/ds/{p}", d)
        yield server


def publish_home(
    server, *, listed: dict[str, bytes], torrent_files: dict[str, bytes], web_seed: str = "/files/"
) -> RemoteRecord:
    """The home's landing page lists ``listed`` and links a torrent of ``torrent_files`` (web seed: the
    server's ``web_seed`` folder)."""
    made = make_torrent(
        "ds",
        [TorrentFile(p, len(d), lambda d=d: io.BytesIO(d)) for p, d in torrent_files.items()],
        web_seeds=[f"{server.url}{web_seed}"],
    )
    put(server, "/ds.torrent", made.data)
    distribution = [
        {
            "@type": "DataDownload",
            "name": name,
            "contentUrl": f"/files/ds/{name}",
            "contentSize": f"{len(data)} B",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for name, data in listed.items()
    ]
    page = (
        '<html><head><link rel="alternate" type="application/x-bittorrent" href="/ds.torrent">'
        '<script type="application/ld+json">'
        + json.dumps({"@type": "Dataset", "distribution": distribution})
        + "</script></head><body>A dataset</body></html>"
    )
    put(server, "/landing", page.encode())
    source = HarvestSource.objects.create(base_url="https://oai.example.org/oai", name="Home")
    return RemoteRecord.objects.create(
        source=source, identifier="oai:home:1", datestamp="2026-01-01", home_url=f"{server.url}/landing"
    )


def test_a_mirror_comes_by_the_homes_torrent_and_is_handed_to_the_seeder(home, tmp_path):
    record = publish_home(home, listed=FILES, torrent_files=FILES)
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.DONE, mirror.error
    assert mirror.via == "torrent" and mirror.torrent_url == f"{home.url}/ds.torrent"
    files = {f.name: f for f in mirror.files.select_related("blob")}
    assert set(files) == {"ds/counts.csv", "ds/README.txt"}
    for name, data in FILES.items():
        f = files[f"ds/{name}"]
        assert f.blob.sha256 == hashlib.sha256(data).hexdigest()
        assert f.checked == "torrent pieces, size, sha256"
    (seedable,) = list(services.seedables())
    assert seedable.infohash == mirror.infohash and sorted(p for p, _b in seedable.files) == sorted(files)
    seeder = Seeder(tmp_path / "seed", listen="127.0.0.1:0", dht=False)
    assert seeder.sync() == (1, 0)
    assert (tmp_path / "seed" / "data" / mirror.infohash / "ds" / "counts.csv").read_bytes() == FILES[
        "counts.csv"
    ]


def test_a_torrent_of_other_bytes_fails_the_mirror_and_keeps_nothing(home):
    other = {**FILES, "counts.csv": FILES["counts.csv"].replace(b"12", b"13")}
    put(home, "/files/ds/counts.csv", other["counts.csv"])  # the web seed serves what its torrent says
    record = publish_home(home, listed=FILES, torrent_files=other)
    blobs = Blob.objects.count()
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.FAILED
    assert mirror.error.startswith("counts.csv: SHA-256 ") and "the home says" in mirror.error
    assert Blob.objects.count() == blobs and not mirror.files.exists() and not mirror.infohash
    assert list(services.seedables()) == []


def test_a_torrent_that_lacks_a_listed_file_fails_the_mirror(home):
    record = publish_home(home, listed=FILES, torrent_files={"README.txt": FILES["README.txt"]})
    blobs = Blob.objects.count()
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.FAILED
    assert mirror.error == f"The torrent {home.url}/ds.torrent lacks counts.csv, a file the home lists."
    assert Blob.objects.count() == blobs


def test_a_torrent_link_that_is_not_a_torrent_gives_way_to_http_with_the_reason_kept(home, client):
    record = publish_home(home, listed=FILES, torrent_files=FILES)
    put(home, "/ds.torrent", b"<html>Moved</html>")
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.DONE
    assert mirror.via == "HTTP" and not mirror.infohash and mirror.torrent is None
    assert mirror.error.startswith(f"The torrent {home.url}/ds.torrent: Not a torrent file")
    assert mirror.error.endswith("Mirrored over HTTP instead.")
    files = {f.name: f for f in mirror.files.select_related("blob")}
    assert set(files) == set(FILES)
    for name, data in FILES.items():
        assert files[name].blob.sha256 == hashlib.sha256(data).hexdigest()
        assert files[name].checked == "md5 computed, size, sha256"
    assert list(services.seedables()) == []  # nothing to seed: no torrent
    event = AuditEvent.objects.filter(service_method="mirror").latest("pk")
    assert "Not a torrent file" in event.entry_text and event.entry_text.startswith("2 files")


def test_a_torrent_no_web_seed_serves_stalls_and_the_files_come_over_http(home, settings):
    settings.SWARM_MIRROR_STALL_SECONDS = 2
    record = publish_home(home, listed=FILES, torrent_files=FILES, web_seed="/gone/")  # 404 for every piece
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.DONE, mirror.error
    assert "stalled at 0 of" in mirror.error and mirror.error.endswith("Mirrored over HTTP instead.")
    assert mirror.via == "HTTP" and sorted(f.name for f in mirror.files.all()) == sorted(FILES)


def test_when_neither_the_torrent_nor_http_can_be_had_the_mirror_fails_with_both_reasons(home):
    record = publish_home(home, listed=FILES, torrent_files=FILES)
    put(home, "/ds.torrent", b"<html>Moved</html>")
    put(home, "/files/ds/counts.csv", b"truncated")
    blobs = Blob.objects.count()
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.FAILED
    assert mirror.error.startswith(f"The torrent {home.url}/ds.torrent: Not a torrent file")
    assert "Over HTTP: counts.csv: 9 bytes, the home says" in mirror.error
    assert Blob.objects.count() == blobs and not mirror.files.exists()


def test_an_oversized_landing_page_is_cut_off_at_its_limit_not_downloaded_whole(home, settings):
    settings.HARVEST_MAX_RECORD_BYTES = 1000  # pages up to 16,000 bytes
    record = publish_home(home, listed=FILES, torrent_files=FILES)
    put(home, "/landing", (home.root / "landing").read_bytes() + b"<!-- padding -->" * 2000)
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.FAILED
    assert "is 3" in mirror.error and "more than the limit of 16,000 bytes" in mirror.error


def test_a_file_over_http_whose_sha256_differs_fails_the_mirror_and_keeps_nothing(home):
    """Size and MD5 are checked before storing (the home's JSON-LD gives no MD5), SHA-256 after: the blob
    stored for the check goes with the failure."""
    record = publish_home(home, listed=FILES, torrent_files=FILES)
    put(home, "/ds.torrent", b"<html>Moved</html>")  # over HTTP
    put(home, "/files/ds/README.txt", FILES["README.txt"].replace(b"Net", b"Bag"))  # same size
    blobs = Blob.objects.count()
    mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
    assert mirror.state == LocalMirror.State.FAILED
    assert "Over HTTP: README.txt: SHA-256 " in mirror.error
    assert Blob.objects.count() == blobs and not mirror.files.exists()
