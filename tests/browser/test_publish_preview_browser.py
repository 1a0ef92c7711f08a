"""Publish with a look first, in headless Chromium: the web form submits, the status page turns into the
quality report and a marked landing-page preview once the checks pass, and "Publish" archives it.
Screenshots go to var/ci/screenshots/ (CI keeps var/ci as artefacts)."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.submissions import services
from apps.submissions.models import Submission
from tests.packages.helpers import eml_for, two_tables
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "ci" / "screenshots"


def test_a_web_submission_is_previewed_then_published(live_server, browser, vetted_user, tmp_path):
    folder = tmp_path / "upload"
    tables = two_tables(folder)
    eml = tmp_path / "edi.910.1.xml"
    eml.write_bytes(eml_for("edi.910.1", tables))
    page = browser.new_page()
    login(page, live_server.url, vetted_user.email)
    page.goto(f"{live_server.url}/submissions/")
    page.set_input_files('input[name="eml"]', str(eml))
    page.set_input_files('input[name="data"]', [str(folder / t.object_name) for t in tables])
    page.click('form.card button[type="submit"]')
    page.wait_for_selector("#submission-status", timeout=20_000)
    services.run_all(Submission.objects.get(package_id_text="edi.910.1"))
    # The status script notices "awaiting publication" and shows the preview (no click needed).
    page.wait_for_selector("text=Preview — not published yet", timeout=20_000)
    assert page.is_visible("#publish") and page.is_visible("#discard")
    assert "stations.csv" in page.text_content("#landing-preview")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "publish-preview.png"), full_page=True)
    page.click("#publish")
    page.wait_for_selector("text=Publishing")
    sub = services.run_all(Submission.objects.get(package_id_text="edi.910.1"))
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    page.wait_for_selector("#landing-page", timeout=20_000)
    page.click("#landing-page")
    page.wait_for_selector("text=Public")
    assert "Preview" not in page.title()
    page.close()
