"""The catalog's build manifest: every build of stac.parquet is recorded (its bytes, the records it was
written from, its configuration) before it is served; the manifest is served beside it and linked from the
root catalog; ``rebuild --verify stac.parquet`` rebuilds it from the database and says whether the bytes
are the same. Items link the manifests of their assets, a cruise's trackline among them."""

from __future__ import annotations

import datetime
import hashlib
import json

import pytest
import shapely
import shapely.geometry
from django.test import TestCase

from apps.artifacts import tasks
from apps.artifacts.models import Artifact
from apps.catalog import builds, services
from apps.catalog.models import CatalogState
from apps.navigation import services as navigation
from apps.navigation import synthetic
from apps.packages.models import Revision
from apps.storage.models import Blob
from apps.storage.services import open_blob
from tests.support import rebuilds

from .conftest import read_catalog

pytestmark = pytest.mark.django_db


def manifest_of(artifact: Artifact) -> dict:
    with open_blob(artifact.manifest.blob) as fh:
        return json.loads(fh.read())


def verify(ref: str = "stac.parquet") -> tuple[bool, str]:
    return rebuilds.verify(ref)


@pytest.fixture
def versions(make_revision, settings):
    settings.CATALOG_SEGMENT_PACKAGES = 2  # several segments from a few packages
    first = make_revision(coverage={"bbox": [-70.5, 41.0, -69.5, 42.0]})
    make_revision(package=first.package, number=2, files=2)
    return [first, *(make_revision() for _ in range(3))]


