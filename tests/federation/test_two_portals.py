"""Two Quayside portals: A runs as gunicorn with its own SQLite database and folders; B is the test's own
portal (its own database). B harvests A over loopback (Dublin Core and DataCite), shows A's records with the
torrent, magnet link and verified mirror A's feed names, mirrors one by A's torrent (the
files come from A's web seed, every piece checked, each file verified by size and SHA-256 from A's landing
page, stored as new blobs in B's store), and B's seeder seeds it to a third libtorrent client; A taints it,
and B's incremental re-harvest removes the mirror, its blobs (B holds no other reference to them), the
torrent from B's seeder, and the torrent and mirror links from the remote record."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings as django_settings
from django.test import Client

from apps.federation import services
from apps.federation.models import HarvestRun, HarvestSource, LocalMirror, RemoteRecord
from apps.storage.models import Blob
from apps.storage.services import open_blob
from apps.swarm.seeder import Seeder
from tests.support.gunicorn import running_gunicorn
from tests.support.ports import free_port
from tests.swarm.conftest import download, without_web_seeds

pytestmark = [pytest.mark.slow, pytest.mark.gunicorn, pytest.mark.django_db(transaction=True)]

MAKE = """
from apps.artifacts.models import RevisionBuild
from apps.artifacts.tasks import build_artifacts
from apps.swarm.models import Torrent
from apps.swarm.tasks import build_torrent_task
from tests.factories import make_revision
for n in range(3):
    revision = make_revision(title=f"Portal A dataset {n}", files=2, scope="quay")
    for pk in RevisionBuild.objects.filter(revision=revision).values_list("pk", flat=True):
        build_artifacts.apply(args=[pk]).get()
    build_torrent_task.apply(args=[Torrent.objects.get(revision=revision).pk]).get()
# Dataset 0 has two mirrors (after its torrent, so the .torrent's own web seed stays A's alone): one its last
# check verified, in the tree layout (a web seed of its magnet link too), and one found bad.
from apps.catalog.models import Mirror
from apps.packages.models import Revision
first = Revision.objects.get(title="Portal A dataset 0")
from django.utils import timezone
Mirror.objects.create(revision=first, kind="bucket", health="ok", verified_at=timezone.now(),
                      base_url=f"https://bucket.example.invalid/a/{first.package_id_text}/")
