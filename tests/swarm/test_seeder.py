"""The seeder: seeds every public version from storage (a client completes from it with no web seed),
reports swarm health from its session and from a real tracker's scrapes, keeps resume data, and drops a
version once it is withdrawn or tainted."""

from __future__ import annotations

import time

import libtorrent as lt
import pytest

from apps.nodes.health import iter_batches
from apps.publishing import services as publishing
from apps.publishing.taint import remove_tainted_data
from apps.swarm import services
from apps.swarm.models import SwarmHealth
from apps.swarm.seeder import Seeder

from .conftest import assert_same_files, build, download, make_version, torrent_bytes, without_web_seeds

pytestmark = pytest.mark.django_db


def test_a_client_completes_from_the_seeder_with_no_web_seed_and_a_withdrawal_drops_it(settings, tmp_path):
    revision = make_version()
    torrent = build(revision)
    held = make_version("held")  # never seeded
    seeder = Seeder(settings.SWARM_SEED_DIR)
    assert seeder.sync() == (1, 0) and set(seeder.handles) == {torrent.infohash}
    name = f"edi.{revision.package.identifier}.1"
    tree = settings.SWARM_SEED_DIR / "data" / torrent.infohash / name
    assert tree.is_dir() and (tree / "a-temp.csv").is_symlink()

    download(without_web_seeds(torrent_bytes(torrent)), tmp_path / "client", peer=("127.0.0.1", seeder.port))
    assert_same_files(tmp_path / "client", name)

    handle = seeder.handles[torrent.infohash][1]
    deadline = time.monotonic() + 5
    while handle.status().all_time_upload == 0 and time.monotonic() < deadline:  # counted once a second
        time.sleep(0.2)
    seeder.report()
    health = SwarmHealth.objects.get(torrent=torrent, source="session")
    assert health.seeds >= 1 and health.uploaded > 0
    assert seeder.save_resume() == 1
    assert (settings.SWARM_SEED_DIR / "resume" / f"{torrent.infohash}.resume").exists()

    # A restart picks the torrent up again from its resume data (upload totals kept).
    seeder = Seeder(settings.SWARM_SEED_DIR)
    assert seeder.sync() == (1, 0)
    assert seeder.handles[torrent.infohash][1].status().all_time_upload == health.uploaded

    publishing.withdraw(revision, reason="Wrong calibration", category="data-error")
    assert seeder.sync() == (0, 1) and seeder.handles == {}
    assert not (settings.SWARM_SEED_DIR / "data" / torrent.infohash).exists()
    assert not (settings.SWARM_SEED_DIR / "resume" / f"{torrent.infohash}.resume").exists()
    assert held.pk and not SwarmHealth.objects.filter(torrent__revision=held).exists()


def test_tainting_a_version_drops_it_from_the_running_seeder_which_keeps_seeding_the_rest(
    settings, tmp_path, data_manager
):
    tainted = make_version()
    torrent = build(tainted)
    other = make_version()  # the same bytes (content-addressed: the same blobs), another dataset
    kept = build(other)
    seeder = Seeder(settings.SWARM_SEED_DIR)
    assert seeder.sync() == (2, 0)
    handle = seeder.handles[torrent.infohash][1]
    assert seeder.save_resume() == 2

    publishing.taint(tainted, reason="personal data in a file", user=data_manager)
    assert seeder.sync() == (0, 1) and set(seeder.handles) == {kept.infohash}
    # Gone from the libtorrent session itself, with its tree of links and its resume data.
    assert not handle.is_valid()
    assert [str(h.info_hashes().v1) for h in seeder.session.get_torrents()] == [kept.infohash]
    assert not (settings.SWARM_SEED_DIR / "data" / torrent.infohash).exists()
    assert not (settings.SWARM_SEED_DIR / "resume" / f"{torrent.infohash}.resume").exists()

    # The worker's removal follows; the next rounds change nothing, and the other dataset, whose blobs the
    # tainted version shared, still downloads completely from the seeder.
    remove_tainted_data(tainted.pk)
    assert seeder.sync() == (0, 0)
    SwarmHealth.objects.all().delete()
    seeder.report()
    assert set(SwarmHealth.objects.values_list("torrent_id", flat=True)) == {kept.pk}
    name = f"edi.{other.package.identifier}.1"
    download(without_web_seeds(torrent_bytes(kept)), tmp_path / "client", peer=("127.0.0.1", seeder.port))
    assert_same_files(tmp_path / "client", name)


def test_the_health_report_carries_a_trackers_scrape_into_swarm_health(settings, tracker):
    """A real tracker (Debian's opentracker) on 127.0.0.1: the seeder announces to it, the rest of the
    swarm announces after that, and only a scrape can bring those figures before the seeder's next announce
    (opentracker sets the announce interval at about half an hour)."""
    settings.SWARM_TRACKERS = [tracker.url]
    settings.SWARM_SCRAPE_SECONDS = 0  # a scrape at every report
    revision = make_version()
    torrent = build(revision)
    assert lt.bdecode(torrent_bytes(torrent))[b"announce"] == tracker.url.encode()
    tracker.start(torrent.infohash)
    seeder = Seeder(settings.SWARM_SEED_DIR)
    # libtorrent's SSRF mitigation refuses a scrape URL on loopback (only an /announce path may be
    # local); the portal's tracker in production is public, and this test can reach only 127.0.0.1.
    seeder.session.apply_settings({"ssrf_mitigation": False})
    assert seeder.sync() == (1, 0)

    def tracker_row_becomes(seeds: int, peers: int, completed: int) -> SwarmHealth:
        deadline = time.monotonic() + 20
        while True:
            seeder.report()
            row = SwarmHealth.objects.filter(torrent=torrent, source="tracker").first()
            figures = row and (row.seeds, row.peers, row.completed)
            if figures == (seeds, peers, completed):
                return row
            assert time.monotonic() < deadline, f"the tracker row stayed at {figures}"
            time.sleep(0.2)

    tracker_row_becomes(1, 0, 0)  # the seeder's own announce: it is the one seed
    # The rest of the swarm: someone still downloading, two who finished (BEP 3's event=completed).
    tracker.announce(torrent.infohash, left=1000)
    tracker.announce(torrent.infohash, left=0, event="completed")
    assert tracker.announce(torrent.infohash, left=0, event="completed")[b"complete"] == 3
    row = tracker_row_becomes(3, 1, 2)  # seeders (the seeder and the two), leechers, completed downloads
    assert row.uploaded == 0
    # The session's own row counts only whom it is connected to (the pretend peers cannot be reached).
    assert SwarmHealth.objects.get(torrent=torrent, source="session").seeds == 1
    # What the portal shows: the catalog's seeders and the nodes' health file take the largest count.
    assert services.catalog_fields({"revision": revision})[revision.pk][3] == 3
    assert next(iter_batches()).to_pylist()[0]["seeds"] == 3
