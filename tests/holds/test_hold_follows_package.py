"""A package's hold follows the package (issue 11 §7 "Hold escape"): a new revision naming another cruise is
held too, and ending the hold releases every revision it covers."""

import datetime

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.cruises.models import Cruise
from apps.holds import services
from apps.holds.models import Hold
from apps.packages.models import Package, Revision
from apps.publishing.services import on_archived
from tests.factories import make_revision


def _soon(days=30):
    return timezone.now().date() + datetime.timedelta(days=days)


@pytest.fixture
def escaped(held_package, vessel):
    """The owner's new revision names another cruise, as the pipeline records it (package.cruise moves)."""
    hold, first = held_package
    other = Cruise.objects.create(cruise_id="TE2498", vessel=vessel, operator=vessel.operator)
    Package.objects.filter(pk=first.package_id).update(cruise=other)
    second = make_revision("archived", package=Package.objects.get(pk=first.package_id))
    on_archived(second)  # what the ingest pipeline calls after archiving
    second.refresh_from_db()
    return hold, first, second


@pytest.fixture
def held_package(archived, approved_cruise, chief_scientist):
    revision, _ = archived
    hold = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="Thesis")
    revision.refresh_from_db()
    assert revision.state == Revision.State.HELD
    return hold, revision


def test_a_new_revision_naming_another_cruise_is_still_held(escaped):
    hold, _, second = escaped
    assert second.state == Revision.State.HELD
    assert Hold.objects.covering(second).first() == hold


def test_lifting_the_hold_releases_every_revision_it_covers(escaped, chief_scientist):
    hold, first, second = escaped
    released = services.lift_hold(hold, chief_scientist)
    assert sorted(released) == sorted([first.package_id_text, second.package_id_text])
    for revision in (first, second):
        revision.refresh_from_db()
        assert revision.state == Revision.State.PUBLISHED
    event = AuditEvent.objects.get(service="holds", service_method="liftHold")
    assert "released: nothing" not in event.entry_text


def test_an_expiring_hold_releases_a_package_that_moved_away(escaped):
    hold, first, _ = escaped
    Hold.objects.filter(pk=hold.pk).update(ends_on=timezone.now().date())
    assert services.expire_due() == 1
    first.refresh_from_db()
    assert first.state == Revision.State.PUBLISHED


def test_a_hold_on_named_packages_follows_them_too(approved_cruise, chief_scientist, vetted_user, vessel):
    revision = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=501)
    services.assert_hold(
        approved_cruise, chief_scientist, ends_on=_soon(), reason="x", packages=[revision.package]
    )
    other = Cruise.objects.create(cruise_id="TE2497", vessel=vessel, operator=vessel.operator)
    Package.objects.filter(pk=revision.package_id).update(cruise=other)
    later = make_revision("archived", package=Package.objects.get(pk=revision.package_id))
    on_archived(later)
    later.refresh_from_db()
    assert later.state == Revision.State.HELD


def test_through_the_pipeline_a_revision_naming_another_cruise_is_held_and_released_with_the_first(
    held_package, vessel, vetted_user, chief_scientist, data_server, allow_loopback
):
    from apps.cruises.models import CruiseMember
    from apps.submissions import services as ingest
    from apps.submissions.models import Submission
    from tests.packages.helpers import eml_for, two_tables

    hold, first = held_package
    other = Cruise.objects.create(cruise_id="TE2496", vessel=vessel, operator=vessel.operator)
    # The owner is one of the other cruise's people, so the keyword links the package there.
    CruiseMember.objects.create(
        cruise=other, user=vetted_user, name="V", role=CruiseMember.Role.SCIENCE_PARTY
    )
    p = first.package
    eml = eml_for(
        f"{p.scope}.{p.identifier}.2", two_tables(data_server.root, data_server.url), cruise_id="TE2496"
    )
    sub = ingest.submit(
        vetted_user, eml, kind=Submission.Kind.UPDATE, scope=p.scope, identifier=p.identifier, start=False
    )
    sub = ingest.run_all(sub)
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    second = sub.revision
    second.refresh_from_db()
    assert second.package.cruise == other and second.state == Revision.State.HELD
    released = services.lift_hold(hold, chief_scientist)
    assert sorted(released) == sorted([first.package_id_text, second.package_id_text])
