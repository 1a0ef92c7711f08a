"""A cruise's navigation products as derived artifacts: each build records them with build manifests,
served beside the products under the hold's checksum rule; ``rebuild --verify`` rebuilds them bit for bit
from the manifest and says where a rebuild differs."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client

from apps.artifacts.models import Artifact
from apps.navigation import builds, services, synthetic
from apps.navigation.models import Track
from apps.storage.models import blob_key
from apps.storage.services import deep, open_blob
from tests.conftest import make_user
from tests.support.rebuilds import verify

from .conftest import START
from .test_track import make_delivery

pytestmark = pytest.mark.django_db

PRODUCTS = [f"TE2401_{kind}.{ext}" for kind in ("1min", "bestres", "control") for ext in ("csv", "geojson")]


@pytest.fixture
def delivered(cruise, tmp_path):
    """Cruise TE2401 with two navigation files in a drop folder (the second has a speed spike)."""
    root = tmp_path / "TE2401"
    (root / "nav").mkdir(parents=True)
    synthetic.write(
        root / "nav" / "gps_b.nmea", START.replace(minute=30), 900, faults=synthetic.Faults(spike=400)
    )
    synthetic.write(root / "nav" / "gps_a.nmea", START, 1800)
    return make_delivery(cruise, root, {"nav/gps_b.nmea": "navigation", "nav/gps_a.nmea": "navigation"})


def manifest_of(artifact: Artifact) -> dict:
    with open_blob(artifact.manifest.blob) as fh:
        return json.loads(fh.read())


def test_each_product_is_recorded_with_a_manifest_of_its_inputs_and_configuration(delivered, cruise):
    track = services.process_delivery_navigation(delivered.pk)
    artifacts = Artifact.objects.filter(cruise=cruise, kind="navigation").order_by("path")
    assert [a.path for a in artifacts] == [f"products/{name}" for name in PRODUCTS]
    by_name = {p.name: p.blob_id for p in track.products.all()}
    files = {f.path: f for f in delivered.files.all()}
    for artifact in artifacts:
        manifest = manifest_of(artifact)
        assert artifact.manifest.path == f"manifests/{artifact.path}.json"
        assert manifest["kind"] == "navigation" and manifest["subject"] == {"cruise": "TE2401"}
        assert manifest["artifact"]["sha256"] == artifact.blob_id == by_name[artifact.filename]
        assert manifest["artifact"]["media_type"] == artifact.media_type
        # The inputs in the order they were read (by file name), with the inventory's SHA-256.
        assert [(i["name"], i["sha256"], i["size"]) for i in manifest["inputs"]] == [
            (p, files[p].sha256, files[p].size) for p in ("nav/gps_a.nmea", "nav/gps_b.nmea")
        ]
        config = manifest["config"]
        assert config["source"] == {"delivery": delivered.pk, "files": ["nav/gps_a.nmea", "nav/gps_b.nmea"]}
        assert config["window"] == {"start": "2024-03-01", "end": "2024-03-20"}
        assert config["thresholds"] == {"speed": 8.7, "acceleration": 1.0, "gap": 300.0, "moving": 0.5}
        assert config["control_tolerance_degrees"] == 0.001 and config["assume_start"] is None
        assert set(manifest["builder"]["libraries"]) == {"numpy", "pyarrow", "shapely"}
        assert manifest["builder"]["git_commit"] and manifest["builder"]["quayside_version"]
    # A second build replaces them (one row per product), with the same bytes and the same manifests.
    before = {a.path: (a.blob_id, a.manifest.blob_id) for a in artifacts}
    services.process_delivery_navigation(delivered.pk)
    after = Artifact.objects.filter(cruise=cruise, kind="navigation")
    assert {a.path: (a.blob_id, a.manifest.blob_id) for a in after} == before
    assert Artifact.objects.filter(cruise=cruise).count() == 12


def test_rebuild_verify_says_identical_then_different_after_a_changed_input(delivered, cruise, settings):
    services.process_delivery_navigation(delivered.pk)
    one_minute = Artifact.objects.get(cruise=cruise, path="products/TE2401_1min.csv")
    ref = f"navigation/{cruise.pk}/products/TE2401_1min.csv"
    identical, report = verify(ref)
    assert identical and report.startswith("identical: TE2401:products/TE2401_1min.csv"), report
    # The rebuild reads the configuration from the manifest, not from today's settings.
    settings.NAVIGATION_CONTROL_TOLERANCE = 0.5
    settings.NAVIGATION_MAX_SPEED = 1.0
    assert verify(str(one_minute.manifest.pk))[0]  # a manifest stands for what it describes

    # The logger's first file loses its last ten minutes (a truncated copy in the drop folder).
    changed = delivered.files.get(path="nav/gps_a.nmea")
    file = Path(delivered.source, changed.path)
    lines = file.read_bytes().splitlines(True)
    file.write_bytes(b"".join(lines[: len(lines) * 2 // 3]))
    identical, report = verify(ref)
    assert not identical and report.startswith("different: TE2401:products/TE2401_1min.csv")
    assert f"the navigation file nav/gps_a.nmea ({changed.sha256[:12]}…) now hashes to" in report
    assert (
        "first differing byte at offset" in report
        and "first differing line 27, column 15: stored '2024-03-02T00:20:00.000Z," in report
    )


def test_a_changed_configuration_rebuilds_differently_and_says_where(delivered, cruise):
    services.process_delivery_navigation(delivered.pk)
    control = Artifact.objects.get(cruise=cruise, path="products/TE2401_control.geojson")
    manifest = manifest_of(control)
    # The manifest of the same bytes, recorded as if the build had used a coarser tolerance.
    builds.record_products(
        cruise,
        {"TE2401_control.geojson": control.blob},
        inputs=[builds.Input(**i) for i in manifest["inputs"]],
        config={**manifest["config"], "control_tolerance_degrees": 0.05},
    )
    identical, report = verify(f"navigation/{cruise.pk}/products/TE2401_control.geojson")
    assert not identical and "now hashes to" not in report  # the inputs are as they were
    assert (
        "first differing byte at offset" in report and "first differing line 1, column 63: stored …" in report
    )


def test_the_rebuild_reads_the_deep_copy_when_the_drop_folder_is_gone(delivered, cruise):
    services.process_delivery_navigation(delivered.pk)
    for f in delivered.files.all():
        deep().save(blob_key(f.sha256), ContentFile(Path(delivered.source, f.path).read_bytes()))
    shutil.rmtree(delivered.source)
    assert verify(f"navigation/{cruise.pk}/products/TE2401_1min.geojson")[0]


def test_a_track_built_from_files_outside_a_delivery_records_their_paths(cruise, tmp_path):
    path = tmp_path / "RR.nmea"
    synthetic.write(path, START, 600)
    services.process_cruise_navigation(cruise, [path])
    artifact = Artifact.objects.get(cruise=cruise, path="products/TE2401_bestres.csv")
    manifest = manifest_of(artifact)
    assert manifest["config"]["source"] == {"delivery": None, "files": [str(path)]}
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert verify(str(artifact.pk))[0]


def test_the_spot_check_rebuilds_navigation_products_too(delivered, cruise):
    from django.test import TestCase

    from apps.artifacts import tasks

    services.process_delivery_navigation(delivered.pk)
    with TestCase.captureOnCommitCallbacks(execute=True):
        results = tasks.spot_check_rebuilds(count=2)
    assert len(results) == 2 and all(r.startswith("identical: TE2401:products/") for r in results)
    assert Artifact.objects.filter(cruise=cruise, kind="navigation", verified_identical=True).count() == 2


def test_manifests_are_served_beside_the_products_and_follow_the_hold(
    delivered, cruise, chief_scientist, data_manager
):
    services.process_delivery_navigation(delivered.pk)
    product = Track.objects.get(cruise=cruise).products.get(name="TE2401_control.csv")
    url = f"/navigation/{cruise.pk}/manifests/products/TE2401_control.csv.json"
    response = Client().get(url)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert json.loads(body)["artifact"]["sha256"] == product.blob_id
    assert Client().get(f"/navigation/{cruise.pk}/manifests/products/nope.csv.json").status_code == 404
    page = Client().get(f"/navigation/{cruise.pk}/").content.decode()
    assert f'href="{url}"' in page

    # Under a proprietary hold the manifests (they name the delivery's checksums) are the cruise's
    # people's; the products themselves stay public, as the track is.
    import datetime

    from django.utils import timezone

    from apps.holds.models import Hold

    Hold.objects.create(
        cruise=cruise, ends_on=timezone.now().date() + datetime.timedelta(days=30), reason="Thesis"
    )
    assert Client().get(url).status_code == 403
    stranger = Client()
    stranger.force_login(make_user("stranger@example.org"))
    assert stranger.get(url).status_code == 403
    assert f'href="{url}"' not in stranger.get(f"/navigation/{cruise.pk}/").content.decode()
    assert stranger.get(f"/navigation/{cruise.pk}/products/TE2401_control.csv").status_code == 200
    # The certificate stays public, without the files' SHA-256 (its XML names them).
    track = Track.objects.get(cruise=cruise)
    sha = track.build["inputs"][0]["sha256"]
    for viewer in (Client(), stranger):
        xml = viewer.get(f"/navigation/{cruise.pk}/certificate.xml")
        assert xml.status_code == 200 and b"<file " in xml.content and sha.encode() not in xml.content
    for user in (chief_scientist, data_manager):
        person = Client()
        person.force_login(user)
        assert person.get(url).status_code == 200
        assert f'href="{url}"' in person.get(f"/navigation/{cruise.pk}/").content.decode()
        xml = b"".join(person.get(f"/navigation/{cruise.pk}/certificate.xml").streaming_content)
        assert sha.encode() in xml