def test_each_build_records_the_served_catalog_with_its_manifest(
    versions, client, django_capture_on_commit_callbacks
):
    services.refresh(force=True)
    served = services.catalog_path().read_bytes()
    catalog = builds.current()
    assert catalog.blob_id == hashlib.sha256(served).hexdigest() == CatalogState.get().sha256
    assert catalog.kind == "catalog" and catalog.revision is None and catalog.cruise is None
    manifest = manifest_of(catalog)
    assert manifest["kind"] == "catalog" and manifest["artifact"]["size"] == len(served)
    assert manifest["artifact"]["path"] == "stac.parquet"
    records = [i for i in manifest["inputs"] if i["role"] == "records"]
    package_ids = sorted({v.package_id for v in versions})
    assert [i["name"] for i in records] == sorted({f"segments/{pk // 2:08d}.parquet" for pk in package_ids})
    assert all(len(i["sha256"]) == 64 and i["size"] > 0 for i in records)
    assert [i["name"] for i in manifest["inputs"] if i["role"] == "metadata"] == ["collections"]
    config = manifest["config"]
    assert config["segment_packages"] == 2 and config["batch_size"] == 10_000
    assert (
        config["asset_width"] == {"files": 2, "mirrors": 0}
        and config["writer_options"]["compression"] == "zstd"
    )
    assert set(manifest["builder"]["libraries"]) == {"pyarrow", "shapely"}

    # Served beside the catalog, linked from the root catalog.
    response = client.get("/catalog/manifests/stac.parquet.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(b"".join(response.streaming_content))["artifact"]["sha256"] == catalog.blob_id
    links = {link["rel"]: link for link in client.get("/catalog/").json()["links"]}
    assert links["build-manifest"]["href"].endswith("/catalog/manifests/stac.parquet.json")
    assert client.get("/catalog/manifests/nope.json").status_code == 404

    # A build after a change replaces the artifact and drops the old catalog's bytes from storage; a
    # segment the change did not touch keeps the input hash of the rows it was written from.
    old = catalog.blob_id
    Revision.objects.filter(pk=versions[-1].pk).update(title="A new title")
    services.mark_dirty(versions[-1].package_id)
    with django_capture_on_commit_callbacks(execute=True):  # the old bytes are dropped after commit
        services.refresh()
    catalog = builds.current()
    assert catalog.blob_id != old and not Blob.objects.filter(pk=old).exists()
    assert Artifact.objects.filter(kind="catalog").count() == 1
    changed = {i["name"]: i["sha256"] for i in manifest_of(catalog)["inputs"]}
    before = {i["name"]: i["sha256"] for i in manifest["inputs"]}
    touched = f"segments/{versions[-1].package_id // 2:08d}.parquet"
    assert {name for name in before if before[name] != changed[name]} == {touched}


def test_rebuild_verify_says_identical_then_different_after_the_database_changed(versions):
    services.refresh(force=True)
    identical, report = verify("stac.parquet")
    assert identical and report.startswith("identical: stac.parquet"), report
    # An incremental build stitched from segments of two builds rebuilds to the same bytes too.
    Revision.objects.filter(pk=versions[0].pk).update(title="Retitled")
    services.mark_dirty(versions[0].package_id)
    services.refresh()
    assert verify(str(builds.current().pk))[0]

    # The database moves on without a build: the rebuild names the segment and where the files differ.
    Revision.objects.filter(pk=versions[-1].pk).update(title="Changed behind the catalog's back")
    identical, report = verify()
    assert not identical and report.startswith("different: stac.parquet")
    segment = f"segments/{versions[-1].package_id // 2:08d}.parquet"
    assert f"{segment}: the records now hash to" in report and "(the database changed since)" in report
    assert "first differing byte at offset" in report
    assert "first differing values: row group" in report and "column 'title'" in report


def test_the_spot_check_rebuilds_the_catalog_only_while_nothing_changed(versions):
    services.refresh(force=True)
    Artifact.objects.filter(kind="catalog").update(verified_at=None)

    def spot_check():
        with TestCase.captureOnCommitCallbacks(execute=True):
            return tasks.spot_check_rebuilds(count=1)

    assert spot_check() == [f"identical: stac.parquet (sha256 {builds.current().blob_id})"]
    assert builds.current().verified_identical is True
    # A change waiting for the next build: the catalog is passed over (its rebuild would differ).
    Artifact.objects.filter(kind="catalog").update(verified_at=None)
    services.mark_dirty(versions[0].package_id)
    assert spot_check() == []


def test_a_cruise_dataset_s_item_links_the_trackline_and_its_manifest(
    make_revision, cruise, client, tmp_path
):
    from stac_geoparquet.arrow import stac_table_to_items

    path = tmp_path / "TE2401.nmea"
    synthetic.write(path, datetime.datetime(2024, 3, 2, tzinfo=datetime.UTC), 600)
    revision = make_revision(cruise=cruise)
    other = make_revision()
    navigation.process_cruise_navigation(cruise, [path])  # marks the cruise's datasets dirty
    services.refresh()
    rows = {r["id"]: r for r in read_catalog().to_pylist()}
    assets = rows[revision.package_id_text]["assets"]
    trackline, manifest = assets["navigation"], assets["navigation-manifest"]
    product = Artifact.objects.get(cruise=cruise, path="products/TE2401_control.geojson")
    assert trackline["href"].endswith(f"/navigation/{cruise.pk}/products/TE2401_control.geojson")
    assert (
        trackline["file:checksum"] == "1220" + product.blob_id and trackline["type"] == "application/geo+json"
    )
    assert trackline["quayside:manifest"] == "navigation-manifest"
    assert manifest["href"].endswith(
        f"/navigation/{cruise.pk}/manifests/products/TE2401_control.geojson.json"
    )
    assert (
        manifest["roles"] == ["metadata"] and manifest["file:checksum"] == "1220" + product.manifest.blob_id
    )
    assert rows[other.package_id_text]["assets"]["navigation"] is None
    # The item's geometry is the cruise's trackline (its control points), not the dataset's box.
    from apps.navigation.models import Track

    control = Track.objects.get(cruise=cruise).control
    line = shapely.from_wkb(rows[revision.package_id_text]["geometry"])
    assert line.geom_type == control["type"] and line.equals(shapely.geometry.shape(control))
    assert rows[revision.package_id_text]["quayside:geometry_source"] == "cruise-trackline"
    assert rows[other.package_id_text]["quayside:geometry_source"] == "coverage-bbox"
    # The links resolve, and the JSON item and the GeoParquet row agree.
    for asset in (trackline, manifest):
        href = asset["href"].split("://", 1)[1].partition("/")[2]
        assert client.get(f"/{href}").status_code == 200
    served = client.get(f"/catalog/collections/edi/items/{revision.package_id_text}").json()
    [item] = [i for i in stac_table_to_items(read_catalog()) if i["id"] == revision.package_id_text]
    assert served["assets"]["navigation"]["quayside:manifest"] == "navigation-manifest"
    assert served["geometry"]["type"] == item["geometry"]["type"] == control["type"]
    assert item["assets"]["navigation-manifest"]["href"] == served["assets"]["navigation-manifest"]["href"]
    import pystac.validation

    pystac.validation.JsonSchemaSTACValidator().validate_core(
        served, pystac.STACObjectType.ITEM, pystac.get_stac_version()
    )
