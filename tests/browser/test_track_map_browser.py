"""The cruise page's track map in headless Chromium with no tiles reachable: the track, its control points and
the flagged fixes draw on the vendored Natural Earth land, and the page's policy is never violated."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import browser  # noqa: F401  (headless Debian Chromium, shared fixture)
from tests.support.tracks import make_track

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "ci"

WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def test_the_track_map_draws_offline_without_csp_violations(live_server, browser, cruise, settings):  # noqa: F811
    settings.MAP_TILE_URL = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens there: no tiles
    settings.MAP_TILE_ATTRIBUTION = "Test tiles"
    make_track(
        cruise,
        [(0, 32.7, -117.2), (12, 31.0, -122.0), (24, 28.0, -130.0), (36, 25.0, -140.0)],
        overall="yellow",
        flagged=[
            {"lat": 31.5, "lon": -121.0, "time": "2024-03-02T10:00:00Z", "flags": ["unreasonable_speed"]}
        ],
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.add_init_script(WATCH)
    console = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{live_server.url}/cruises/{cruise.pk}/")
    # Selectors, not wait_for_function: polling a string predicate is an eval, which the page's CSP refuses.
    page.wait_for_selector("#track-map[data-track-drawn]", state="attached")
    page.wait_for_selector("#track-map[data-land-drawn]", state="attached")
    drawn = page.evaluate("Object.assign({}, document.getElementById('track-map').dataset)")
    assert drawn["trackDrawn"] == "4" and drawn["landDrawn"] == "1" and drawn["rating"] == "yellow"
    layers = page.inner_text(".leaflet-control-layers")
    assert "Track (yellow)" in layers and "Control points" in layers and "Flagged fixes (1)" in layers
    assert page.locator("#track-map canvas").count() >= 1  # lines, points and land on the canvas renderer
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#track-map").screenshot(path=str(SCREENSHOTS / "track-map.png"))
    assert page.evaluate("window.__violations") == []
    assert not [m for m in console if "Content Security Policy" in m], console
    page.close()
