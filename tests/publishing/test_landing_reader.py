"""The landing page as readers, Google Scholar and link previews meet it (issue 11 §4), and "Download
all": one streamed zip of the version's files for those who may see its data."""

from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
import zipfile

import pytest

from apps.packages.models import Entity
from apps.publishing.models import Doi
from apps.storage.services import store_bytes

pytestmark = pytest.mark.django_db


def page_url(revision) -> str:
    return f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"


def metas(html: str, attr: str) -> list[tuple[str, str]]:
    return re.findall(rf'<meta {attr}="([^"]+)" content="([^"]*)">', html)


def test_scholar_and_open_graph_tags(client, make_revision, settings):
    settings.PUBLISHER_NAME = "Quayside Test Repository"
    revision = make_revision(title="Bottom temperature & salinity")
    html = client.get(page_url(revision)).content.decode()
    tags = metas(html, "name")
    assert ("citation_title", "Bottom temperature &amp; salinity") in tags
    assert [v for k, v in tags if k == "citation_author"] == ["Lovelace, Ada", "Shelf Observing Network"]
    assert ("citation_publication_date", revision.published_at.strftime("%Y/%m/%d")) in tags
    assert ("citation_doi", revision.doi) in tags
    assert ("citation_publisher", "Quayside Test Repository") in tags
    og = dict(metas(html, "property"))
    assert og["og:title"] == "Bottom temperature &amp; salinity"
    assert og["og:url"].endswith(page_url(revision))
    assert og["og:description"].startswith("Hourly bottom temperature")


def test_held_version_names_no_doi_to_scholar(client, make_revision):
    html = client.get(page_url(make_revision("held"))).content.decode()
    assert "citation_doi" not in html and "citation_title" in html


def test_a_pending_doi_is_text_until_datacite_has_it(client, make_revision):
    revision = make_revision()
    doi_link = f'<a href="https://doi.org/{revision.doi}">'
    html = client.get(page_url(revision)).content.decode()
    assert revision.doi in html and "DOI pending" in html
    assert doi_link not in html
    Doi.objects.filter(revision=revision).update(state=Doi.State.FINDABLE)
    assert doi_link in client.get(page_url(revision)).content.decode()


def test_licence_is_linked_to_its_spdx_page(client, make_revision):
    html = client.get(page_url(make_revision(licence="cc-by-4.0"))).content.decode()
    assert '<a href="https://spdx.org/licenses/CC-BY-4.0.html" rel="license">cc-by-4.0</a>' in html
    free_text = client.get(page_url(make_revision(licence="Ask the PI"))).content.decode()
    assert "Ask the PI" in free_text and 'rel="license"' not in free_text


def test_sizes_are_human_readable_with_exact_bytes_on_hover(client, make_revision):
    revision = make_revision(files=0)
    blob = store_bytes(b"x" * 2_500_000)
    Entity.objects.create(revision=revision, entity_id="big", name="big", object_name="big.bin", blob=blob)
    html = client.get(page_url(revision)).content.decode()
    assert '<span title="2500000 bytes">2.4\xa0MB</span>' in html


def test_exports_are_plain_links_and_public_is_neutral(client, make_revision):
    revision = make_revision()
    html = client.get(page_url(revision)).content.decode()
    assert f'<a href="{page_url(revision)}export/datacite.xml">DataCite XML</a>' in html
    assert 'class="button small secondary" href="' + page_url(revision) + "export" not in html
    assert '<span class="access-public">Public</span>' in html and "state-ok" not in html


def _zip(response) -> zipfile.ZipFile:
    assert response.streaming
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_download_all_streams_every_file_with_its_bytes(client, make_revision):
    revision = make_revision(files=2)
    same_name = store_bytes(b"a,b\n1,2\n")
    Entity.objects.create(
        revision=revision, entity_id="dup", name="dup", object_name="temp0.csv", blob=same_name
    )
    html = client.get(page_url(revision)).content.decode()
    assert f'href="{page_url(revision)}files.zip"' in html and "Download all" in html

    response = client.get(f"{page_url(revision)}files.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="{revision.package_id_text}.zip"' in response["Content-Disposition"]
    archive = _zip(response)
    assert archive.testzip() is None
    folder = revision.package_id_text
    expected = {f"{folder}/{e.object_name}": e.blob for e in revision.entities.exclude(entity_id="dup")}
    expected[f"{folder}/temp0 (2).csv"] = same_name
    assert sorted(archive.namelist()) == sorted(expected)
    for name, blob in expected.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == blob.sha256


def test_download_all_memory_stays_bounded(client, make_revision):
    revision = make_revision(files=0)
    data = bytes(range(256)) * (24 * 1024 * 4)  # 24 MiB
    blob = store_bytes(data)
    Entity.objects.create(revision=revision, entity_id="big", name="big", object_name="big.bin", blob=blob)
    del data
    response = client.get(f"{page_url(revision)}files.zip")
    total, pieces = 0, 0
    tracemalloc.start()
    try:
        for piece in response.streaming_content:
            total += len(piece)
            pieces += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > blob.size and pieces > 50
    assert peak < 4 * 1024 * 1024, f"peak {peak:,} bytes for a {blob.size:,}-byte file"


def test_download_all_refuses_held_data_to_an_outsider(client, make_revision, plain_user):
    revision = make_revision("held", files=2)
    url = f"{page_url(revision)}files.zip"
    assert client.get(url).status_code == 403
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    assert "Download all" not in client.get(page_url(revision)).content.decode()
    client.force_login(revision.package.owner)
    response = client.get(url)
    assert response.status_code == 200
    assert len(_zip(response).namelist()) == 2
