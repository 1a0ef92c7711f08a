"""Files by name under a path that never changes (BitTorrent web seeds' layout), and "latest" redirects."""

from __future__ import annotations

import pytest

from apps.publishing import services as publishing
from apps.publishing.files import EntityRow, layout, version_files

pytestmark = pytest.mark.django_db


def _url(revision, path):
    p = revision.package
    return f"/dataset/{p.scope}/{p.identifier}/{revision.number}/{p.scope}.{p.identifier}.{revision.number}/{path}"


def test_a_file_answers_by_its_name_with_range_etag_last_modified_and_head(make_revision, client):
    revision = make_revision(files=2)
    files = version_files(revision)
    assert [f.path for f in files] == ["temp0.csv", "temp1.csv"]
    data = b"".join(client.get(_url(revision, "temp1.csv")).streaming_content)
    assert data.startswith(b"time,temp") and len(data) == files[1].size
    part = client.get(_url(revision, "temp1.csv"), HTTP_RANGE="bytes=0-3")
    assert part.status_code == 206 and b"".join(part.streaming_content) == b"time"
    assert part["ETag"] == f'"{files[1].sha256}"' and part["Last-Modified"]
    head = client.head(_url(revision, "temp1.csv"))
    assert head.status_code == 200 and head["Content-Length"] == str(files[1].size) and head.content == b""
    assert client.get(_url(revision, "nothing.csv")).status_code == 404
    wrong_tree = _url(revision, "temp1.csv").replace(
        f".{revision.number}/temp1", f".{revision.number + 1}/temp1"
    )
    assert client.get(wrong_tree).status_code == 404
    # The entity-id URL keeps working.
    entity = revision.entities.order_by("pk")[1]
    assert client.get(f"/dataset/edi/{revision.package.identifier}/1/files/{entity.pk}").status_code == 200


def test_held_and_withdrawn_files_never_leak_by_name(make_revision, client):
    held = make_revision("held")
    gone = make_revision()
    publishing.withdraw(gone, reason="Wrong calibration", category="data-error")
    assert client.get(_url(held, "temp0.csv")).status_code == 403
    assert client.head(_url(held, "temp0.csv")).status_code == 403
    assert client.get(_url(gone, "temp0.csv")).status_code in (403, 404, 410)
    assert client.get(f"/dataset/edi/{held.package.identifier}/latest/temp0.csv").status_code == 404


def test_the_latest_url_moves_when_a_new_version_is_published(make_revision, client):
    first = make_revision()
    latest = f"/dataset/edi/{first.package.identifier}/latest/temp0.csv"
    assert client.get(latest)["Location"] == _url(first, "temp0.csv")
    second = make_revision(package=first.package, number=2)
    response = client.get(latest)
    assert response.status_code == 302 and response["Location"] == _url(second, "temp0.csv")
    # A held newer version is not "latest": the link stays on the public one.
    make_revision("held", package=first.package, number=3)
    assert client.get(latest)["Location"] == _url(second, "temp0.csv")
    page = client.get(f"/dataset/edi/{first.package.identifier}/2/").content.decode()
    assert _url(second, "temp0.csv") in page and latest in page


def test_names_are_made_unique_deterministically():
    def row(pk, name):
        return EntityRow(pk, f"e{pk}", name, name, "text/csv", f"{pk:064x}", 1, "")

    paths = [
        f.path
        for f in layout(
            [row(1, "a/data.csv"), row(2, "data.csv"), row(3, "data-2.csv"), row(4, "parquet"), row(5, "")]
        )
    ]
    assert paths == ["data.csv", "data-2.csv", "data-2-2.csv", "_parquet", "e5"]
