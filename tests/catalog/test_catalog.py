"""The STAC GeoParquet catalog: one row per public version, per the stac-geoparquet and GeoParquet specs,
kept current by the worker, served with Range/ETag; the STAC API-lite items validate with pystac."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely

from apps.catalog import items, services
from apps.packages.models import Revision
from apps.publishing import services as publishing

from .conftest import read_catalog

pytestmark = pytest.mark.django_db

REQUIRED = {"type", "stac_version", "id", "geometry", "bbox", "links", "assets", "datetime"}


@pytest.fixture
def versions(make_revision):
    first = make_revision(
        coverage={"bbox": [-70.5, 41.0, -69.5, 42.0], "begin": "2024-03-01", "end": "2024-03-20"}
    )
    second = make_revision(
        package=first.package, number=2, files=2, coverage={"bbox": [-70.0, 41.5, -70.0, 41.5]}
    )
    held = make_revision("held")
    gone = make_revision(licence="CC-BY-4.0")
    publishing.withdraw(gone, reason="Duplicate of another", category="duplicate")
    return first, second, held, gone


def _nonnull(value):
    if isinstance(value, dict):
        return {k: _nonnull(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_nonnull(v) for v in value]
    return value


def test_every_public_version_is_a_row_and_held_ones_are_not(versions):
    first, second, held, gone = versions
    services.refresh(force=True)
    table = read_catalog()
    status = dict(zip(table["id"].to_pylist(), table["quayside:status"].to_pylist(), strict=True))
    assert status == {
        first.package_id_text: "published",
        second.package_id_text: "published",
        gone.package_id_text: "withdrawn",
    }
    assert held.package_id_text not in status
    # A tombstone row says what happened and offers no files.
    row = table.filter(pa.compute.equal(table["id"], gone.package_id_text)).to_pylist()[0]
    assert all(v is None for v in row["assets"].values())


def test_columns_and_metadata_follow_the_specs(versions):
    first, second, *_ = versions
    services.refresh(force=True)
    path = services.catalog_path()
    meta = pq.read_metadata(path).metadata
    geo = json.loads(meta[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert geo["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    stac = json.loads(meta[b"stac-geoparquet"])
    assert stac["version"] == "1.0.0" and "edi" in stac["collections"]
    table = read_catalog()
    assert REQUIRED <= set(table.column_names)
    assert table.schema.field("bbox").type == pa.struct(
        [(n, pa.float64()) for n in ("xmin", "ymin", "xmax", "ymax")]
    )
    assert table.schema.field("datetime").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("geometry").metadata[b"ARROW:extension:name"] == b"geoarrow.wkb"
    rows = {r["id"]: r for r in table.to_pylist()}
    one = rows[first.package_id_text]
    assert shapely.from_wkb(one["geometry"]).equals(shapely.box(-70.5, 41.0, -69.5, 42.0))
    assert one["datetime"] is None and one["start_datetime"].isoformat() == "2024-03-01T00:00:00+00:00"
    two = rows[second.package_id_text]
    assert shapely.from_wkb(two["geometry"]).geom_type == "Point"
    links = {link["rel"]: link["href"] for link in one["links"]}
    assert links["latest-version"].endswith(f"/items/{second.package_id_text}")
    assert links["successor-version"].endswith(f"/items/{second.package_id_text}")
    assert links["cite-as"] == f"https://doi.org/{first.doi}"
    assert links["alternate"].endswith(f"/dataset/edi/{first.package.identifier}/1/")
    assert {link["rel"]: 1 for link in two["links"]}.get("predecessor-version")
    asset = two["assets"]["file-2"]
    blob = second.entities.order_by("pk")[1].blob
    assert asset["file:size"] == blob.size and asset["file:checksum"] == "1220" + blob.sha256
    assert asset["href"].endswith(f"/edi.{first.package.identifier}.2/temp1.csv")
    # GeoPandas (GeoParquet reader) understands the file.
    import geopandas

    frame = geopandas.read_parquet(path)
    assert frame.geometry.iloc[0] is not None and frame.crs.to_string() == "OGC:CRS84"


def test_stac_geoparquet_reads_back_the_items_the_json_api_serves(versions, client):
    import pystac
    import pystac.validation
    from stac_geoparquet.arrow import stac_table_to_items

    services.refresh(force=True)
    from_parquet = {i["id"]: _nonnull(i) for i in stac_table_to_items(read_catalog())}
    first, second, _, gone = versions
    for revision in (first, second):
        served = client.get(f"/catalog/collections/edi/items/{revision.package_id_text}").json()
        for key in ("datetime", "start_datetime", "end_datetime", "created", "updated"):
            (
                served["properties"].pop(key, None),
                from_parquet[revision.package_id_text]["properties"].pop(key, None),
            )
        parsed = from_parquet[revision.package_id_text]
        assert parsed["assets"] == served["assets"]
        assert parsed["links"] == served["links"]
        assert parsed["properties"] == served["properties"]
        assert parsed["geometry"]["type"] == served["geometry"]["type"]
    # The JSON API: items validate against the STAC core schemas bundled with pystac (no network).
    page = client.get("/catalog/collections/edi/items").json()
    assert {f["id"] for f in page["features"]} == {first.package_id_text, second.package_id_text}
    validator = pystac.validation.JsonSchemaSTACValidator()
    for feature in page["features"]:
        validator.validate_core(feature, pystac.STACObjectType.ITEM, pystac.get_stac_version())
    root = client.get("/catalog/").json()
    validator.validate_core(root, pystac.STACObjectType.CATALOG, pystac.get_stac_version())
    collection = client.get("/catalog/collections/edi").json()
    validator.validate_core(collection, pystac.STACObjectType.COLLECTION, pystac.get_stac_version())
    assert client.get(f"/catalog/collections/edi/items/{gone.package_id_text}").status_code == 410


def test_a_hold_ending_adds_the_row_at_the_next_refresh(
    held_revision, chief_scientist, django_capture_on_commit_callbacks
):
    from apps.holds import services as holds

    hold, revision = held_revision
    services.refresh(force=True)
    assert revision.package_id_text not in read_catalog()["id"].to_pylist()
    with django_capture_on_commit_callbacks(execute=False):
        holds.lift_hold(hold, chief_scientist)
    assert services.refresh().startswith("built")  # the dirty mark the release left, picked up by the job
    assert revision.package_id_text in read_catalog()["id"].to_pylist()
    assert services.refresh() == "current"


def test_served_with_etag_last_modified_and_range(versions, client):
    services.refresh(force=True)
    whole = client.get("/catalog/stac.parquet")
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and body[:4] == b"PAR1" and whole["Accept-Ranges"] == "bytes"
    etag = whole["ETag"]
    assert whole["Last-Modified"]
    tail = client.get("/catalog/stac.parquet", HTTP_RANGE="bytes=-8")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == body[-8:]
    assert tail["Content-Range"] == f"bytes {len(body) - 8}-{len(body) - 1}/{len(body)}"
    assert client.get("/catalog/stac.parquet", HTTP_IF_NONE_MATCH=etag).status_code == 304
    head = client.head("/catalog/stac.parquet")
    assert head.status_code == 200 and head["Content-Length"] == str(len(body)) and not head.content
    # A new build (a withdrawal) replaces the file whole; the ETag changes.
    publishing.withdraw(versions[0], reason="Superseded by version 2")
    services.refresh()
    assert client.get("/catalog/stac.parquet", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_a_release_marks_the_catalog_dirty_and_queues_a_refresh(
    make_revision, django_capture_on_commit_callbacks
):
    from apps.catalog.models import CatalogState

    services.refresh(force=True)
    with django_capture_on_commit_callbacks() as callbacks:
        revision = make_revision()
    assert CatalogState.get().dirty_at is not None and callbacks
    services.refresh()
    assert revision.package_id_text in read_catalog()["id"].to_pylist()


def test_records_stream_in_batches_with_whole_packages(make_revision):
    first = make_revision()
    make_revision(package=first.package, number=2)
    make_revision()
    batches = list(items.iter_records(batch_size=1))
    assert [len(b) for b in batches] == [2, 1]
    assert Revision.objects.count() == 3


def test_a_coverage_of_several_sites_is_those_sites_not_their_box(make_revision, client):
    from stac_geoparquet.arrow import stac_table_to_items

    stations = make_revision(
        coverage={
            "bbox": [-72.5, 40.1, -69.25, 43.0],
            "sites": [
                {"bbox": [-72.5, 40.1, -72.5, 40.1], "description": "Station A"},
                {"bbox": [-69.25, 43.0, -69.25, 43.0], "description": "Station B"},
            ],
        }
    )
    ring = [[-71.0, 41.0], [-71.0, 42.0], [-70.0, 42.0], [-70.0, 41.0], [-71.0, 41.0]]  # clockwise
    areas = make_revision(
        coverage={
            "bbox": [-71.0, 10.0, 11.0, 42.0],
            "sites": [
                {"bbox": [-70.5, 41.5, -70.5, 41.5]},  # a station inside the study area
                {"bbox": [-71.0, 41.0, -70.0, 42.0], "polygon": ring},
                # A ring that crosses itself is not drawn: its box stands in.
                {"bbox": [10.0, 10.0, 11.0, 11.0], "polygon": [[10, 10], [11, 11], [11, 10], [10, 11]]},
            ],
        }
    )
    # A station outside every area: no GeometryCollection (stac-geoparquet cannot read one), the union box.
    apart = make_revision(
        coverage={
            "bbox": [-72.5, 40.1, -70.0, 42.0],
            "sites": [
                {"bbox": [-72.5, 40.1, -72.5, 40.1]},
                {"bbox": [-71.0, 41.0, -70.0, 42.0], "polygon": ring},
            ],
        }
    )
    services.refresh(force=True)
    table = read_catalog()
    rows = {r["id"]: r for r in table.to_pylist()}
    points = shapely.from_wkb(rows[stations.package_id_text]["geometry"])
    assert points.equals(shapely.MultiPoint([(-72.5, 40.1), (-69.25, 43.0)]))
    assert rows[stations.package_id_text]["quayside:geometry_source"] == "coverage-sites"
    assert rows[stations.package_id_text]["bbox"] == {
        "xmin": -72.5,
        "ymin": 40.1,
        "xmax": -69.25,
        "ymax": 43.0,
    }
    area = shapely.from_wkb(rows[areas.package_id_text]["geometry"])
    assert area.geom_type == "MultiPolygon" and len(area.geoms) == 2
    assert area.geoms[0].exterior.is_ccw  # RFC 7946: exterior rings counter-clockwise
    assert area.geoms[1].equals(shapely.box(10.0, 10.0, 11.0, 11.0))
    assert shapely.from_wkb(rows[apart.package_id_text]["geometry"]).equals(
        shapely.box(-72.5, 40.1, -70.0, 42.0)
    )
    assert rows[apart.package_id_text]["quayside:geometry_source"] == "coverage-bbox"
    # stac-geoparquet reads the geometries back, and the JSON API serves the same.
    parsed = {i["id"]: i for i in stac_table_to_items(table)}
    assert parsed[stations.package_id_text]["geometry"]["type"] == "MultiPoint"
    served = client.get(f"/catalog/collections/edi/items/{areas.package_id_text}").json()
    assert served["geometry"]["type"] == parsed[areas.package_id_text]["geometry"]["type"] == "MultiPolygon"


def test_a_trackline_across_the_antimeridian_stays_in_two_parts_and_a_bad_one_is_refused():
    from apps.catalog import geometry

    across = {
        "type": "MultiLineString",
        "coordinates": [[[178.0, -17.0], [180.0, -17.5]], [[-180.0, -17.5], [-178.5, -18.0]]],
    }
    line = geometry.trackline(across)
    assert line.geom_type == "MultiLineString" and line.bounds == (-180.0, -18.0, 180.0, -17.0)
    assert (
        geometry.trackline({"type": "LineString", "coordinates": [[0, 0], [1, 91]]}) is None
    )  # no such latitude
    assert geometry.trackline({"type": "Point", "coordinates": [0, 0]}) is None
    assert geometry.trackline({"type": "LineString", "coordinates": "garbage"}) is None
    assert geometry.trackline(None) is None


def test_rustac_an_independent_reader_reads_the_same_items(versions):
    """rustac (the Rust STAC implementation, its own GeoParquet reader) against stac-geoparquet's."""
    import rustac
    from stac_geoparquet.arrow import stac_table_to_items

    services.refresh(force=True)
    theirs = {f["id"]: f for f in rustac.read_sync(str(services.catalog_path()))["features"]}
    ours = {i["id"]: _nonnull(i) for i in stac_table_to_items(read_catalog())}
    assert set(theirs) == set(ours) and len(theirs) == 3
    for item_id, item in ours.items():
        other = theirs[item_id]
        assert other["geometry"] == json.loads(json.dumps(item["geometry"]))
        assert list(other["bbox"]) == list(item["bbox"])
        assert {k: (a["href"], a.get("file:checksum")) for k, a in other["assets"].items()} == {
            k: (a["href"], a.get("file:checksum")) for k, a in item["assets"].items()
        }
        assert [link["href"] for link in other["links"]] == [link["href"] for link in item["links"]]
        assert other["properties"]["quayside:status"] == item["properties"]["quayside:status"]
