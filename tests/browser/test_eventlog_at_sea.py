"""The event log at sea, in headless Chromium against the live server: a throttled satellite link, an
offline queue with an entry the portal refuses, a session that lapses while entries wait, and a phone.

Screenshots of each journey go to var/ci/screenshots/ (CI keeps var/ci as artefacts)."""

import json

import pytest
from django.conf import settings

from apps.eventlogs import services
from apps.eventlogs.models import Event
from tests.cruises.helpers import open_log
from tests.factories import PASSWORD
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "ci" / "screenshots"
SATELLITE = {"offline": False, "latency": 2000, "downloadThroughput": 32_000, "uploadThroughput": 16_000}


def shoot(page, name: str, **kwargs) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"eventlog-{name}.png"), **kwargs)


def queue(page, cruise) -> list:
    return json.loads(page.evaluate(f"localStorage.getItem('quayside-eventlog-queue-{cruise.pk}') || '[]'"))


def log_page(browser, live_server, cruise, user, **context_args):
    context = browser.new_context(**context_args)
    page = context.new_page()
    login(page, live_server.url, user.email)
    page.goto(f"{live_server.url}/eventlogs/{cruise.pk}/")
    return context, page


def fill_entry(page, instrument: str, action: str, *, station: str = "", comment: str = "", time: str = ""):
    page.select_option("#id_instrument", instrument)
    page.select_option("#id_action", action)
    if station:
        page.fill("#id_station", station)
    page.fill("#id_time", time)
    page.fill("#id_comment", comment)


def test_typing_during_a_save_on_a_slow_link_is_kept_and_nothing_reloads(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SATELLITE)
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    # CTD is not the first instrument: a reload would have reset it to ADCP.
    fill_entry(page, "CTD", "deploy", station="S07", comment="first cast")
    page.click(".el-submit")
    page.wait_for_selector("#el-queue-status >> text=sending")
    # The next entry, typed while the first is still on its way.
    page.select_option("#id_action", "at bottom")
    page.click("#id_comment")
    page.keyboard.type("wire out 2950 m")
    # The answer has not reached the page yet: the typing really happened while the save was in flight.
    assert page.locator("#el-rows >> text=TE2401-0001").count() == 0
    page.wait_for_selector("#el-rows >> text=TE2401-0001", timeout=30000)
    page.wait_for_selector("#el-queue", state="hidden")
    assert page.evaluate("window.sameDocument") is True
    assert page.input_value("#id_comment") == "wire out 2950 m"
    assert page.input_value("#id_action") == "at bottom"
    assert page.input_value("#id_instrument") == "CTD"
    assert page.input_value("#id_station") == "S07"
    assert page.evaluate("document.activeElement.id") == "id_comment"
    row = page.locator("#el-rows tr").first
    assert [row.locator(f".{c}").inner_text() for c in ("el-inst", "el-act", "el-comment")] == [
        "CTD",
        "deploy",
        "first cast",
    ]
    shoot(page, "slow-link")
    # The second entry goes in under the same instrument and station, still without a reload.
    page.click(".el-submit")
    page.wait_for_selector("#el-rows >> text=TE2401-0002", timeout=30000)
    assert page.evaluate("window.sameDocument") is True
    events = list(Event.objects.order_by("number"))
    assert [(e.instrument, e.station, e.action, e.comment) for e in events] == [
        ("CTD", "S07", "deploy", "first cast"),
        ("CTD", "S07", "at bottom", "wire out 2950 m"),
    ]
    context.close()


