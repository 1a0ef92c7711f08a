"""OGC API – Features at /ogcapi/: OWSLib against the live server, GeoJSON validity, paging, bbox (also across
the antimeridian), datetime, access (held data is not listed for anonymous users), OGC exceptions."""

import pytest
from geojson_pydantic import Feature, FeatureCollection
from owslib.ogcapi.features import Features

from tests.factories import CruiseFactory, make_revision
from tests.support.tracks import make_track

# geojson-pydantic warns (rightly accepts) a box with west > east: RFC 7946 §5.2 across the antimeridian.
pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:BBOX crossing the Antimeridian")]

HAWAII = [(0, 21.3, -157.9), (24, 22.0, -160.0), (48, 23.0, -163.0)]
DATELINE = [(0, -17.0, 178.0), (12, -17.5, 179.5), (24, -18.0, -179.0), (36, -18.5, -177.5)]
ATLANTIC = [(200, 40.0, -40.0), (224, 41.0, -38.0)]


@pytest.fixture
def tracks(vessel):
    a = make_track(CruiseFactory(cruise_id="HI2401", vessel=vessel), HAWAII, overall="yellow")
    b = make_track(CruiseFactory(cruise_id="FJ2401", vessel=vessel), DATELINE)
    c = make_track(CruiseFactory(cruise_id="AT2401", vessel=vessel), ATLANTIC, overall="red")
    return a, b, c


def valid_collection(data: dict) -> FeatureCollection:
    """RFC 7946 by geojson-pydantic, and OGC's members of a page."""
    fc = FeatureCollection.model_validate(data)
    assert data["numberReturned"] == len(data["features"])
    assert data["timeStamp"].endswith("Z")
    for feature in data["features"]:
        Feature.model_validate(feature)
    return fc


def ids(data: dict) -> set[str]:
    return {f["properties"]["cruise_id"] for f in data["features"]}


def test_owslib_reads_the_landing_page_collections_and_items_with_a_bbox(live_server, tracks):
    api = Features(f"{live_server.url}/ogcapi/")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in api.conformance()["conformsTo"]
    assert api.api()["paths"]["/collections/{collectionId}/items"]
    assert set(api.feature_collections()) == {"tracks", "footprints"}
    assert api.collection("tracks")["extent"]["spatial"]["bbox"] == [[-180.0, -18.5, 180.0, 41.0]]

    near_hawaii = api.collection_items("tracks", bbox=[-165, 18, -155, 25], limit=5)
    valid_collection(near_hawaii)
    assert ids(near_hawaii) == {"HI2401"} and near_hawaii["numberMatched"] == 1
    one = api.collection_item("tracks", near_hawaii["features"][0]["id"])
    Feature.model_validate(one)
    assert one["geometry"]["type"] == "LineString" and one["properties"]["rating"] == "yellow"
    everything = api.collection_items("tracks")
    assert valid_collection(everything) and ids(everything) == {"HI2401", "FJ2401", "AT2401"}


def test_antimeridian_bbox_and_a_split_trackline(client, tracks):
    # 170 → -170 crosses the antimeridian: the Fiji track, not Hawaii's
    data = client.get("/ogcapi/collections/tracks/items", {"bbox": "170,-30,-170,0"}).json()
    valid_collection(data)
    assert ids(data) == {"FJ2401"}
    (feature,) = data["features"]
    assert feature["geometry"]["type"] == "MultiLineString"
    assert feature["bbox"][0] > feature["bbox"][2]  # west > east: RFC 7946 §5.2
    # a box east of the dateline only meets the track's western part
    assert ids(client.get("/ogcapi/collections/tracks/items", {"bbox": "-179.5,-20,-170,-10"}).json()) == {
        "FJ2401"
    }
    # a box inside the Fiji track's box but away from the line: exact, so nothing
    assert (
        ids(client.get("/ogcapi/collections/tracks/items", {"bbox": "178.1,-18.4,179.0,-18.0"}).json())
        == set()
    )


def test_paging_follows_next_and_prev_links(client, vessel):
    for i in range(5):
        make_track(
            CruiseFactory(cruise_id=f"PG24{i:02d}", vessel=vessel),
            [(0, 10.0 + i, -30.0), (5, 10.5 + i, -30.5)],
        )
    seen, url, pages = [], "/ogcapi/collections/tracks/items?limit=2", 0
    while url:
        r = client.get(url)
        assert r["Content-Type"] == "application/geo+json"
        data = r.json()
        valid_collection(data)
        assert data["numberMatched"] == 5
        seen += [f["id"] for f in data["features"]]
        links = {link["rel"]: link["href"] for link in data["links"]}
        assert ("prev" in links) == (pages > 0)
        url = links.get("next", "").replace("http://testserver", "")
        pages += 1
    assert pages == 3 and len(seen) == 5 == len(set(seen))
    limited = client.get("/ogcapi/collections/tracks/items", {"limit": 100000}).json()
    assert limited["numberReturned"] == 5  # above the maximum is served as the maximum


