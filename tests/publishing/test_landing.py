import json
import re

import pytest
from lxml import etree

from apps.packages.models import Revision
from apps.publishing import services
from apps.publishing.models import Doi

from .conftest import assert_valid


def page_url(revision, latest=False):
    base = f"/dataset/{revision.package.scope}/{revision.package.identifier}/"
    return base if latest else f"{base}{revision.number}/"


def jsonld_of(response):
    match = re.search(rb'<script type="application/ld\+json">(.*?)</script>', response.content, re.S)
    return json.loads(match.group(1))


def test_version_page_shows_everything_a_reader_needs(client, make_revision, cruise):
    revision = make_revision(cruise=cruise, files=2)
    response = client.get(page_url(revision))
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        revision.title,
        "Ada Lovelace",
        "Test Oceanographic Institution",
        revision.abstract,
        "temperature",
        "temp0.csv",
        "temp1.csv",
        revision.doi,
        "DOI pending",
        "BibTeX",
        "APA",
        "TE2401",
        "concept DOI",
        "<svg",
    ):
        assert text in html, text
    assert "Quality report" not in html  # not through the pipeline: no report (test_landing_links.py)
    entity = revision.entities.first()
    assert entity.blob.sha256 in html and entity.blob.md5 in html
    data = jsonld_of(response)
    assert data["@type"] == "Dataset" and data["@id"] == f"https://doi.org/{revision.doi}"
    assert data["creator"][0]["@id"] == "https://orcid.org/0000-0002-1825-0097"
    assert data["spatialCoverage"]["geo"]["box"] == "40.1 -70.5 41.3 -69.2"
    assert len(data["distribution"]) == 2


def test_signposting_headers(client, make_revision):
    revision = make_revision()
    link = client.get(page_url(revision))["Link"]
    assert f'<https://doi.org/{revision.doi}>; rel="cite-as"' in link
    assert 'rel="describedby"; type="application/vnd.datacite.datacite+xml"' in link
    assert link.count('rel="item"') == 1
    latest_link = client.get(page_url(revision, latest=True))["Link"]
    assert (
        f'<https://doi.org/{Doi.objects.get(kind="concept", package=revision.package).doi}>; rel="cite-as"'
        in latest_link
    )


def test_latest_url_follows_new_versions_and_says_it_is_the_concept(client, make_revision):
    first = make_revision()
    response = client.get(page_url(first, latest=True))
    assert b"latest version" in response.content and b"version 1</strong>" not in response.content
    make_revision(package=first.package, title="Second edition")
    response = client.get(page_url(first, latest=True))
    assert b"Second edition" in response.content
    assert client.get(page_url(first)).status_code == 200  # old versions keep their page


def test_withdrawn_version_shows_a_tombstone_not_a_404(client, make_revision, data_manager):
    revision = make_revision()
    services.withdraw(revision, reason="Sensor drift discovered", user=data_manager)
    response = client.get(page_url(revision))
    assert response.status_code == 410  # Gone, with its tombstone page
    assert b"withdrawn" in response.content and b"Sensor drift discovered" in response.content
    assert b"temp0.csv" not in response.content
    assert client.get(page_url(revision, latest=True)).status_code == 410
    entity = revision.entities.first()
    assert client.get(f"{page_url(revision)}files/{entity.pk}").status_code == 403
    resolved = client.get(f"/doi/{revision.doi}", follow=True)
    assert resolved.status_code == 410 and b"Sensor drift discovered" in resolved.content


def test_held_version_shows_metadata_but_not_data_to_the_public(
    client, make_revision, vetted_user, data_manager
):
    revision = make_revision("held")
    response = client.get(page_url(revision))
    assert response.status_code == 200
    assert b"Held" in response.content
    entity = revision.entities.first()
    download = f"{page_url(revision)}files/{entity.pk}"
    assert client.get(download).status_code == 403
    client.force_login(vetted_user)
    assert client.get(download).status_code == 403
    client.force_login(data_manager)
    assert client.get(download).status_code == 200


def test_unpublished_versions_are_404_for_the_public(client, make_revision, plain_user):
    revision = make_revision("archived")
    assert client.get(page_url(revision)).status_code == 404
    client.force_login(plain_user)
    assert client.get(page_url(revision)).status_code == 404
    assert client.get("/dataset/edi/424242/").status_code == 404


def test_download_serves_the_bytes_with_range(client, make_revision):
    revision = make_revision()
    entity = revision.entities.first()
    response = client.get(f"{page_url(revision)}files/{entity.pk}")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"time,temp")
    partial = client.get(f"{page_url(revision)}files/{entity.pk}", HTTP_RANGE="bytes=0-3")
    assert partial.status_code == 206


@pytest.mark.parametrize(
    "fmt, schema", [("datacite.xml", "datacite"), ("oai_dc.xml", "oai_dc"), ("eml.xml", "eml")]
)
def test_xml_exports_validate(client, make_revision, schemas, fmt, schema):
    revision = make_revision()
    response = client.get(f"{page_url(revision)}export/{fmt}")
    assert response.status_code == 200
    assert_valid(schemas[schema], etree.fromstring(response.content))


