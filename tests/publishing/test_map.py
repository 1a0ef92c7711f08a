"""The coverage map on the landing page: Natural Earth land drawn inline, the box at its SVG coordinates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.utils import translation
from lxml import etree

from apps.publishing.landing import views

LAND_PATH = (
    Path(__file__).resolve().parents[2] / "apps/publishing/templates/publishing/includes/land_path.html"
)


def page_url(revision) -> str:
    return f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"


def with_bbox(make_revision, w, s, e, n):
    return make_revision(coverage={"bbox": [w, s, e, n], "description": "Test area"})


def map_markup(html: str) -> str:
    match = re.search(r'<figure class="coverage-map">.*?</figure>', html, re.S)
    assert match, "the page has no coverage map"
    return match.group(0)


def map_svg(client, revision) -> etree._Element:
    response = client.get(page_url(revision))
    assert response.status_code == 200
    figure = map_markup(response.content.decode())
    # Inline SVG in HTML carries no namespace; parsing it as XML also proves it is well formed.
    return etree.fromstring(re.search(r"<svg.*?</svg>", figure, re.S).group(0))


def rects(svg) -> list[tuple[float, float, float, float]]:
    return [
        tuple(float(r.get(a)) for a in ("x", "y", "width", "height"))
        for r in svg.iter("rect")
        if r.get("class") == "coverage-box"
    ]


def centre(svg, cls: str) -> tuple[float, float]:
    circle = next(el for el in svg.iter("circle") if cls in (el.get("class"), el.getparent().get("class")))
    return float(circle.get("cx")), float(circle.get("cy"))


def land_rings(d: str) -> list[list[tuple[float, float]]]:
    """The rings of the land path's `m`/`l`/`z` commands (relative or absolute) in map coordinates."""
    rings, ring = [], []
    x = y = 0.0
    start = (0.0, 0.0)
    command = ""
    tokens = re.findall(r"[MmLlZz]|-?(?:\d+\.?\d*|\.\d+)", d)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token in "MmLlZz":
            command, i = token, i + 1
            if token in "Zz":
                rings.append(ring)
                ring, (x, y) = [], start
            continue
        a, b = float(tokens[i]), float(tokens[i + 1])
        i += 2
        relative = command in "ml"
        # The path is on a 0.1 grid; rounding keeps summed deltas from drifting to -1e-14.
        x, y = (round(x + a, 1), round(y + b, 1)) if relative else (a, b)
        if command in "Mm":
            start, ring = (x, y), [(x, y)]
            command = "l" if relative else "L"  # further pairs after a moveto are linetos
        else:
            ring.append((x, y))
    return rings


def on_land(rings, lon: float, lat: float) -> bool:
    """Whether a browser fills this point: SVG's default nonzero rule, so the winding of the rings counts
    (a hole such as the Caspian must wind against the land around it)."""
    px, py = lon + 180, 90 - lat
    winding = 0
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > py) != (y2 > py) and px < x1 + (py - y1) * (x2 - x1) / (y2 - y1):
                winding += 1 if y2 > y1 else -1
    return winding != 0


@pytest.mark.parametrize(
    "bbox, box, centre_at",
    [
        # x = lon + 180, y = 90 - north, width = east - west, height = north - south
        ((-70, 30, -60, 45), (110, 45, 10, 15), (115, 52.5)),
        ((100.5, -45.2, 160.25, -10), (280.5, 100, 59.75, 35.2), (310.38, 117.6)),
        # a box too small to see is widened to 1.5 units from its west/north edge
        ((-70.5, 40.1, -69.2, 41.3), (109.5, 48.7, 1.5, 1.5), (110.15, 49.3)),
    ],
)
def test_the_box_sits_at_its_svg_coordinates_over_the_land(client, make_revision, bbox, box, centre_at):
    svg = map_svg(client, with_bbox(make_revision, *bbox))
    assert rects(svg) == [pytest.approx(box)]
    assert centre(svg, "coverage-centre") == pytest.approx(centre_at)
    assert svg.get("aria-label") == "Coverage: west {}, south {}, east {}, north {}".format(
        *(float(v) for v in bbox)
    )
    # Land is drawn, and drawn before (under) the box.
    order = [el.get("class") for el in svg.iter() if el.get("class") in ("land", "coverage-box")]
    assert order == ["land", "coverage-box"]
    land = next(el for el in svg.iter("path") if el.get("class") == "land")
    assert len(land_rings(land.get("d"))) > 100


def test_a_box_across_the_antimeridian_is_two_rects(client, make_revision):
    svg = map_svg(client, with_bbox(make_revision, 170, -20, -175, -10))
    # 170°E → 180° on the right edge, -180° → 175°W on the left edge.
    assert sorted(rects(svg)) == [pytest.approx((0, 100, 5, 10)), pytest.approx((350, 100, 10, 10))]
    assert centre(svg, "coverage-centre") == pytest.approx((357.5, 105))


