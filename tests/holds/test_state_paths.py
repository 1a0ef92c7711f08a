"""Holds and the revision state machine: one → held path, one release path, Hold.objects.covering."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.holds import services
from apps.holds.models import Hold
from apps.packages.models import Package, Revision
from apps.search.models import SearchDocument
from tests.factories import make_revision


def _soon(days=30):
    return timezone.now().date() + datetime.timedelta(days=days)


def test_asserting_and_lifting_a_hold_reindexes_and_audits_every_revision(
    approved_cruise, chief_scientist, vetted_user
):
    revisions = [
        make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=n)
        for n in (501, 502, 503)
    ]
    hold = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="Thesis work")
    for revision in revisions:
        assert SearchDocument.objects.get(revision=revision).state == Revision.State.HELD
        assert (
            AuditEvent.objects.filter(
                service="packages", service_method="hold", resource_id=revision.package_id_text
            ).count()
            == 1
        )

    released = services.lift_hold(hold, chief_scientist)

    assert sorted(released) == sorted(r.package_id_text for r in revisions)
    for revision in revisions:
        revision.refresh_from_db()
        assert revision.state == Revision.State.PUBLISHED and revision.doi
        assert SearchDocument.objects.get(revision=revision).state == Revision.State.PUBLISHED
        assert (
            AuditEvent.objects.filter(
                service="publishing", service_method="publish", resource_id=revision.package_id_text
            ).count()
            == 1
        )


def test_the_pipeline_path_to_held_is_the_same_verb(approved_cruise, chief_scientist, vetted_user):
    from apps.publishing.services import on_archived

    services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="x")
    later = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=504)
    with transaction.atomic():
        on_archived(Revision.objects.select_for_update().select_related("package").get(pk=later.pk))
    assert SearchDocument.objects.get(revision=later).state == Revision.State.HELD
    assert AuditEvent.objects.filter(
        service="packages", service_method="hold", resource_id=later.package_id_text
    ).exists()


def test_a_revision_another_hold_still_covers_stays_held(approved_cruise, chief_scientist, vetted_user):
    revision = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=505)
    short = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(10), reason="short")
    services.assert_hold(
        approved_cruise, chief_scientist, ends_on=_soon(60), reason="long", packages=[revision.package]
    )
    assert services.lift_hold(short, chief_scientist) == []
    revision.refresh_from_db()
    assert revision.state == Revision.State.HELD


def test_covering_finds_holds_in_force_over_a_revision_latest_ending_first(
    approved_cruise, chief_scientist, vetted_user
):
    mine = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=506)
    other = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=507)
    everything = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(20), reason="a")
    just_mine = services.assert_hold(
        approved_cruise, chief_scientist, ends_on=_soon(40), reason="b", packages=[mine.package]
    )
    assert list(Hold.objects.covering(mine)) == [just_mine, everything]
    assert list(Hold.objects.covering(other)) == [everything]

    Hold.objects.filter(pk=just_mine.pk).update(state=Hold.State.LIFTED)
    Hold.objects.filter(pk=everything.pk).update(ends_on=timezone.now().date())  # ends today: over
    assert not Hold.objects.covering(mine).exists()


def test_a_package_without_a_cruise_is_never_covered(vetted_user, approved_cruise, chief_scientist):
    services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="x")
    package = Package.objects.create(scope="edi", identifier=508, owner=vetted_user)
    loose = Revision.objects.create(package=package, number=1, state=Revision.State.ARCHIVED)
    assert not Hold.objects.covering(loose).exists()


def test_top_level_verbs_refuse_to_run_inside_another_transaction(archived, approved_cruise, chief_scientist):
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="nested")
    assert not Hold.objects.exists()


def test_the_operations_report_shows_the_event_summary_and_when_held_data_is_released(
    approved_cruise, chief_scientist, vetted_user
):
    from lxml import etree

    from apps.cruises import sailing_orders

    make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=509)
    hold = services.assert_hold(approved_cruise, chief_scientist, ends_on=_soon(), reason="x")
    report = etree.fromstring(sailing_orders.build(approved_cruise, with_report=True))
    (dataset,) = report.iter("dataset")
    assert dataset.get("state") == "held" and dataset.get("heldUntil") == hold.ends_on.isoformat()
    summary = report.find(".//eventSummary")
    assert summary.get("state") == "none" and summary.get("events") == "0"  # no log opened: eventlogs' part
