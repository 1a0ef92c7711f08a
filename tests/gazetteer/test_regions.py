"""Search by place: a data manager loads a gazetteer; "which cruises entered this region between these dates?"
is answered exactly (the region's geometry, the part of each track inside the dates)."""

import datetime
import json

import pytest
from django.core.management import call_command

from apps.gazetteer import services
from apps.gazetteer.models import Region
from apps.navigation import services as nav_services
from apps.navigation import synthetic
from apps.navigation.models import TrackSegment
from tests.factories import CruiseFactory
from tests.navigation.conftest import START
from tests.support.tracks import make_track

pytestmark = pytest.mark.django_db

D = datetime.date
# A triangle (lon, lat): its box is [0, 0, 10, 10], its upper-right half is outside it.
TRIANGLE = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [0, 10], [0, 0]]]}


def collection(*features):
    return {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"NAME": n}, "geometry": g} for n, g in features],
    }


@pytest.fixture
def region(db):
    services.load(collection(("Triangle", TRIANGLE)), name_property="NAME", gazetteer="test")
    return Region.objects.get(name="Triangle")


@pytest.fixture
def cruises(vessel):
    made = {}
    for name, points in {
        # enters on 2024-03-02 (hours after 2024-03-02T00:00, lat, lon)
        "IN2401": [(0, 2.0, -5.0), (10, 2.0, 5.0)],
        # crosses the triangle's box, never the triangle
        "BOX2401": [(0, 9.0, 6.0), (10, 6.0, 9.0)],
        # far away on 03-02/03-03; its long leg crosses the triangle only around 03-07 … 03-10
        "LATE2401": [(0, 20.0, 20.0), (10, 21.0, 21.0), (200, 3.0, -5.0), (210, 3.0, 5.0)],
    }.items():
        made[name] = make_track(CruiseFactory(cruise_id=name, vessel=vessel), points).cruise
    return made


def names(pks):
    from apps.cruises.models import Cruise

    return {c.cruise_id for c in Cruise.objects.filter(pk__in=pks)}


def test_exactly_the_cruises_that_entered_the_region_in_the_dates(region, cruises):
    assert names(services.cruises_crossing(region, D(2024, 3, 2), D(2024, 3, 3))) == {"IN2401"}
    assert names(services.cruises_crossing(region, D(2024, 3, 2), D(2024, 3, 10))) == {"IN2401", "LATE2401"}
    assert names(services.cruises_crossing(region)) == {"IN2401", "LATE2401"}
    assert names(services.cruises_crossing(region, D(2024, 3, 11), None)) == set()
    # before IN2401 reached lon 0 (hour 5): in the dates its part lies west of the triangle
    early = datetime.datetime(2024, 3, 2, 4, tzinfo=datetime.UTC)
    assert names(services.cruises_crossing(region, None, early)) == set()
    # the box filter alone would also have found BOX2401
    candidates = {pk for pk, _ in services.candidates(region)}
    assert cruises["BOX2401"].pk in candidates


def test_load_gazetteer_command_page_and_upload(client, data_manager, plain_user, cruises, tmp_path):
    path = tmp_path / "seas.geojson"
    square = {"type": "Polygon", "coordinates": [[[-6, 1], [-4, 1], [-4, 3], [-6, 3], [-6, 1]]]}
    path.write_text(json.dumps(collection(("Square Sea", square), ("Triangle", TRIANGLE))))
    call_command("load_gazetteer", str(path), "--name-property", "NAME")
    assert Region.objects.filter(gazetteer="seas").count() == 2
    sea = Region.objects.get(name="Square Sea")
    r = client.get("/gazetteer/", {"region": sea.pk, "start": "2024-03-02", "end": "2024-03-02"})
    assert r.status_code == 200 and b"IN2401" in r.content and b"LATE2401" not in r.content
    assert (
        client.get("/gazetteer/", {"region": sea.pk, "start": "2024-03-05", "end": "2024-03-01"}).status_code
        == 400
    )

    upload = tmp_path / "eez.geojson"
    upload.write_text(json.dumps(collection(("Zone A", square))))
    client.force_login(plain_user)
    with upload.open("rb") as f:
        assert client.post("/gazetteer/upload", {"file": f, "name_property": "NAME"}).status_code == 403
    client.force_login(data_manager)
    with upload.open("rb") as f:
        r = client.post("/gazetteer/upload", {"file": f, "name_property": "NAME", "gazetteer": "EEZ"})
    assert r.status_code == 302 and Region.objects.filter(gazetteer="EEZ", name="Zone A").exists()
    with upload.open("rb") as f:
        assert client.post("/gazetteer/upload", {"file": f, "name_property": "MISSING"}).status_code == 400


def test_a_built_track_stores_its_timed_pieces(cruise, tmp_path):
    path = tmp_path / "gps.nmea"
    synthetic.write(path, START, 900, lat0=1.0, lon0=-0.02, heading=90.0, speed_kn=10.0)
    track = nav_services.process_cruise_navigation(cruise, [path])
    pieces = list(TrackSegment.objects.filter(track=track).order_by("start"))
    assert pieces and pieces[0].start >= START and all(p.west <= p.east for p in pieces)
    assert sum(len(p.points) for p in pieces) >= track.control_points
    services.load(collection(("Triangle", TRIANGLE)), name_property="NAME", gazetteer="test")
    assert services.cruises_crossing(Region.objects.get(), START.date(), START.date()) == [cruise.pk]


def test_the_search_page_filters_by_region_and_boxes_across_the_antimeridian(client, region, cruises):
    from apps.search.services import filtered
    from tests.factories import make_revision

    inside = make_revision(cruise=cruises["IN2401"], title="Inside", coverage={"begin": "2024-03-02"})
    make_revision(cruise=cruises["BOX2401"], title="Box only", coverage={"begin": "2024-03-02"})
    fiji = make_revision(
        title="Fiji", coverage={"bbox": [177.0, -20.0, -178.0, -15.0], "begin": "2024-03-02"}
    )
    found, _, errors = filtered(None, {"region": str(region.pk), "begin": "2024-03-01", "end": "2024-03-03"})
    assert not errors and [d.revision_id for d in found] == [inside.pk]
    page = client.get("/search/", {"region": region.pk})
    assert page.status_code == 200 and b"Inside" in page.content and b"Box only" not in page.content
    assert b"Triangle" in page.content  # the region select
    assert filtered(None, {"region": "999999"})[2] == ["No such region."]
    # across the antimeridian: the query box, the document's box, both
    for box in ("179,-18,-179,-16", "178,-18,179,-16", "-179.5,-18,-179,-16"):
        assert fiji.pk in {d.revision_id for d in filtered(None, {"bbox": box})[0]}, box
    assert fiji.pk not in {d.revision_id for d in filtered(None, {"bbox": "170,-18,175,-16"})[0]}
