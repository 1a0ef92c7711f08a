"""A cruise record's state machine: event logs and reviews move it through the model's transitions."""

import pytest

from apps.cruises.models import Cruise
from tests.cruises.helpers import approve_cruise, open_log


def test_opening_the_log_sails_a_planned_cruise_and_closing_it_completes_it(cruise, operator_user):
    from apps.eventlogs import services

    open_log(cruise, operator_user)
    assert Cruise.objects.get(pk=cruise.pk).state == Cruise.State.AT_SEA
    services.close_log(cruise, operator_user)
    assert Cruise.objects.get(pk=cruise.pk).state == Cruise.State.COMPLETED


def test_the_ship_moves_skip_a_record_already_further_on(cruise):
    Cruise.objects.filter(pk=cruise.pk).update(state=Cruise.State.IN_REVIEW)
    assert cruise.mark_at_sea() is False and cruise.mark_completed() is False
    assert cruise.state == Cruise.State.IN_REVIEW == Cruise.objects.get(pk=cruise.pk).state


def test_approval_outside_a_review_is_refused(cruise):
    with pytest.raises(Cruise.TransitionRefused):
        cruise.mark_approved()
    assert Cruise.objects.get(pk=cruise.pk).state == Cruise.State.PLANNED


def test_a_review_approves_and_locks_the_record(cruise, operator_user, chief_scientist):
    approve_cruise(cruise, operator_user, chief_scientist)
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.APPROVED and cruise.is_locked


def test_the_operations_report_counts_the_event_log(cruise, operator_user):
    from lxml import etree

    from apps.cruises import sailing_orders
    from apps.eventlogs import services

    open_log(cruise, operator_user)
    services.add_entry(cruise, operator_user, {"action": "deploy", "instrument": "CTD", "station": "S1"})
    report = sailing_orders.build(cruise, with_report=True, with_open_log=True)
    summary = etree.fromstring(report).find(".//eventSummary")
    assert summary.get("state") == "open" and summary.get("events") == "1"
    assert [i.get("code") for i in summary.iter("instrument")] == ["CTD"]


def test_an_edit_records_field_history_through_the_reviews_app_and_audits_the_fields(cruise, operator_user):
    from apps.audit.models import AuditEvent
    from apps.cruises.services import edit_cruise
    from apps.reviews.models import FieldChange

    assert edit_cruise(cruise, {"mission_summary": "Revised survey"}, operator_user) == ["mission_summary"]
    change = FieldChange.objects.get(object_id=cruise.pk)
    assert (change.field, change.new_value, change.role) == ("mission_summary", "Revised survey", "operator")
    assert AuditEvent.objects.filter(
        service_method="editCruise", entry_text="edited: mission_summary"
    ).exists()


def test_an_approved_record_cannot_be_edited(cruise, operator_user, chief_scientist):
    from django.core.exceptions import PermissionDenied

    from apps.cruises.services import edit_cruise

    approve_cruise(cruise, operator_user, chief_scientist)
    with pytest.raises(PermissionDenied):
        edit_cruise(cruise, {"mission_summary": "late"}, operator_user)
