"""The hold journey in headless Chromium: the chief scientist sees a published dataset disabled with the reason,
holds the one that is not public yet, and is told what is held now (issue 11 §1 "Hold form"). The screenshot
goes to var/ci/screenshots/ (CI keeps var/ci as artefacts)."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from apps.packages.models import Revision
from tests.cruises.helpers import approve_cruise
from tests.factories import make_revision
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "ci" / "screenshots"


def test_chief_scientist_holds_only_what_is_not_public(
    live_server, browser, cruise, operator_user, chief_scientist, vetted_user
):
    approve_cruise(cruise, operator_user, chief_scientist)
    public = make_revision("published", owner=vetted_user, cruise=cruise, identifier=901)
    waiting = make_revision("archived", owner=vetted_user, cruise=cruise, identifier=902)
    page = browser.new_page()
    login(page, live_server.url, chief_scientist.email)
    page.goto(f"{live_server.url}/holds/cruise/{cruise.pk}/new/")
    public_box = page.locator(f"input[name=packages][value='{public.package.pk}']")
    assert public_box.is_disabled()
    assert page.locator("text=public data cannot be held back; a data manager can withdraw it").is_visible()
    page.check("input[name=scope][value=some]")
    page.check(f"input[name=packages][value='{waiting.package.pk}']")
    ends_on = timezone.now().date() + datetime.timedelta(days=60)
    page.fill("#id_ends_on", ends_on.isoformat())
    page.fill("#id_reason", "Thesis work")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(f"text=data held now: {waiting.package.package_key}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "hold-asserted.png"), full_page=True)
    waiting.refresh_from_db(), public.refresh_from_db()
    assert waiting.state == Revision.State.HELD and public.state == Revision.State.PUBLISHED
    page.close()
