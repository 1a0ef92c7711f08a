"""Withdrawn data is kept for the record and served to data managers only (issue 11 §7 "Withdrawn data
downloadable"): the owner, the cruise's people and the operator's staff get 403 on every download path."""

import pytest

from apps.access import can_see, visible_revisions
from apps.packages.models import Revision
from tests.factories import make_revision


@pytest.fixture
def withdrawn(cruise, vetted_user):
    revision = make_revision("published", owner=vetted_user, cruise=cruise, identifier=601)
    revision.mark_withdrawn(reason="Calibration error")
    return revision, revision.entities.get()


def download_paths(revision, entity) -> dict[str, str]:
    p = revision.package
    version = f"{p.scope}/{p.identifier}/{revision.number}"
    return {
        "landing file": f"/dataset/{version}/files/{entity.pk}",
        "download all": f"/dataset/{version}/files.zip",
        "PASTA data": f"/package/data/eml/{version}/{entity.entity_id}",
        "storage blob": f"/storage/blobs/{entity.blob_id}",
    }


def test_withdrawn_data_is_refused_to_its_owner_cruise_members_and_operator(
    withdrawn, client, vetted_user, chief_scientist, shipboard_staff, operator_user
):
    revision, entity = withdrawn
    for person in (vetted_user, chief_scientist, shipboard_staff, operator_user):
        assert not can_see(person, revision, "data") and not can_see(person, entity)
        assert revision not in visible_revisions(person, Revision.objects.all(), "data")
        client.force_login(person)
        for name, path in download_paths(revision, entity).items():
            assert client.get(path).status_code == 403, (person.email, name)


def test_withdrawn_data_is_kept_for_data_managers(withdrawn, client, data_manager):
    revision, entity = withdrawn
    client.force_login(data_manager)
    for name, path in download_paths(revision, entity).items():
        response = client.get(path)
        assert response.status_code == 200, name
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, name


def test_withdrawn_metadata_stays_public(withdrawn, plain_user):
    revision, _ = withdrawn
    assert can_see(None, revision, "metadata") and can_see(plain_user, revision, "metadata")