def test_a_refused_queued_entry_stays_flagged_until_fixed_and_resent(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    context.set_offline(True)
    fill_entry(page, "CTD", "deploy", station="S08", comment="cast 1 in")
    page.click(".el-submit")
    # A time the browser's text field takes and the portal refuses (month 13).
    fill_entry(page, "CTD", "at bottom", comment="bottom at 3012 m", time="2026-13-40T10:00Z")
    page.click(".el-submit")
    fill_entry(page, "CTD", "recover", comment="on deck")
    page.click(".el-submit")
    page.wait_for_selector("#el-queue-status >> text=3 entries waiting for the link")
    assert len(queue(page, cruise)) == 3 and not Event.objects.exists()
    context.set_offline(False)  # the link returns: the queue flushes by itself
    page.wait_for_selector("#el-rows >> text=TE2401-0002", timeout=30000)
    refused = page.locator("#el-pending li.el-refused")
    refused.wait_for()
    assert "Time (UTC): Use an ISO 8601 UTC time" in refused.locator(".el-error").inner_text()
    assert [e.comment for e in Event.objects.order_by("number")] == ["cast 1 in", "on deck"]
    kept = queue(page, cruise)
    assert len(kept) == 1 and kept[0]["entry"]["comment"] == "bottom at 3012 m" and kept[0]["error"]["time"]
    shoot(page, "refused-entry")
    # It survives a reload, flagged, with what was typed into it.
    page.reload()
    refused = page.locator("#el-pending li.el-refused")
    refused.wait_for()
    assert refused.locator("[name=comment]").input_value() == "bottom at 3012 m"
    refused.locator("[name=time]").fill("2026-11-30T10:00:00Z")
    refused.locator(".el-resend").click()
    page.wait_for_selector("#el-rows >> text=TE2401-0003", timeout=30000)
    page.wait_for_selector("#el-queue", state="hidden")
    fixed = Event.objects.get(number=3)
    assert (fixed.action, fixed.comment, fixed.time.isoformat()) == (
        "at bottom",
        "bottom at 3012 m",
        "2026-11-30T10:00:00+00:00",
    )
    assert queue(page, cruise) == []
    context.close()


def test_a_lapsed_session_keeps_the_queue_and_asks_to_sign_in_again(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    page.route("**/api/eventlogs/**", lambda route: route.abort())  # the link is down
    fill_entry(page, "XBT", "launch", comment="probe 7")
    page.click(".el-submit")
    page.wait_for_selector("#el-queue-status >> text=1 entry waiting for the link")
    # Meanwhile the person signs out in another tab (or the session lapses).
    other = context.new_page()
    other.goto(f"{live_server.url}/")
    other.locator("form[action='/accounts/logout/'] button").click()
    other.wait_for_load_state()
    other.close()
    page.unroute("**/api/eventlogs/**")
    page.click("#el-send-now")
    page.wait_for_selector("#el-signin")
    assert "1 entry is kept on this device" in page.inner_text("#el-queue-status")
    assert len(queue(page, cruise)) == 1 and not Event.objects.exists()
    shoot(page, "sign-in-again")
    page.click("#el-signin")
    page.fill("input[name=login]", shipboard_staff.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_selector("#el-rows >> text=TE2401-0001", timeout=30000)
    assert page.url.endswith(f"/eventlogs/{cruise.pk}/")
    assert queue(page, cruise) == []
    assert Event.objects.get().comment == "probe 7"
    context.close()


def test_the_draft_survives_a_reload(live_server, browser, cruise, operator_user, shipboard_staff):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    fill_entry(page, "MOORING", "release", station="M2", comment="release code sent, waiting for the float")
    page.reload()  # or the tab crashed, or the phone killed it
    assert page.input_value("#id_instrument") == "MOORING"
    assert page.input_value("#id_action") == "release"
    assert page.input_value("#id_station") == "M2"
    assert page.input_value("#id_comment") == "release code sent, waiting for the float"
    assert not Event.objects.exists()
    context.close()


def test_entries_queued_by_the_earlier_page_are_sent_not_dropped(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    """A ship that kept entries through a portal upgrade: the earlier page queued the raw form fields."""
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    old = [
        {"csrfmiddlewaretoken": "stale", "idempotency_key": "old1", "instrument": "NET", "action": "deploy"},
        {"csrfmiddlewaretoken": "stale", "idempotency_key": "old2", "instrument": "NET", "action": "recover"},
    ]
    page.evaluate(
        f"localStorage.setItem('quayside-eventlog-queue-{cruise.pk}', {json.dumps(json.dumps(old))})"
    )
    page.reload()
    page.wait_for_selector("#el-rows >> text=TE2401-0002", timeout=30000)
    assert [(e.idempotency_key, e.action) for e in Event.objects.order_by("number")] == [
        ("old1", "deploy"),
        ("old2", "recover"),
    ]
    assert queue(page, cruise) == []
    context.close()


def test_a_server_error_or_a_foreign_answer_keeps_the_entry(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    api = "**/api/eventlogs/**"
    page.route(api, lambda route: route.fulfill(status=502, body="Bad Gateway"))
    fill_entry(page, "ADCP", "start logging", comment="new config file")
    page.click(".el-submit")
    page.wait_for_selector("#el-queue-status >> text=The portal answered 502")
    page.unroute(api)
    # The satellite provider's sign-in page, answered with 200 in the portal's place.
    page.route(
        api, lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>SatLink</h1>")
    )
    page.click("#el-send-now")
    page.wait_for_selector("#el-queue-status >> text=could not be read")
    assert len(queue(page, cruise)) == 1 and not Event.objects.exists()
    page.unroute(api)
    page.click("#el-send-now")
    page.wait_for_selector("#el-rows >> text=TE2401-0001", timeout=30000)
    assert queue(page, cruise) == [] and Event.objects.get().comment == "new config file"
    context.close()


def test_after_signing_in_again_in_another_tab_the_queue_flushes_with_the_new_csrf_token(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    context, page = log_page(browser, live_server, cruise, shipboard_staff)
    page.route("**/api/eventlogs/**", lambda route: route.abort())
    fill_entry(page, "UWAY", "note", comment="thermosalinograph flow low")
    page.click(".el-submit")
    page.wait_for_selector("#el-queue-status >> text=1 entry waiting for the link")
    other = context.new_page()  # a new session and a rotated CSRF token; this page still holds the old one
    other.goto(f"{live_server.url}/")
    other.locator("form[action='/accounts/logout/'] button").click()
    other.wait_for_load_state()
    login(other, live_server.url, shipboard_staff.email)
    other.close()
    page.unroute("**/api/eventlogs/**")
    page.click("#el-send-now")
    page.wait_for_selector("#el-rows >> text=TE2401-0001", timeout=30000)
    assert page.locator("#el-signin").count() == 0 and queue(page, cruise) == []
    assert Event.objects.get().comment == "thermosalinograph flow low"
    context.close()


def test_on_a_phone_the_log_button_and_the_latest_entries_fit_the_screen(
    live_server, browser, cruise, operator_user, shipboard_staff
):
    open_log(cruise, operator_user)
    for action, comment in [("deploy", "cast 3 in the water"), ("recover", "all 24 bottles closed")]:
        services.add_entry(
            cruise,
            shipboard_staff,
            {"instrument": "CTD", "action": action, "station": "S9", "comment": comment},
        )
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    context = browser.new_context(**phone)
    page = context.new_page()
    errors = []  # a script or style the page's CSP refused would show here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server.url, shipboard_staff.email)
    page.goto(f"{live_server.url}/eventlogs/{cruise.pk}/")
    assert page.evaluate("window.scrollY") == 0
    button = page.locator(".el-submit").bounding_box()
    assert button["y"] >= 0 and button["y"] + button["height"] <= 844, button
    assert button["x"] >= 0 and button["x"] + button["width"] <= 390, button
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    latest = page.locator("#el-rows tr").first
    for cls, text in [("el-inst", "CTD"), ("el-act", "recover"), ("el-comment", "all 24 bottles closed")]:
        cell = latest.locator(f".{cls}")
        assert cell.is_visible() and cell.inner_text() == text
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (cls, box)
    shoot(page, "phone")
    shoot(page, "phone-full", full_page=True)
    # Logging from the phone works the same way.
    fill_entry(page, "CTD", "deploy", comment="cast 4")
    page.tap(".el-submit")
    page.wait_for_selector("#el-rows >> text=TE2401-0003", timeout=30000)
    assert errors == []
    context.close()
