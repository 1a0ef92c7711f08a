"""A cruise's navigation built from a delivery's files of class ``navigation``, its pages and products."""

import hashlib
import re

import pytest
from lxml import etree

from apps.audit.models import AuditEvent
from apps.deliveries.models import Delivery, InventoryFile
from apps.navigation import services, synthetic, tasks
from apps.navigation.models import Track
from apps.storage.services import open_blob

from .conftest import START

pytestmark = pytest.mark.django_db


def make_delivery(cruise, root, files: dict[str, str]) -> Delivery:
    """A delivery over ``root`` with ``files`` (relative path → instrument class)."""
    delivery = Delivery.objects.create(cruise=cruise, shipment="1", method="folder", source=str(root))
    for rel, klass in files.items():
        path = root / rel
        InventoryFile.objects.create(
            delivery=delivery,
            path=rel,
            size=path.stat().st_size if path.exists() else 0,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "",
            instrument_class=klass,
        )
    return delivery


@pytest.fixture
def delivered(cruise, tmp_path):
    """Cruise TE2401 (2024-03-01 – 03-20) with two hourly navigation files and a CTD file."""
    root = tmp_path / "TE2401"
    (root / "nav").mkdir(parents=True)
    (root / "ctd").mkdir()
    synthetic.write(root / "nav" / "gps_20240302-00.nmea", START, 1800)
    lat, lon = synthetic.positions(
        1801, 32.7, -117.2, 250.0, 10.0, 1.0
    )  # the second file continues the first
    synthetic.write(
        root / "nav" / "gps_20240302-01.nmea",
        START.replace(minute=30),
        1800,
        lat0=lat[-1],
        lon0=lon[-1],
        faults=synthetic.Faults(spike=900),
    )
    (root / "ctd" / "cast1.hex").write_text("* not navigation\n")
    return make_delivery(
        cruise,
        root,
        {
            "nav/gps_20240302-00.nmea": "navigation",
            "nav/gps_20240302-01.nmea": "navigation",
            "ctd/cast1.hex": "ctd",
        },
    )


def test_the_task_builds_the_cruise_track_from_the_deliverys_navigation_files(delivered, cruise):
    assert tasks.build_delivery_navigation.apply(args=[delivered.pk]).get() == "done"
    track = Track.objects.get(cruise=cruise)
    assert track.state == "done" and track.delivery == delivered and not track.lease_owner
    assert track.fixes == 3600 and track.dated and track.clock == "sensor"
    assert track.certificate["flags"]["unreasonable_speed"] == 2
    assert track.first_time.isoformat() == "2024-03-02T00:00:00+00:00"
    assert track.west < track.east and track.south < track.north
    assert track.control["type"] == "LineString" and track.control_points >= 2
    assert [p["path"] for p in track.build["inputs"]] == [
        "nav/gps_20240302-00.nmea",
        "nav/gps_20240302-01.nmea",
    ]
    names = sorted(p.name for p in track.products.all())
    assert names == sorted(track.build["outputs"]) and "TE2401_control.geojson" in names
    xml = etree.fromstring(open_blob(track.certificate_xml).read())
    assert xml.find(f"{{{services.NS}}}certificate/{{{services.NS}}}rating").text == track.overall
    assert AuditEvent.objects.filter(service="navigation", service_method="build_track").count() == 1


def test_a_rebuild_gives_the_same_products(delivered, cruise):
    services.process_delivery_navigation(delivered.pk)
    first = dict(Track.objects.get(cruise=cruise).build["outputs"])
    services.process_delivery_navigation(delivered.pk)
    track = Track.objects.get(cruise=cruise)
    assert track.build["outputs"] == first and track.products.count() == 6