Mirror.objects.create(revision=first, kind="http", health="bad", base_url="https://bad.example.invalid/")
"""
TAINT = """
from apps.packages.models import Revision
from apps.publishing.services import taint
taint(Revision.objects.get(title="Portal A dataset 0"), reason="Holds personal data")
"""


def portal_a(folder, env, code: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )


def test_portal_b_harvests_portal_a_mirrors_by_torrent_seeds_it_and_drops_what_a_taints(settings, tmp_path):
    settings.HARVEST_ALLOW_LOOPBACK = True
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    port = free_port()
    a_url = f"http://127.0.0.1:{port}"
    database = f"sqlite:///{tmp_path}/a.sqlite3"
    env = {
        "DATABASE_URL": database,
        "QUAYSIDE_VAR_DIR": str(tmp_path),
        "BLOB_ROOT": str(tmp_path / "blobs"),
        "SITE_BASE_URL": a_url,
        "CELERY_BROKER_URL": "memory://",
        "QUAYSIDE_TESTING": "1",
        "OAI_PAGE_SIZE": "2",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=django_settings.BASE_DIR,
        env={**os.environ, **env},
        check=True,
    )
    portal_a(tmp_path, env, MAKE)
    time.sleep(1.1)  # ``from`` is inclusive to the second: see test_harvest
    served = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    with running_gunicorn(tmp_path, database, port=port, **served):  # A's SITE_BASE_URL names this port
        source = HarvestSource.objects.create(base_url=f"{a_url}/oai", name="Portal A")
        run = services.harvest(source.pk)
        assert run.state == HarvestRun.State.DONE, run.message
        assert (run.pages, run.records) == (2, 3)
        record = RemoteRecord.objects.get(source=source, title="Portal A dataset 0")
        assert record.home_url.startswith(f"{a_url}/dataset/quay/")
        api = Client().get("/api/search/", {"q": "Portal A", "origin": "remote"}).json()
        assert api["count"] == 3 and all(r["home"] == "Portal A" for r in api["results"])
        # A's feed names the torrent, its magnet link and the verified mirror (not the bad one), in Dublin
        # Core and in DataCite alike; B shows them on the remote record's page and in its API.
        bucket = "https://bucket.example.invalid/a/"
        by_datacite = HarvestSource.objects.create(base_url=f"{a_url}/oai", metadata_prefix="datacite")
        assert services.harvest(by_datacite.pk).records == 3
        same = RemoteRecord.objects.get(source=by_datacite, title="Portal A dataset 0")
        for harvested in (record, same):
            magnet = harvested.home_magnet
            assert harvested.torrent_url == magnet.torrent_url == f"{record.home_url}torrent"
            assert magnet.web_seeds == (record.home_url, bucket)
            assert harvested.home_mirrors == [f"{bucket}{magnet.name}/"]
        assert record.magnet == same.magnet
        page = Client().get(f"/remote/{record.pk}/").content.decode()
        assert f'href="{record.torrent_url}" rel="nofollow noopener"' in page
        assert f'href="{record.magnet.replace("&", "&amp;")}" rel="nofollow noopener"' in page
        assert f'href="{bucket}{magnet.name}/" rel="nofollow noopener"' in page and "bad.example" not in page
        remote_api = Client().get(f"/api/remote/{record.pk}/").json()
        assert (remote_api["torrent_url"], remote_api["magnet"]) == (record.torrent_url, record.magnet)

        mirror = services.mirror(LocalMirror.objects.create(record=record).pk)
        assert mirror.state == LocalMirror.State.DONE, mirror.error
        assert mirror.via == "torrent" and mirror.torrent_url.startswith(f"{a_url}/dataset/quay/")
        files = list(mirror.files.all())
        blobs = [f.blob_id for f in files] + [mirror.torrent_id]
        assert Blob.objects.filter(pk__in=blobs).count() == len(blobs)
        described = [f for f in files if "sha256" in f.checked]  # A's two data files; the rest are derived
        assert len(described) == 2 and all("torrent pieces" in f.checked for f in files), [
            (f.name, f.checked) for f in files
        ]
        page = Client().get(f"/remote/{record.pk}/")
        assert mirror.infohash in page.content.decode() and b"seeded here too" in page.content

        seeder = Seeder(tmp_path / "b-seed", listen="127.0.0.1:0", dht=False)
        assert seeder.sync() == (1, 0)  # B has no local versions: the mirror is all it seeds
        with open_blob(mirror.torrent) as fh:  # a client that reaches only B's seeder, no web seed
            download(without_web_seeds(fh.read()), tmp_path / "client", peer=("127.0.0.1", seeder.port))
        for f in files:
            with open_blob(f.blob) as fh:
                assert (tmp_path / "client" / f.name).read_bytes() == fh.read(), f.name

        portal_a(tmp_path, env, TAINT)
        again = services.harvest(source.pk)
        assert again.state == HarvestRun.State.DONE, again.message
        assert (again.records, again.deleted) == (0, 1)
        assert services.harvest(by_datacite.pk).deleted == 1
    for harvested in (record, same):  # the taint took the torrent and mirrors with it
        harvested.refresh_from_db()
        assert harvested.deleted and (harvested.torrent_url, harvested.magnet, harvested.home_mirrors) == (
            "",
            "",
            [],
        )
    page = Client().get(f"/remote/{record.pk}/")
    assert (
        page.status_code == 410 and b"magnet:" not in page.content and b"bucket.example" not in page.content
    )
    assert not LocalMirror.objects.filter(pk=mirror.pk).exists()
    assert not Blob.objects.filter(pk__in=blobs).exists()  # B held no other reference
    assert seeder.sync() == (0, 1) and not (tmp_path / "b-seed" / "data" / mirror.infohash).exists()
