"""Torrents of public versions: deterministic v1 torrents built in the worker, their URLs, magnet links, the
catalog's asset, and none for held, withdrawn or tainted versions."""

from __future__ import annotations

import libtorrent as lt
import pytest

from apps.publishing import services as publishing
from apps.publishing.taint import remove_tainted_data
from apps.swarm import services
from apps.swarm.models import Torrent

from .conftest import FILE_BYTES, build, make_version, torrent_bytes

pytestmark = pytest.mark.django_db


def test_a_published_version_gets_a_deterministic_v1_torrent_of_its_sorted_files(settings):
    revision = make_version()
    torrent = build(revision)
    assert torrent.state == "built" and len(torrent.infohash) == 40
    info = lt.torrent_info(torrent_bytes(torrent))
    name = f"edi.{revision.package.identifier}.1"
    assert info.name() == name
    files = info.layout()
    paths = [files.file_path(i) for i in range(files.num_files())]
    assert paths == [f"{name}/{p}" for p in sorted(FILE_BYTES)]  # sorted, and no .pad/ files
    assert info.piece_length() == 16384 and info.num_pieces() == 5
    decoded = lt.bdecode(torrent_bytes(torrent))
    assert b"creation date" not in decoded and b"created by" not in decoded
    assert (
        decoded[b"url-list"]
        == f"{settings.SITE_BASE_URL}/dataset/edi/{revision.package.identifier}/1/".encode()
    )
    # Rebuilding gives the same bytes and infohash.
    again = services.make_for(revision)
    assert again.infohash == torrent.infohash and again.data == torrent_bytes(torrent)


def test_the_torrent_urls_landing_page_and_catalog_asset(client, settings):
    revision = make_version()
    torrent = build(revision)
    ident = revision.package.identifier
    response = client.get(f"/dataset/edi/{ident}/1/torrent")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-bittorrent"
    assert response.content == torrent_bytes(torrent)
    latest = client.get(f"/dataset/edi/{ident}/latest/torrent")
    assert latest.status_code == 200 and latest.content == response.content
    page = client.get(f"/dataset/edi/{ident}/1/").content.decode()
    assert f"/dataset/edi/{ident}/1/torrent" in page
    assert f"magnet:?xt=urn:btih:{torrent.infohash}&amp;dn=edi.{ident}.1&amp;ws=http" in page
    assert "&amp;xs=http" in page
    from apps.catalog.items import records_of_package, to_item

    item = to_item(records_of_package(revision.package_id)[0])
    assert item["assets"]["torrent"]["href"].endswith(f"/dataset/edi/{ident}/1/torrent")
    assert item["assets"]["torrent"]["type"] == "application/x-bittorrent"
    assert item["properties"]["quayside:infohash"] == torrent.infohash


def test_a_held_version_never_gets_a_public_torrent(client, data_manager):
    held = make_version("held")
    assert services.request_torrent(held) is None and not Torrent.objects.filter(revision=held).exists()
    ident = held.package.identifier
    client.force_login(data_manager)  # even those who may see its data
    assert client.get(f"/dataset/edi/{ident}/1/torrent").status_code == 404
    assert client.get(f"/dataset/edi/{ident}/latest/torrent").status_code == 404
    assert "magnet:" not in client.get(f"/dataset/edi/{ident}/1/").content.decode()


def test_a_withdrawn_version_loses_its_torrent(client):
    revision = make_version()
    build(revision)
    publishing.withdraw(revision, reason="Wrong calibration", category="data-error")
    revision.refresh_from_db()
    ident = revision.package.identifier
    assert client.get(f"/dataset/edi/{ident}/1/torrent").status_code == 410
    assert client.get(f"/dataset/edi/{ident}/latest/torrent").status_code == 404
    assert services.public_torrent(revision) is None and not services.public_torrents().exists()


