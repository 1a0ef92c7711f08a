"""The seeder: seeds every public version from storage (a client completes from it with no web seed),
reports swarm health, keeps resume data, and drops a version once it is withdrawn or tainted."""

from __future__ import annotations

import time

import pytest

from apps.publishing import services as publishing
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
