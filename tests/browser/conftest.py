import os

import pytest

from tests.conftest import require_system

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser():
    """Debian's headless Chromium through Playwright (never ``playwright install``)."""
    require_system(
        "Debian's chromium", os.path.exists(CHROMIUM), "apt-get install -y chromium (or make test as root)"
    )
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()
