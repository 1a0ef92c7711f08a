"""A dataset without a box of its own takes its cruise's real track: DataCite geoLocationPoints of the control
points (valid against the DataCite 4.5 XSD), an OAI-PMH dc:coverage trackline, a schema.org GeoShape line."""

from lxml import etree

from apps.publishing.crosswalks import metadata
from tests.factories import make_revision
from tests.support.tracks import make_track

from .conftest import assert_valid

NS = {"dcite": "http://datacite.org/schema/kernel-4", "dc": "http://purl.org/dc/elements/1.1/"}
# 178 → -176.2 (lon in [-180, 180)): crosses the antimeridian
DATELINE = [(h, -17.0 - h / 100, (178.0 + h / 10 + 180) % 360 - 180) for h in range(0, 60, 2)]


def test_trackline_goes_into_datacite_oai_and_jsonld(cruise, schemas):
    track = make_track(cruise, DATELINE)
    revision = make_revision(cruise=cruise, coverage={"begin": "2024-03-02", "end": "2024-03-04"})
    xml = metadata.datacite_xml(revision)
    assert_valid(schemas["datacite"], xml)
    doc = etree.fromstring(xml)
    box = doc.find("dcite:geoLocations/dcite:geoLocation/dcite:geoLocationBox", NS)
    assert float(box.findtext("dcite:westBoundLongitude", namespaces=NS)) == track.west > track.east
    points = doc.findall("dcite:geoLocations/dcite:geoLocation/dcite:geoLocationPoint", NS)
    assert 2 < len(points) <= metadata.TRACK_POINTS + 2
    first = points[0]
    assert float(first.findtext("dcite:pointLongitude", namespaces=NS)) == 178.0
    assert float(first.findtext("dcite:pointLatitude", namespaces=NS)) == -17.0

    dc = metadata.oai_dc_element(revision)
    assert_valid(schemas["oai_dc"], dc)
    coverage = [c.text for c in dc.findall("dc:coverage", NS)]
    assert any(c.startswith("trackline (WKT, WGS 84): MULTILINESTRING ((178 -17, ") for c in coverage)
    geo = metadata.jsonld(revision)["spatialCoverage"]["geo"]
    assert geo[1]["@type"] == "GeoShape" and geo[1]["line"].count(" ") >= 3

    # The cruise format (OAI-PMH metadataPrefix "cruise") carries the track: box, trackline, rating.
    from apps.publishing.oai import provider

    element = provider.cruise_element(revision)
    assert_valid(schemas["cruise"], element)
    cr = {"cr": provider.CRUISE_NS}
    assert element.findtext("cr:track/cr:trackline", namespaces=cr).startswith("MULTILINESTRING ((178 -17, ")
    assert float(element.findtext("cr:track/cr:westBoundLongitude", namespaces=cr)) == track.west
    assert element.findtext("cr:track/cr:rating", namespaces=cr) == track.overall
    assert element.findtext("cr:track/cr:certificate", namespaces=cr).endswith(f"/navigation/{cruise.pk}/")

    # a dataset with its own box keeps it alone
    boxed = make_revision(cruise=cruise)
    assert not etree.fromstring(metadata.datacite_xml(boxed)).findall(".//dcite:geoLocationPoint", NS)
