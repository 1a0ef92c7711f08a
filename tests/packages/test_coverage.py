"""A dataset's coverage as real EML writes it: several sites (stations as points, areas as boxes or
G-polygons), several temporal coverages; the union box, the sites one by one, the earliest and latest date."""

from __future__ import annotations

from apps.packages.eml.build import build_eml
from apps.packages.eml.extract import extract
from apps.packages.eml.validator import validate_eml


def site(w, e, n, s, name="", ring=""):
    desc = f"<geographicDescription>{name or 'site'}</geographicDescription>"
    box = (
        f"<boundingCoordinates><westBoundingCoordinate>{w}</westBoundingCoordinate>"
        f"<eastBoundingCoordinate>{e}</eastBoundingCoordinate><northBoundingCoordinate>{n}</northBoundingCoordinate>"
        f"<southBoundingCoordinate>{s}</southBoundingCoordinate></boundingCoordinates>"
    )
    return f"<geographicCoverage>{desc}{box}{ring}</geographicCoverage>"


def dates(begin, end=""):
    if not end:
        return f"<temporalCoverage><singleDateTime><calendarDate>{begin}</calendarDate></singleDateTime></temporalCoverage>"
    return (
        f"<temporalCoverage><rangeOfDates><beginDate><calendarDate>{begin}</calendarDate></beginDate>"
        f"<endDate><calendarDate>{end}</calendarDate></endDate></rangeOfDates></temporalCoverage>"
    )


def coverage_of(xml: str) -> dict:
    result = validate_eml(build_eml("edi.5.1", [], coverage_xml=xml))
    assert result.valid, result.reasons
    return extract(result.tree).coverage


def test_several_sites_and_dates_are_all_kept():
    ring = (
        "<datasetGPolygon><datasetGPolygonOuterGRing>"
        "<gRing>-71.0,41.0 -70.0,41.0 -70.0,42.0 -71.0,42.0 -71.0,41.0</gRing>"
        "</datasetGPolygonOuterGRing></datasetGPolygon>"
    )
    coverage = coverage_of(
        site(-72.5, -72.5, 40.1, 40.1, "Station A")
        + site(-69.25, -69.25, 43.0, 43.0, "Station B")
        + site(-71.0, -70.0, 42.0, 41.0, "Study area", ring)
        + dates("2019-05-01", "2019-09-30")
        + dates("2018-07-04")
        + dates("2021-01-01", "2021-02-01")
    )
    assert coverage["bbox"] == [-72.5, 40.1, -69.25, 43.0]  # every site, not only the first
    assert coverage["description"] == "Station A"
    assert [s["description"] for s in coverage["sites"]] == ["Station A", "Station B", "Study area"]
    assert coverage["sites"][0] == {"bbox": [-72.5, 40.1, -72.5, 40.1], "description": "Station A"}
    assert coverage["sites"][2]["polygon"][:2] == [[-71.0, 41.0], [-70.0, 41.0]]
    assert (coverage["begin"], coverage["end"]) == ("2018-07-04", "2021-02-01")


def test_one_plain_box_stays_as_it_was():
    coverage = coverage_of(site(-124.5, -124.0, 44.6, 44.0) + dates("2024-03-01", "2024-03-20"))
    assert coverage == {
        "bbox": [-124.5, 44.0, -124.0, 44.6],
        "description": "site",
        "begin": "2024-03-01",
        "end": "2024-03-20",
    }


def test_sites_either_side_of_the_antimeridian_make_a_box_across_it():
    coverage = coverage_of(site(170.0, 175.0, -10.0, -20.0) + site(-178.0, -170.0, -5.0, -15.0))
    assert coverage["bbox"] == [170.0, -20.0, -170.0, -5.0]  # 20° across it, not 345° the long way


def test_g_ring_points_are_read_and_a_bad_ring_is_left_to_the_box():
    points = "".join(
        f"<gRingPoint><gRingLatitude>{lat}</gRingLatitude><gRingLongitude>{lon}</gRingLongitude></gRingPoint>"
        for lon, lat in [(10, 50), (12, 50), (11, 52)]
    )
    by_points = (
        f"<datasetGPolygon><datasetGPolygonOuterGRing>{points}</datasetGPolygonOuterGRing></datasetGPolygon>"
    )
    two = "<datasetGPolygon><datasetGPolygonOuterGRing><gRing>10,50 12,50</gRing></datasetGPolygonOuterGRing></datasetGPolygon>"
    wild = "<datasetGPolygon><datasetGPolygonOuterGRing><gRing>10,50 12,95 11,52</gRing></datasetGPolygonOuterGRing></datasetGPolygon>"
    coverage = coverage_of(
        site(10, 12, 52, 50, "a", by_points)
        + site(10, 12, 52, 50, "b", two)
        + site(10, 12, 52, 50, "c", wild)
    )
    assert coverage["sites"][0]["polygon"] == [[10.0, 50.0], [12.0, 50.0], [11.0, 52.0]]
    assert "polygon" not in coverage["sites"][1] and "polygon" not in coverage["sites"][2]
