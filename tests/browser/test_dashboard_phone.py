"""A data manager on a 390 px phone opens the dashboard from the menu, reads its counts without sideways
scrolling, and reaches the DOI queue by clicking. The screenshot is kept as a CI artefact (var/ci/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import factories
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "ci"


def test_the_dashboard_fits_a_phone_and_leads_to_the_doi_queue(live_server, browser, data_manager):
    factories.make_revision("published")  # two pending DOIs in the queue
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, live_server.url, data_manager.email)
    page.goto(f"{live_server.url}/search/")
    page.click(".nav-toggle")
    page.click("#nav-links >> text=Dashboard")
    page.wait_for_selector("#panel-dois")
    assert page.inner_text("#panel-dois .dash-count") == "2"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "dashboard-390.png"), full_page=True)
    page.click("#panel-dois >> text=Open the DOI queue")
    page.wait_for_url(f"{live_server.url}/dois/")
    page.close()