def test_jsonld_and_bibtex_exports(client, make_revision):
    revision = make_revision()
    data = client.get(f"{page_url(revision)}export/jsonld").json()
    assert data["@context"] == "https://schema.org/" and data["version"] == "1"
    bib = client.get(f"{page_url(revision)}export/bibtex").content.decode()
    assert bib.startswith("@misc{") and f"doi = {{{revision.doi}}}" in bib and "Lovelace, Ada" in bib
    assert client.get(f"{page_url(revision)}export/pdf").status_code == 404


def test_exports_of_hidden_versions_are_404(client, make_revision):
    revision = make_revision("archived")
    assert client.get(f"{page_url(revision)}export/datacite.xml").status_code == 404


def test_withdraw_form_is_for_data_managers_only(
    client, make_revision, plain_user, vetted_user, data_manager
):
    revision = make_revision()
    url = f"{page_url(revision)}withdraw"
    withdrawal = {"category": "duplicate", "reason": "Duplicate upload"}
    assert client.post(url, withdrawal).status_code == 302  # to the login page
    assert Revision.objects.get(pk=revision.pk).state == "published"
    for user in (plain_user, vetted_user):
        client.force_login(user)
        assert client.post(url, withdrawal).status_code == 403
    client.force_login(data_manager)
    assert b"Withdraw version" in client.get(page_url(revision)).content
    response = client.post(url, withdrawal)
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.state == "withdrawn" and revision.withdrawn_reason == "Duplicate upload"


def test_doi_queue_is_for_data_managers_and_can_retry_now(
    client, make_revision, plain_user, data_manager, datacite, django_capture_on_commit_callbacks
):
    revision = make_revision()
    doi = revision.version_doi
    datacite.outage = True
    services.sync_doi(doi.pk)
    assert client.get("/dois/").status_code == 302
    client.force_login(plain_user)
    assert client.get("/dois/").status_code == 403
    assert client.post(f"/dois/{doi.pk}/retry").status_code == 403
    client.force_login(data_manager)
    page = client.get("/dois/")
    assert page.status_code == 200 and doi.doi.encode() in page.content and b"500" in page.content
    assert client.get(f"/dois/{doi.pk}/").status_code == 200
    datacite.outage = False
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/dois/{doi.pk}/retry")
    assert response.status_code == 302 and len(callbacks) == 1  # register_doi queued after commit
    doi.refresh_from_db()
    assert doi.next_try_at is None  # due at once
    services.sync_doi(doi.pk)  # what the worker runs for that task
    doi.refresh_from_db()
    assert doi.state == Doi.State.FINDABLE


def test_version_page_queries_do_not_grow_with_files(
    client, make_revision, cruise, django_assert_max_num_queries
):
    revision = make_revision(cruise=cruise, files=12)
    with django_assert_max_num_queries(20):
        assert client.get(page_url(revision)).status_code == 200


def test_version_page_lists_the_files_once_however_many_alternates(
    client, make_revision, cruise, django_assert_max_num_queries
):
    """The file rows, the Parquet alternates and the signposting header share one ``version_files``: the
    artifacts are read twice (the listing, and the alternates' manifests), not once per use."""
    from apps.artifacts.models import Artifact
    from apps.storage.services import store_bytes

    revision = make_revision(cruise=cruise, files=12)
    for entity in revision.entities.all():
        manifest = Artifact.objects.create(
            kind=Artifact.Kind.MANIFEST,
            revision=revision,
            entity=entity,
            path=f"manifests/parquet/{entity.object_name}.parquet.json",
            blob=store_bytes(f'{{"of": "{entity.pk}"}}'.encode()),
            media_type="application/json",
        )
        Artifact.objects.create(
            kind=Artifact.Kind.PARQUET,
            revision=revision,
            entity=entity,
            path=f"parquet/{entity.object_name}.parquet",
            blob=store_bytes(f"PAR1 {entity.pk} PAR1".encode()),
            media_type="application/vnd.apache.parquet",
            manifest=manifest,
        )
    with django_assert_max_num_queries(16):
        response = client.get(page_url(revision))
    assert response.status_code == 200
    assert response["Link"].count('type="application/vnd.apache.parquet"') == 12
    named = f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"
    assert response.content.decode().count(f"{named}{revision.package_id_text}/parquet/") >= 12


def test_cruise_schema_is_served_and_unknown_dois_are_404(client, plain_user, data_manager, make_revision):
    response = client.get("/oai/schemas/cruise-1.0.xsd")
    assert response.status_code == 200
    assert b"targetNamespace" in b"".join(response.streaming_content)
    assert client.get("/oai/schemas/other.xsd").status_code == 404
    assert client.get("/doi/10.9999/not.ours").status_code == 404
    revision = make_revision()
    detail = f"/dois/{revision.version_doi.pk}/"
    assert client.get(detail).status_code == 302
    client.force_login(plain_user)
    assert client.get(detail).status_code == 403
    client.force_login(data_manager)
    assert client.get(detail).status_code == 200