def test_a_file_outside_the_delivery_folder_fails_the_build_with_the_reason(cruise, tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    synthetic.write(tmp_path / "elsewhere.nmea", START, 10)
    delivery = make_delivery(cruise, root, {"../elsewhere.nmea": "navigation"})
    track = services.process_delivery_navigation(delivery.pk)
    assert track.state == "failed" and "outside the delivery" in track.error


def test_a_delivery_without_navigation_is_left_alone(cruise, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    delivery = make_delivery(cruise, tmp_path, {"a.txt": "ctd"})
    assert services.process_delivery_navigation(delivery.pk) is None
    assert services.request_delivery_navigation(delivery) is None
    assert not Track.objects.exists()


def test_a_lease_held_by_another_worker_is_respected(delivered, cruise):
    import datetime

    from portal.tasks import claim

    track = Track.objects.create(cruise=cruise)
    claim(Track.objects.all(), track.pk, duration=datetime.timedelta(minutes=5), owner="someone-else")
    assert services.process_delivery_navigation(delivered.pk, owner="me") is None
    assert Track.objects.get(pk=track.pk).state == "pending"


def test_the_pages_show_the_certificate_and_serve_the_products(client, delivered, cruise):
    services.process_delivery_navigation(delivered.pk)
    track = Track.objects.get(cruise=cruise)
    page = client.get(f"/cruises/{cruise.pk}/").content.decode()
    assert "Quality certificate" in page and f"nav-{track.overall}" in page
    cert = client.get(f"/navigation/{cruise.pk}/")
    body = cert.content.decode()
    assert cert.status_code == 200 and "<svg" in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)  # no inline script: the plot is server-side SVG
    assert "percent_unreasonable_speeds" in body and "TE2401_control.csv" in body
    xml = client.get(f"/navigation/{cruise.pk}/certificate.xml")
    assert xml["Content-Type"].startswith("application/xml")
    assert etree.fromstring(b"".join(xml.streaming_content) if xml.streaming else xml.content) is not None
    assert client.get(f"/navigation/{cruise.pk}/certificate.json").json()["fixes"] == 3600
    product = track.products.get(name="TE2401_control.geojson")
    got = client.get(f"/navigation/{cruise.pk}/products/TE2401_control.geojson")
    data = b"".join(got.streaming_content) if got.streaming else got.content
    assert hashlib.sha256(data).hexdigest() == product.blob.sha256
    assert client.get(f"/navigation/{cruise.pk}/products/nope.csv").status_code == 404


def test_no_certificate_is_a_404(client, cruise):
    assert client.get(f"/navigation/{cruise.pk}/").status_code == 404
    Track.objects.create(cruise=cruise, state="building")
    assert client.get(f"/navigation/{cruise.pk}/").status_code == 404
    assert "being assessed" in client.get(f"/cruises/{cruise.pk}/").content.decode()


@pytest.mark.slow
def test_a_real_worker_builds_the_track_after_commit(delivered, cruise, celery_worker_process):
    from django.db import transaction

    from tests.support.worker import wait_until

    with transaction.atomic():
        services.request_delivery_navigation(delivered)
    track = wait_until(
        lambda: Track.objects.filter(cruise=cruise, state__in=["done", "failed"]).first(),
        timeout=60,
        worker=celery_worker_process,
    )
    assert track.state == "done", track.error
    assert track.fixes == 3600


def test_a_dataset_without_a_box_takes_its_cruises_track(delivered, cruise):
    from apps.publishing.crosswalks.metadata import bbox_of, datacite_dict
    from tests.factories import make_revision

    services.process_delivery_navigation(delivered.pk)
    track = Track.objects.get(cruise=cruise)
    revision = make_revision(cruise=cruise)
    assert bbox_of(revision) == [-70.5, 40.1, -69.2, 41.3]  # its own box wins
    revision.coverage = {key: value for key, value in revision.coverage.items() if key != "bbox"}
    revision.save(update_fields=["coverage"])
    assert bbox_of(revision) == track.bbox
    box = datacite_dict(revision)["geoLocations"][0]["geoLocationBox"]
    assert box["westBoundLongitude"] == track.west and box["northBoundLatitude"] == track.north


def test_the_sweep_sends_again_a_build_whose_worker_died(delivered, cruise, monkeypatch):
    import datetime

    from django.utils import timezone

    sent = []
    monkeypatch.setattr(tasks, "send", lambda task, *args: sent.append(args) or True)
    past = timezone.now() - datetime.timedelta(minutes=1)
    Track.objects.create(
        cruise=cruise, delivery=delivered, state="building", lease_owner="gone", lease_until=past
    )
    assert tasks.navigation_sweep() == 1 and sent == [(delivered.pk,)]
    Track.objects.filter(cruise=cruise).update(lease_until=timezone.now() + datetime.timedelta(minutes=5))
    assert tasks.navigation_sweep() == 0


def test_an_s3_delivery_s_navigation_files_are_read_from_the_bucket(delivered, cruise, seaweed, settings):
    """The same files delivered as an S3 prefix: copied to scratch for the reader (same names, same
    order) and removed after; the track is the folder delivery's."""
    import uuid

    services.process_delivery_navigation(delivered.pk)
    from_folder = Track.objects.get(cruise=cruise).build["outputs"]
    bucket = f"qs-s3nav-{uuid.uuid4().hex[:8]}"
    seaweed.create_bucket(bucket)
    settings.DELIVERY_S3_ENDPOINT_URL = seaweed.endpoint
    settings.DELIVERY_S3_ACCESS_KEY = seaweed.access_key
    settings.DELIVERY_S3_SECRET_KEY = seaweed.secret_key
    root = delivered.source
    client = seaweed.client()
    for row in delivered.files.all():
        with open(f"{root}/{row.path}", "rb") as fh:
            client.put_object(Bucket=bucket, Key=f"TE2401/{row.path}", Body=fh.read())
    Delivery.objects.filter(pk=delivered.pk).update(method="s3", source=f"s3://{bucket}/TE2401")
    scratch = list(settings.SCRATCH_DIR.glob("delivered-*")) if settings.SCRATCH_DIR.exists() else []
    track = services.process_delivery_navigation(delivered.pk)
    assert track.state == "done" and track.fixes == 3600
    assert track.build["outputs"] == from_folder
    assert list(settings.SCRATCH_DIR.glob("delivered-*")) == scratch  # the scratch copies are gone
    client.delete_object(Bucket=bucket, Key="TE2401/nav/gps_20240302-01.nmea")
    track = services.process_delivery_navigation(delivered.pk)
    assert track.state == "failed" and "no longer in s3://" in track.error


def test_an_undated_file_takes_the_departure_day_only_when_the_cruise_says_so(cruise, tmp_path, client):
    import datetime

    root = tmp_path / "undated"
    root.mkdir()
    path = root / "gps.nmea"
    synthetic.write(path, START, 120, prefix=None, zda=False)
    path.write_text("\n".join(line for line in path.read_text().splitlines() if "RMC" not in line) + "\n")
    delivery = make_delivery(cruise, root, {"gps.nmea": "navigation"})
    cruise.departure_date, cruise.arrival_date = datetime.date(2024, 3, 2), datetime.date(2024, 3, 20)
    cruise.save()
    track = services.process_delivery_navigation(delivery.pk)
    assert track.state == "done" and not track.dated and track.first_time is None
    cruise.undated_navigation_from_departure = True
    cruise.save()
    track = services.process_delivery_navigation(delivery.pk)
    assert track.dated and track.first_time.isoformat() == "2024-03-02T00:00:00+00:00"
    assert "assumed" in track.clock
