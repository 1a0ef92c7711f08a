"""The live status page in headless Chromium: steps update in place (fetch() polling of status.json,
no reload) and, with JavaScript off, the page refreshes itself until the submission has finished."""

from __future__ import annotations

import pytest

from apps.submissions import services
from tests.packages.helpers import eml_for, two_tables
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submission(user, tmp_path, package_id):
    tables = two_tables(tmp_path / package_id)
    files = [(t.object_name, open(tmp_path / package_id / t.object_name, "rb")) for t in tables]
    return services.submit(user, eml_for(package_id, tables), files=files, start=False)


def test_the_status_page_updates_each_step_without_reloading(live_server, browser, vetted_user, tmp_path):
    sub = _submission(vetted_user, tmp_path, "edi.900.1")
    page = browser.new_page()
    login(page, live_server.url, vetted_user.email)
    page.goto(f"{live_server.url}/submissions/{sub.transaction}/")
    assert page.text_content('[data-step="validate"] [data-field="state"]') == "pending"
    page.evaluate("window.__sameDocument = true")
    services.run_step(sub.pk, "validate")
    page.wait_for_selector('[data-step="validate"] [data-field="state"]:text-is("done")', timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True  # updated in place, not reloaded
    assert "valid EML 2.2.0" in page.text_content('[data-step="validate"] [data-field="message"]')
    services.run_all(sub)
    page.wait_for_selector('[data-field="state"]:text-is("succeeded")', timeout=15_000)
    page.wait_for_selector("text=Quality report")
    page.close()


def test_without_javascript_the_page_refreshes_itself(live_server, browser, vetted_user, tmp_path):
    sub = _submission(vetted_user, tmp_path, "edi.901.1")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    login(page, live_server.url, vetted_user.email)
    page.goto(f"{live_server.url}/submissions/{sub.transaction}/")
    services.run_all(sub)
    page.wait_for_selector('[data-field="state"]:text-is("succeeded")', timeout=20_000)
    context.close()
