"""A chief scientist reviews, amends and approves a cruise record; shipboard staff write three
event-log entries — in headless Chromium against the live server."""

import pytest

from apps.cruises.models import Cruise, Port
from apps.eventlogs.models import Event
from apps.reviews import services as reviews
from apps.reviews.models import FieldChange
from tests.cruises.helpers import open_log
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_chief_scientist_amends_and_approves_in_the_browser(
    live_server, browser, cruise, operator_user, chief_scientist
):
    Cruise.objects.filter(pk=cruise.pk).update(
        departure_port=Port.objects.create(name="San Diego"),
        arrival_port=Port.objects.create(name="Honolulu"),
    )
    review = reviews.request_review(cruise, operator_user)
    page = browser.new_page()
    login(page, live_server.url, chief_scientist.email)
    page.goto(f"{live_server.url}/reviews/")
    page.click(f"a[href='/reviews/{review.pk}/']")
    page.fill("#id_amend-mission_summary", "Survey amended at sea by the chief scientist")
    page.click("#amend-form button[type=submit]")
    page.wait_for_selector("#history >> text=Survey amended at sea by the chief scientist")
    reviews.decide(review, operator_user, "approve")  # the operator approves the amended record
    page.click("#approve")
    page.wait_for_selector("#review-state >> text=Approved")
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.APPROVED
    assert cruise.mission_summary == "Survey amended at sea by the chief scientist"
    change = FieldChange.objects.get(field="mission_summary")
    assert change.user == chief_scientist and change.old_value == "Test survey"
    page.close()


def test_shipboard_staff_write_three_entries(live_server, browser, cruise, operator_user, shipboard_staff):
    open_log(cruise, operator_user)
    context = browser.new_context()
    page = context.new_page()
    login(page, live_server.url, shipboard_staff.email)
    page.goto(f"{live_server.url}/eventlogs/{cruise.pk}/")
    for n, action in enumerate(["deploy", "at bottom", "recover"], start=1):
        page.select_option("#id_instrument", "CTD")
        page.select_option("#id_action", action)
        page.fill("#id_station", "S07")
        page.fill("#id_cast", "2")
        if n == 3:
            # The ship's link drops: the entry waits in localStorage and goes out when the link returns.
            context.set_offline(True)
            page.click(".el-submit")
            page.wait_for_selector("#el-queue >> text=1 entry waiting")
            assert Event.objects.filter(log__cruise=cruise).count() == 2
            context.set_offline(False)
        elif n == 2:
            page.press("#id_cast", "Enter")  # the keyboard works as well as the big button
        else:
            page.click(".el-submit")
        page.wait_for_selector(f"table.el-table >> text=TE2401-{n:04d}", timeout=45000)
    events = list(Event.objects.filter(log__cruise=cruise).order_by("number"))
    assert [e.action for e in events] == ["deploy", "at bottom", "recover"]
    assert len({e.idempotency_key for e in events}) == 3
    assert all(e.author == shipboard_staff and e.station == "S07" for e in events)
    assert page.evaluate(f"localStorage.getItem('quayside-eventlog-queue-{cruise.pk}')") == "[]"
    context.close()