def test_a_tainted_version_loses_its_torrent_and_its_web_seeds_answer_as_its_files_do(
    client, settings, data_manager
):
    revision = make_version()
    torrent = build(revision)
    data = torrent_bytes(torrent)
    ident = revision.package.identifier
    publishing.taint(revision, reason="personal data in a file", user=data_manager)
    revision.refresh_from_db()

    for url in (f"/dataset/edi/{ident}/1/torrent", f"/swarm/torrents/{torrent.infohash}.torrent"):
        response = client.get(url)
        assert response.status_code == 410, url
        assert response.content == b"This version was removed: it has no torrent.\n"  # as its tombstone says
    assert client.get(f"/dataset/edi/{ident}/latest/torrent").status_code == 404
    assert services.public_torrent(revision) is None and not services.public_torrents().exists()
    assert "magnet:" not in client.get(f"/dataset/edi/{ident}/1/").content.decode()

    # Every file of the .torrent, at the URL a BEP 19 client builds from its url-list, answers as the file's
    # own download URL does: 403 while the worker has not yet removed the bytes, 410 once it has.
    web_seed = lt.bdecode(data)[b"url-list"].decode().removeprefix(settings.SITE_BASE_URL)
    layout = lt.torrent_info(data).layout()
    paths = [layout.file_path(i) for i in range(layout.num_files())]
    entities = {e.object_name: e for e in revision.entities.all()}
    assert sorted(p.split("/", 1)[1] for p in paths) == sorted(entities)
    for expected in (403, 410):
        if expected == 410:
            remove_tainted_data(revision.pk)
        for path in paths:
            own = client.get(f"/dataset/edi/{ident}/1/files/{entities[path.split('/', 1)[1]].pk}")
            seed_get = client.get(f"{web_seed}{path}", HTTP_RANGE="bytes=0-16383")
            seed_head = client.head(f"{web_seed}{path}")
            assert own.status_code == seed_get.status_code == seed_head.status_code == expected, path
    # The .torrent file itself (its names and piece hashes come from the tainted files) is gone too.
    torrent.blob.refresh_from_db()
    assert torrent.blob.removed_at is not None


def test_verified_mirrors_with_the_tree_layout_are_web_seeds(settings):
    from apps.catalog.models import Mirror

    revision = make_version()
    name = services.name_of(revision)
    Mirror.objects.create(
        revision=revision, kind="bucket", base_url=f"https://m.example/x/{name}/", health="ok"
    )
    Mirror.objects.create(
        revision=revision, kind="bucket", base_url=f"https://bad.example/{name}/"
    )  # unverified
    Mirror.objects.create(revision=revision, kind="zenodo", file_urls={"a-temp.csv": "https://z.example/1"},
                          health="ok")  # fmt: skip
    seeds = services.web_seeds(revision)
    assert seeds[1:] == ["https://m.example/x/"]


def test_the_torrent_waits_for_the_versions_derived_files():
    from portal.tasks import TemporaryError

    revision = make_version()
    with pytest.raises(TemporaryError, match="still being built"):  # the task retries later
        services.build_torrent(revision.pk)  # its Parquet build, queued by the same release, is due
    assert build(revision).state == "built"  # once they are built


@pytest.mark.parametrize("as_stream", [False, True], ids=["files", "streams"])
def test_piece_hashes_match_libtorrents_own_over_pieces_that_span_files(tmp_path, as_stream):
    """Local files (``readinto``) and storage streams (``read``) must both give the infohash libtorrent
    computes itself (``set_piece_hashes``) for the same tree, pieces crossing file ends, buffers reused."""
    import io
    import random

    from apps.swarm import torrents

    rng = random.Random(7)
    sizes = {"a/one.bin": 70_000, "a/two.bin": 0, "b/three.bin": 5_000, "c.bin": 200_003, "d.bin": 16_384}
    folder = tmp_path / "tree" / "v.1"
    data = {}
    for path, size in sizes.items():
        data[path] = rng.randbytes(size)
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data[path])

    def opener(path):
        return (lambda: io.BytesIO(data[path])) if as_stream else (lambda: open(folder / path, "rb"))

    files = [torrents.TorrentFile(path=p, size=s, open=opener(p)) for p, s in sizes.items()]
    made = torrents.make_torrent("v.1", files)

    entries = [lt.create_file_entry(f"v.1/{path}", sizes[path]) for path in sorted(sizes)]
    reference = lt.create_torrent(entries, made.piece_size, lt.create_torrent.v1_only)
    lt.set_piece_hashes(reference, str(tmp_path / "tree"))
    expected = lt.torrent_info(lt.bencode(reference.generate()))
    assert made.infohash == str(expected.info_hashes().v1)


def test_a_file_that_changed_size_since_it_was_listed_is_refused(tmp_path):
    from apps.swarm import torrents

    (tmp_path / "f.bin").write_bytes(b"x" * 1000)
    files = [torrents.TorrentFile(path="f.bin", size=999, open=lambda: open(tmp_path / "f.bin", "rb"))]
    with pytest.raises(ValueError, match="f.bin: read 1000 bytes, expected 999"):
        torrents.make_torrent("v.1", files)
    import io

    streamed = [torrents.TorrentFile(path="g.bin", size=999, open=lambda: io.BytesIO(b"y" * 1000))]
    with pytest.raises(ValueError, match="g.bin: read 1000 bytes, expected 999"):
        torrents.make_torrent("v.1", streamed)
