from tests.browser.conftest import browser  # noqa: F401  (headless Debian Chromium, shared fixture)
from tests.support.ingest_fixtures import allow_loopback, data_server, eager_tasks  # noqa: F401
