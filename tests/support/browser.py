"""Browser-test helpers (Playwright pages against Django's live server)."""

from tests.conftest import PASSWORD


def login(page, base: str, email: str) -> None:
    """Sign in through the real allauth form and insist that it worked."""
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, page.content()[:2000]
