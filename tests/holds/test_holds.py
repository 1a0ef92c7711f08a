import datetime

import pytest
from django.urls import Resolver404, resolve
from django.utils import timezone

from apps.access import can_see, visible_revisions
from apps.audit.models import AuditEvent
from apps.holds import services
from apps.holds.models import Hold
from apps.holds.tasks import expire_holds
from apps.packages.models import Revision
from portal.errors import Forbidden
from tests.factories import make_revision


def _soon(days=30):
    return timezone.now().date() + datetime.timedelta(days=days)


def download_paths(revision, entity) -> dict[str, str]:
    """Every path that serves a revision's file bytes (grep the URL confs when adding one)."""
    p = revision.package
    return {
        "pasta-data": f"/package/data/eml/{p.scope}/{p.identifier}/{revision.number}/{entity.entity_id}",
        "landing-download": f"/dataset/{p.scope}/{p.identifier}/{revision.number}/files/{entity.pk}",
    }


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def held(archived, approved_cruise, chief_scientist):
    hold = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="Thesis work")
    revision, entity = archived
    revision.refresh_from_db()
    return hold, revision, entity


def test_every_download_path_exists(held):
    _, revision, entity = held
    for name, path in download_paths(revision, entity).items():
        try:
            resolve(path)
        except Resolver404:
            pytest.fail(f"{name} path {path} is gone: update download_paths")


def test_asserting_holds_archived_revisions(held):
    hold, revision, _ = held
    assert revision.state == Revision.State.HELD
    assert Hold.objects.covering(revision).first() == hold
    assert AuditEvent.objects.filter(service="holds", service_method="assertHold").exists()


def test_held_files_are_refused_to_strangers_on_every_path(held, client, plain_user, user_factory):
    _, revision, entity = held
    paths = download_paths(revision, entity)
    for path in paths.values():
        assert client.get(path).status_code in (401, 403, 404), path  # anonymous: never the bytes
    client.force_login(plain_user)
    for name, path in paths.items():
        assert client.get(path).status_code == 403, name
    # The raw blob path serves data managers only.
    assert client.get(f"/storage/blobs/{entity.blob_id}").status_code == 403


def test_held_files_are_served_to_the_science_party_operator_and_data_managers(
    held, client, chief_scientist, shipboard_staff, operator_user, data_manager
):
    _, revision, entity = held
    for person in (chief_scientist, shipboard_staff, operator_user, data_manager):
        client.force_login(person)
        for name, path in download_paths(revision, entity).items():
            response = client.get(path)
            assert response.status_code == 200, (person.email, name, response.status_code)
            assert _body(response).startswith(b"time,temp")
    client.force_login(data_manager)
    assert client.get(f"/storage/blobs/{entity.blob_id}").status_code == 200


def test_held_metadata_stays_public_and_data_hidden(held, plain_user):
    _, revision, entity = held
    assert can_see(None, revision, "metadata") and not can_see(None, revision, "data")
    assert not can_see(plain_user, entity)
    assert revision in visible_revisions(plain_user, Revision.objects.all(), "metadata")
    assert revision not in visible_revisions(plain_user, Revision.objects.all(), "data")


def test_a_hold_that_ends_releases_the_data(held, client, plain_user):
    hold, revision, entity = held
    assert expire_holds() == 0  # not due yet
    Hold.objects.filter(pk=hold.pk).update(ends_on=timezone.now().date())
    assert expire_holds() == 1
    revision.refresh_from_db()
    hold.refresh_from_db()
    assert revision.state == Revision.State.PUBLISHED and hold.state == Hold.State.EXPIRED
    assert AuditEvent.objects.filter(
        service="holds", service_method="expireHold", entry_text__contains=revision.package_id_text
    ).exists()
    client.force_login(plain_user)
    for name, path in download_paths(revision, entity).items():
        assert client.get(path).status_code == 200, name
    assert expire_holds() == 0  # idempotent


def test_the_chief_scientist_lifts_a_hold(held, client, chief_scientist, operator_user):
    hold, revision, _ = held
    client.force_login(operator_user)
    assert client.post(f"/holds/{hold.pk}/lift/").status_code == 403
    client.force_login(chief_scientist)
    assert client.post(f"/holds/{hold.pk}/lift/").status_code == 302
    revision.refresh_from_db()
    assert revision.state == Revision.State.PUBLISHED


