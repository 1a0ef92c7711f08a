"""A data manager corrects a published version's title in the browser; DataCite receives the new title."""

import pytest
from lxml import etree

from apps.audit.models import AuditEvent
from apps.publishing import services
from apps.publishing.crosswalks import metadata
from apps.publishing.models import Doi

from .conftest import NS

pytestmark = pytest.mark.django_db


def _sync(revision):
    for pk in Doi.objects.filter(package=revision.package).values_list("pk", flat=True):
        services.sync_doi(pk)


def test_data_manager_corrects_a_title_and_the_doi_metadata_follows(
    make_revision, datacite, data_manager, client, django_capture_on_commit_callbacks
):
    revision = make_revision()
    _sync(revision)
    stamp = revision.metadata_modified_at
    client.force_login(data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{metadata.version_path(revision)}correct",
            {"title": "Bottom temperature, corrected station names", "abstract": "Fixed."},
        )
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.title == "Bottom temperature, corrected station names"
    assert revision.metadata_modified_at > stamp
    _sync(revision)
    xml = datacite.dois[revision.doi]["xml"]
    assert etree.fromstring(xml).findtext("dcite:titles/dcite:title", namespaces=NS) == revision.title
    assert AuditEvent.objects.filter(
        service_method="correctMetadata", resource_id=revision.package_id_text
    ).exists()
    page = client.get(metadata.version_path(revision))
    assert b"corrected station names" in page.content


def test_a_correction_needs_a_title(make_revision, data_manager, client):
    revision = make_revision()
    client.force_login(data_manager)
    client.post(f"{metadata.version_path(revision)}correct", {"title": "  ", "abstract": "x"})
    before = revision.title
    revision.refresh_from_db()
    assert revision.title == before


@pytest.mark.parametrize("who", ["anonymous", "plain", "vetted"])
def test_only_data_managers_may_correct(make_revision, client, plain_user, vetted_user, who):
    revision = make_revision()
    user = {"anonymous": None, "plain": plain_user, "vetted": vetted_user}[who]
    if user is not None:
        client.force_login(user)
    response = client.post(f"{metadata.version_path(revision)}correct", {"title": "Hijacked", "abstract": ""})
    assert response.status_code == (302 if user is None else 403)
    if user is None:
        assert "/accounts/login/" in response["Location"]
    revision.refresh_from_db()
    assert revision.title != "Hijacked"