def test_datetime_instant_interval_and_open_ends(client, tracks):
    def found(value):
        return ids(client.get("/ogcapi/collections/tracks/items", {"datetime": value}).json())

    assert found("2024-03-02T12:00:00Z") == {"HI2401", "FJ2401"}
    assert found("2024-03-03") == {"HI2401", "FJ2401"}
    assert found("2024-03-10T00:00:00Z/2024-03-12T00:00:00Z") == {"AT2401"}
    assert found("../2024-03-02T01:00:00Z") == {"HI2401", "FJ2401"}
    assert found("2024-03-04T00:00:01Z/..") == {"AT2401"}
    assert found("2025-01-01/..") == set()


@pytest.mark.parametrize(
    "query",
    [
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"bbox": "0,50,10,40"},
        {"datetime": "yesterday"},
        {"datetime": "2024-03-05/2024-03-01"},
        {"datetime": "../.."},
        {"limit": "0"},
        {"limit": "ten"},
        {"f": "xml"},
        {"colour": "red"},
        {"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "bbox": "0,0,1,1"},
    ],
)
def test_invalid_parameters_are_400_with_an_ogc_exception(client, db, query):
    r = client.get("/ogcapi/collections/tracks/items", query)
    assert r.status_code == 400
    assert r.json()["code"] == "InvalidParameterValue" and r.json()["description"]


def test_unknown_collection_and_feature_are_404(client, tracks):
    assert client.get("/ogcapi/collections/nope").json()["code"] == "NotFound"
    assert client.get("/ogcapi/collections/tracks/items/999999").status_code == 404
    assert client.get("/ogcapi/collections/footprints/items/abc").status_code == 404


def test_footprints_list_only_what_the_user_may_see_and_use_the_trackline(client, data_manager, tracks):
    hawaii_cruise = tracks[0].cruise
    public = make_revision(
        "published",
        coverage={"bbox": [-70, 35, -60, 45], "begin": "2024-03-01", "end": "2024-03-05"},
        title="Boxed",
    )
    on_track = make_revision(
        "published",
        cruise=hawaii_cruise,
        coverage={"begin": "2024-03-02", "end": "2024-03-04"},
        title="On track",
    )
    held = make_revision(
        "held",
        coverage={"bbox": [-50, 10, -40, 20], "begin": "2024-03-01", "end": "2024-03-05"},
        title="Held",
    )
    anonymous = client.get("/ogcapi/collections/footprints/items").json()
    valid_collection(anonymous)
    by_id = {f["id"]: f for f in anonymous["features"]}
    assert set(by_id) == {str(public.pk), str(on_track.pk)}
    assert by_id[str(public.pk)]["geometry"]["type"] == "Polygon"
    assert by_id[str(on_track.pk)]["geometry"] == tracks[0].control
    assert by_id[str(on_track.pk)]["properties"]["footprint"] == "trackline"
    assert client.get(f"/ogcapi/collections/footprints/items/{held.pk}").status_code == 404
    # bbox and datetime on footprints
    boxed = client.get("/ogcapi/collections/footprints/items", {"bbox": "-65,40,-64,41"}).json()
    assert [f["id"] for f in boxed["features"]] == [str(public.pk)]
    later = client.get("/ogcapi/collections/footprints/items", {"datetime": "2024-03-05T12:00:00Z/.."}).json()
    assert [f["id"] for f in later["features"]] == [str(public.pk)]

    client.force_login(data_manager)
    managed = client.get("/ogcapi/collections/footprints/items").json()
    assert str(held.pk) in {f["id"] for f in managed["features"]}
    Feature.model_validate(client.get(f"/ogcapi/collections/footprints/items/{held.pk}").json())


def test_json_is_the_default_and_the_landing_page_links(client, db):
    landing = client.get("/ogcapi/")
    assert landing["Content-Type"] == "application/json"
    assert landing["Access-Control-Allow-Origin"] == "*"
    rels = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    spec = client.get("/ogcapi/openapi", HTTP_ACCEPT="application/vnd.oai.openapi+json;version=3.0")
    assert spec.json()["openapi"].startswith("3.0")
    assert client.get("/ogcapi/collections", {"f": "json"}).status_code == 200
