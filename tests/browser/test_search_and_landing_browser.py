"""The search and landing pages in headless Chromium: nothing scrolls sideways on a 390 px phone, and
the search area is drawn on the map."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.packages.models import Entity
from apps.storage.services import store_bytes
from tests.browser.conftest import browser  # noqa: F401  (headless Debian Chromium, shared fixture)
from tests.factories import make_revision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "ci"
PHONE = {"width": 390, "height": 844}


def _long_named_revision(cruise):
    revision = make_revision(
        cruise=cruise,
        title="Conductivity, temperature and depth profiles from the continental shelf break survey",
        keywords=["sea_water_practical_salinity_from_conductivity_and_temperature", "CTD"],
    )
    Entity.objects.create(
        revision=revision,
        entity_id="long",
        name="long",
        object_name="TE2401_CTD_cast_017_downcast_bin_averaged_1dbar_quality_controlled_v3.csv",
        format_name="text/csv",
        blob=store_bytes(b"depth,temp\n1,4.5\n"),
    )
    return revision


def test_nothing_scrolls_sideways_on_a_phone(live_server, browser, cruise):  # noqa: F811
    revision = _long_named_revision(cruise)
    page = browser.new_page(viewport=PHONE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pkg = revision.package
    for name, path in (
        ("landing", f"/dataset/{pkg.scope}/{pkg.identifier}/{revision.number}/"),
        ("search", "/search/?q=temperature"),
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        page.screenshot(path=str(SCREENSHOTS / f"phone-{name}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px phone"
    # On the phone the filters fold away behind "Filters"; the results come first.
    assert page.evaluate("document.getElementById('facets').open") is False
    page.close()


def test_search_area_is_drawn_on_the_map(live_server, browser):  # noqa: F811
    make_revision(title="Gulf of Maine temps", coverage={"bbox": [-70.5, 42.0, -69.0, 43.5]})
    make_revision(title="North Sea temps", coverage={"bbox": [2.0, 54.0, 4.0, 56.0]})
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server.url}/search/")
    page.click("#bbox-map summary")
    svg = page.locator("#bbox-map svg")
    svg.wait_for(state="visible")
    box = svg.bounding_box()

    def at(lon: float, lat: float) -> tuple[float, float]:
        return box["x"] + (lon + 180) / 360 * box["width"], box["y"] + (90 - lat) / 180 * box["height"]

    page.mouse.move(*at(-80, 50))
    page.mouse.down()
    page.mouse.move(*at(-70, 40), steps=5)
    page.mouse.move(*at(-60, 30), steps=5)
    page.mouse.up()
    west, south, east, north = (float(v) for v in page.input_value("#bbox").split(","))
    # A pixel of this map is about half a degree.
    assert west == pytest.approx(-80, abs=1) and east == pytest.approx(-60, abs=1)
    assert south == pytest.approx(30, abs=1) and north == pytest.approx(50, abs=1)
    assert page.locator(".bbox-selection").get_attribute("visibility") == "visible"
    page.click("#search-form button[type=submit]")
    page.wait_for_load_state("load")
    titles = page.locator(".result h3").all_inner_texts()
    assert titles == ["Gulf of Maine temps"]
    page.close()
