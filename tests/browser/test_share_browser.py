"""The sharer's two minutes, in headless Chromium: from the empty share page, two files, a title, the
default licence and a description; "Continue" (the proposed columns), "Preview", "Publish", and the public
landing page with checksums. Then: no way to delete it, an edited description, and version 2 with one
changed file that stores exactly one new blob. The person's part is timed and its actions counted (the
numbers are in docs/sharing.md). The worker's steps run in this process (``run_all``), inside the timed
part: the person waits for them as they would for the worker."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from apps.shares.models import Draft, Share
from apps.submissions import services
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "ci" / "screenshots"
STATIONS = "station,depth_m,temperature\nA1,10,12.5\nA2,20,11.0\nA3,30,9.75\n"
README = "Three stations of the harbour mooring line, 2024.\n"


def run_pipeline(user) -> None:
    """What the worker does between the person's clicks."""
    sub = Draft.objects.filter(sharer=user).latest("created_at").submission
    services.run_all(sub)


def test_a_share_takes_under_two_minutes_and_four_clicks(live_server, browser, vetted_user, tmp_path):
    (tmp_path / "stations.csv").write_text(STATIONS)
    (tmp_path / "README.txt").write_text(README)
    page = browser.new_page()
    login(page, live_server.url, vetted_user.email)
    clicks = fields = 0

    started = time.monotonic()
    page.goto(f"{live_server.url}/share/")
    assert page.is_visible("#irreversible")
    page.set_input_files("#id_files", [str(tmp_path / "stations.csv"), str(tmp_path / "README.txt")])
    page.fill("#id_title", "Harbour stations 2024")
    page.fill("#id_description", "Temperatures at three stations of the mooring line.")
    fields += 3  # the files, the title, the description (the licence keeps its default, CC-BY-4.0)
    page.click("#continue")
    clicks += 1
    # The proposed columns, typed from every value: depth_m integer, temperature real.
    assert page.input_value('select[aria-label="type of depth_m"]') == "int"
    assert page.input_value('select[aria-label="type of temperature"]') == "real"
    page.click("#preview")
    clicks += 1
    page.wait_for_selector("#submission-status", timeout=20_000)
    run_pipeline(vetted_user)
    page.wait_for_selector("text=Preview — not published yet", timeout=20_000)
    assert page.is_visible("#irreversible")
    page.click("#publish")
    clicks += 1
    page.wait_for_selector("text=Publishing")
    run_pipeline(vetted_user)
    page.wait_for_selector("#landing-page", timeout=20_000)
    page.click("#landing-page")
    clicks += 1
    page.wait_for_selector("text=Public")
    person_seconds = time.monotonic() - started

    share = Share.objects.get(sharer=vetted_user)
    revision = share.package.revisions.get(number=1)
    landing = page.content()
    for entity in revision.entities.select_related("blob"):
        assert entity.blob.sha256 in landing and entity.blob.md5 in landing
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "share-landing.png"), full_page=True)
    print(f"\nquick share: {person_seconds:.1f} s, {clicks} clicks, {fields} fields")
    assert person_seconds < 120 and clicks <= 4 and fields <= 3

    # No delete: the share's page offers none, and a direct DELETE or POST is refused.
    page.goto(f"{live_server.url}/share/{share.short_id}/")
    assert page.locator("text=/^delete$/i").count() == 0
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for method in ("delete", "post"):
        response = getattr(page.request, method)(
            f"{live_server.url}/share/{share.short_id}/", headers={"X-CSRFToken": csrf}
        )
        assert response.status == 405
    assert share.package.revisions.filter(state="published").count() == 1

    # The sharer edits the description: a metadata revision with history.
    page.click("#edit-metadata")
    page.fill("#id_description", "Temperatures at three stations of the mooring line, in °C.")
    page.click("#save")
    page.wait_for_selector("#metadata-history")
    assert "in °C" in page.text_content("#metadata-history")
    revision.refresh_from_db()
    assert revision.abstract.endswith("in °C.")

    # Version 2: README.txt kept by reference, stations.csv changed: exactly one new data blob.
    before = set(revision.entities.values_list("blob__sha256", flat=True))
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "stations.csv").write_text(STATIONS + "A4,40,8.5\n")
    page.click("#new-version")
    page.set_input_files("#id_files", [str(tmp_path / "v2" / "stations.csv")])
    page.click("#continue")
    page.click("#preview")
    page.wait_for_selector("#submission-status", timeout=20_000)
    run_pipeline(vetted_user)
    page.wait_for_selector("#publish", timeout=20_000)
    page.click("#publish")
    page.wait_for_selector("text=Publishing")
    run_pipeline(vetted_user)
    page.wait_for_selector("#landing-page", timeout=20_000)
    v2 = share.package.revisions.get(number=2)
    after = set(v2.entities.values_list("blob__sha256", flat=True))
    assert v2.state == "published" and len(after - before) == 1 and len(after & before) == 1
    page.close()
