"""The API docs page renders under the pages' Content Security Policy, with nothing from outside."""

import pytest

from tests.browser.conftest import browser  # noqa: F401  (headless Debian Chromium, shared fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_redoc_renders_without_csp_violations_or_outside_requests(live_server, browser):  # noqa: F811
    page = browser.new_page()
    outside, blocked = [], []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url)
            if r.url.startswith("http") and not r.url.startswith(live_server.url)
            else None
        ),
    )
    page.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("#redoc-container h1", timeout=20_000)
    assert "Quayside" in page.text_content("#redoc-container h1")
    page.close()
    # Redoc's side menu names its maker with a logo from its CDN: the policy stops that request before
    # it leaves the browser (on a ship or in a closed network it would hang or leak who is reading).
    assert sorted(outside) == sorted(blocked), (outside, blocked)