def test_a_box_across_the_antimeridian_centred_on_it_wraps_its_centre(client, make_revision):
    svg = map_svg(client, with_bbox(make_revision, 175, 0, -175, 10))
    assert sorted(rects(svg)) == [pytest.approx((0, 80, 5, 10)), pytest.approx((355, 80, 5, 10))]
    assert centre(svg, "coverage-centre")[0] == pytest.approx(0)


def test_a_point_gets_a_marker_and_no_box(client, make_revision):
    svg = map_svg(client, with_bbox(make_revision, -30.5, 64.25, -30.5, 64.25))
    assert rects(svg) == []
    assert centre(svg, "coverage-point") == pytest.approx((149.5, 25.75))
    assert not any(el.get("class") == "coverage-centre" for el in svg.iter())


def test_a_line_of_longitude_is_still_a_box_not_a_point(client, make_revision):
    svg = map_svg(client, with_bbox(make_revision, 10, -5, 10, 5))
    assert rects(svg) == [pytest.approx((190, 85, 1.5, 10))]
    assert not any(el.get("class") == "coverage-point" for el in svg.iter())


def test_the_map_fetches_nothing_from_elsewhere(client, make_revision):
    html = client.get(page_url(with_bbox(make_revision, -70, 30, -60, 45))).content.decode()
    figure = map_markup(html)
    assert "http://" not in figure and "https://" not in figure
    assert not re.search(r"<image|href=|url\(", figure)


def test_a_revision_without_coverage_has_no_map(client, make_revision):
    html = client.get(page_url(make_revision(coverage={}))).content.decode()
    assert 'class="coverage-map"' not in html
    assert "No geographic coverage given." in html


def test_coordinates_are_never_localised(make_revision):
    # German writes 109,5: a decimal comma inside an SVG attribute would break the drawing.
    context = {"map": views._map(with_bbox(make_revision, -70.5, 30.25, -60, 45))}
    with translation.override("de"):
        html = render_to_string("publishing/includes/map.html", context)
    svg = etree.fromstring(re.search(r"<svg.*?</svg>", html, re.S).group(0))
    assert rects(svg) == [pytest.approx((109.5, 45, 10.5, 14.75))]


def test_the_land_path_is_the_world_and_small():
    text = LAND_PATH.read_text()
    assert len(text.encode()) < 60_000
    assert "Natural Earth" in text and "public domain" in text
    rings = land_rings(re.search(r' d="([^"]+)"', text).group(1))
    xs = [x for ring in rings for x, _ in ring]
    ys = [y for ring in rings for _, y in ring]
    assert min(xs) >= 0 and max(xs) <= 360 and min(ys) >= 0 and max(ys) <= 180
    land = {"Paris": (2.35, 48.85), "Sahara": (10, 23), "Brasília": (-47.9, -15.8), "Antarctica": (0, -85)}
    water = {"Pacific": (-140, 0), "Atlantic": (-30, 30), "Caspian Sea": (51, 42), "Arctic": (0, 88)}
    for name, (lon, lat) in land.items():
        assert on_land(rings, lon, lat), name
    for name, (lon, lat) in water.items():
        assert not on_land(rings, lon, lat), name


def test_each_site_of_a_coverage_is_marked_over_the_union_box(client, make_revision):
    revision = make_revision(
        coverage={
            "bbox": [-72.5, 40.0, -69.0, 43.0],
            "sites": [
                {"bbox": [-72.5, 40.0, -72.5, 40.0], "description": "Station <A>"},
                {"bbox": [-69.0, 43.0, -69.0, 43.0], "description": "Station B"},
                {"bbox": [-71.0, 41.0, -70.0, 42.0], "polygon": [[-71, 41], [-70, 41], [-70.5, 42]]},
                {"bbox": [-71.0, 41.0, -70.0, 42.0]},
            ],
        }
    )
    svg = map_svg(client, revision)
    assert len(rects(svg)) == 1  # the union box
    dots = [el for el in svg.iter() if el.get("class") == "coverage-site"]
    assert [(float(d.get("cx")), float(d.get("cy"))) for d in dots] == [(107.5, 50.0), (111.0, 47.0)]
    assert dots[0].findtext("title") == "Station <A>"  # escaped in the markup, text in the document
    areas = [el.get("points") for el in svg.iter() if el.get("class") == "coverage-area"]
    assert areas == ["109.0,49.0 110.0,49.0 109.5,48.0", "109.0,49.0 110.0,49.0 110.0,48.0 109.0,48.0"]