def test_a_chief_scientist_of_another_cruise_cannot_hold_here(
    archived, approved_cruise, vessel, user_factory, client
):
    from apps.cruises.models import Cruise, CruiseMember

    other = Cruise.objects.create(cruise_id="TE2499", vessel=vessel, operator=vessel.operator)
    outsider = user_factory("otherchief@example.org")
    CruiseMember.objects.create(
        cruise=other, user=outsider, name="Other", role=CruiseMember.Role.CHIEF_SCIENTIST
    )
    with pytest.raises(Forbidden):
        services.assert_hold(approved_cruise, outsider, ends_on=_soon(), reason="mine")
    client.force_login(outsider)
    assert client.get(f"/holds/cruise/{approved_cruise.pk}/new/").status_code == 403
    assert not Hold.objects.exists()


def test_hold_needs_approval_and_a_date_within_the_maximum(cruise, chief_scientist, operator_user, settings):
    with pytest.raises(services.HoldError, match="approved"):
        services.assert_hold(cruise, chief_scientist, ends_on=_soon(), reason="x")
    from tests.cruises.helpers import approve_cruise

    approve_cruise(cruise, operator_user, chief_scientist)
    settings.HOLD_MAX_DAYS = 10
    with pytest.raises(services.HoldError, match="10 days"):
        services.assert_hold(cruise, chief_scientist, ends_on=_soon(11), reason="x")
    with pytest.raises(services.HoldError):
        services.assert_hold(cruise, chief_scientist, ends_on=timezone.now().date(), reason="x")
    assert services.assert_hold(cruise, chief_scientist, ends_on=_soon(10), reason="x").ends_on == _soon(10)


def test_a_hold_on_some_datasets_leaves_the_others(approved_cruise, chief_scientist, vetted_user):
    held_rev = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=201)
    free_rev = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=202)
    services.assert_hold(
        approved_cruise, chief_scientist, ends_on=_soon(), reason="x", packages=[held_rev.package]
    )
    held_rev.refresh_from_db(), free_rev.refresh_from_db()
    assert held_rev.state == Revision.State.HELD and free_rev.state == Revision.State.ARCHIVED
    assert not Hold.objects.covering(free_rev).exists()


def test_published_revisions_stay_published_and_later_ones_are_held_by_the_pipeline(
    approved_cruise, chief_scientist, vetted_user
):
    from apps.publishing.services import on_archived

    public = make_revision("published", owner=vetted_user, cruise=approved_cruise, identifier=301)
    services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="x")
    public.refresh_from_db()
    assert public.state == Revision.State.PUBLISHED
    later = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=302)
    on_archived(later)  # what the ingest pipeline calls
    later.refresh_from_db()
    assert later.state == Revision.State.HELD


def test_hold_pages_access(approved_cruise, client, plain_user, operator_user, chief_scientist, archived):
    url = f"/holds/cruise/{approved_cruise.pk}/new/"
    assert client.get(url).status_code == 302
    for person in (plain_user, operator_user):
        client.force_login(person)
        assert client.get(url).status_code == 403
    client.force_login(chief_scientist)
    assert client.get(url).status_code == 200
    response = client.post(url, {"scope": "all", "ends_on": _soon().isoformat(), "reason": "Student thesis"})
    assert response.status_code == 302
    assert "held until" in client.get(f"/cruises/{approved_cruise.pk}/").content.decode()
    client.logout()
    listing = client.get("/holds/").content.decode()
    assert approved_cruise.cruise_id in listing and "Student thesis" not in listing


def test_held_metadata_pages_stay_public(held, client, plain_user):
    _, revision, _ = held
    p = revision.package
    client.force_login(plain_user)
    for path in (
        f"/dataset/{p.scope}/{p.identifier}/{revision.number}/",
        f"/packages/{p.scope}/{p.identifier}/{revision.number}/",
        f"/api/packages/{p.scope}/{p.identifier}/{revision.number}/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert revision.title.encode() in response.content, path
    landing = client.get(f"/dataset/{p.scope}/{p.identifier}/{revision.number}/").content.decode()
    assert f"until {held[0].ends_on.isoformat()}" in landing  # the landing page asks Hold.objects.covering
