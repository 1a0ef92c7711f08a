"""The PASTA-compatible REST paths under /package/ and the DRF-style /api/packages/, end to end:
token-authenticated submission, the pipeline run by the task chain (eager), and every GET path."""

from __future__ import annotations

import hashlib

import pytest

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.submissions.models import Submission
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(
    vetted_user,
    api_client_factory,
    data_server,
    allow_loopback,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    """edi.300.1 submitted through POST /package/eml with a token and run through the task chain."""
    tables = two_tables(data_server.root, data_server.url)
    client = api_client_factory(vetted_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/package/eml", data=eml_for("edi.300.1", tables), content_type="application/xml"
        )
    assert response.status_code == 202
    assert response["Content-Type"].startswith("text/plain")
    transaction = response.content.decode()
    sub = Submission.objects.get(transaction=transaction)
    assert sub.state == "succeeded", sub.error
    return {"client": client, "tables": tables, "transaction": transaction, "sub": sub}


def test_post_package_eml_archives_and_lists_revisions_and_resources(published, client):
    assert client.get("/package/eml/edi/300").content == b"1\n"
    assert client.get("/package/eml/edi").content.decode().split() == ["300"]
    lines = client.get("/package/eml/edi/300/1").content.decode().splitlines()
    assert len(lines) == 5
    assert lines[0].endswith("/package/data/eml/edi/300/1/observations")
    assert lines[1].endswith("/package/data/eml/edi/300/1/stations")
    assert lines[2].endswith("/package/metadata/eml/edi/300/1")
    assert lines[3].endswith("/package/report/eml/edi/300/1")
    assert lines[4].endswith("/package/eml/edi/300/1")


def test_metadata_data_and_report_are_served_with_range(published, client, data_server):
    eml = client.get("/package/metadata/eml/edi/300/1")
    assert eml.status_code == 200 and b'packageId="edi.300.1"' in b"".join(eml.streaming_content)
    data = client.get("/package/data/eml/edi/300/1/stations")
    body = b"".join(data.streaming_content)
    assert hashlib.md5(body).hexdigest() == published["tables"][0].md5
    part = client.get("/package/data/eml/edi/300/1/stations", HTTP_RANGE="bytes=0-6")
    assert part.status_code == 206 and b"".join(part.streaming_content) == body[:7]
    report = client.get("/package/report/eml/edi/300/1")
    assert b"qualityReport" in b"".join(report.streaming_content)
    assert client.get("/package/data/eml/edi/300/1/nothing").status_code == 404


def test_error_endpoint_gives_the_reason_of_a_failed_transaction(
    vetted_user,
    api_client_factory,
    data_server,
    allow_loopback,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    tables = two_tables(data_server.root, data_server.url)
    tables[0].md5 = "f" * 32
    client = api_client_factory(vetted_user)
    with django_capture_on_commit_callbacks(execute=True):
        transaction = client.post(
            "/package/eml", data=eml_for("edi.301.1", tables), content_type="application/xml"
        ).content.decode()
    error = client.get(f"/package/error/eml/{transaction}")
    assert error.status_code == 200 and "The MD5 of stations.csv" in error.content.decode()
    assert client.get("/package/eml/edi/301").status_code == 404  # nothing archived, nothing listed
    # Another user cannot read someone's transaction.
    assert api_client_factory(None).get(f"/package/error/eml/{transaction}").status_code == 404


def test_update_with_put_adds_revision_two(
    published, data_server, eager_tasks, django_capture_on_commit_callbacks
):
    client = published["client"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.put(
            "/package/eml/edi/300",
            data=eml_for("edi.300.2", published["tables"]),
            content_type="application/xml",
        )
    assert response.status_code == 202
    assert Submission.objects.get(transaction=response.content.decode()).state == "succeeded"
    assert client.get("/package/eml/edi/300").content == b"1\n2\n"
    assert client.get("/package/eml/edi/300?filter=newest").content == b"2\n"


def test_update_by_another_vetted_user_is_forbidden(published, user_factory, api_client_factory):
    other = api_client_factory(user_factory("other@example.org", "vetted"))
    response = other.put(
        "/package/eml/edi/300", data=eml_for("edi.300.2", published["tables"]), content_type="application/xml"
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(service_method="updateDataPackage", status_code=403).exists()


def test_evaluate_runs_steps_two_to_five_and_archives_nothing(
    vetted_user,
    api_client_factory,
    data_server,
    allow_loopback,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    tables = two_tables(data_server.root, data_server.url)
    client = api_client_factory(vetted_user)
    with django_capture_on_commit_callbacks(execute=True):
        transaction = client.post(
            "/package/evaluate/eml", data=eml_for("edi.302.1", tables), content_type="application/xml"
        ).content.decode()
    report = client.get(f"/package/evaluate/report/eml/{transaction}")
    assert report.status_code == 200 and b"qualityReport" in report.content
    assert not Revision.objects.filter(package__identifier=302).exists()
    sub = Submission.objects.get(transaction=transaction)
    assert [s.name for s in sub.steps.all()] == ["validate", "fetch", "check"]


def test_drf_api_creates_with_multipart_uploads_and_reads(
    vetted_user, api_client_factory, tmp_path, eager_tasks, django_capture_on_commit_callbacks
):
    tables = two_tables(tmp_path / "up")
    client = api_client_factory(vetted_user)
    files = [open(tmp_path / "up" / t.object_name, "rb") for t in tables]
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/packages/",
            {"eml": SimpleUploadedFile("eml.xml", eml_for("quay.7.1", tables)), "data": files},
            format="multipart",
        )
    assert response.status_code == 202, response.content
    status = client.get(response.json()["status"].replace("http://testserver", ""))
    assert status.json()["state"] == "succeeded", status.json()
    assert [s["state"] for s in status.json()["steps"]] == ["done"] * 6
    listing = api_client_factory(None).get("/api/packages/").json()
    assert [r["package_id"] for r in listing["results"]] == ["quay.7.1"]
    detail = api_client_factory(None).get("/api/packages/quay/7/1/").json()
    assert {r["resource_type"] for r in detail["resources"]} == {"data", "metadata", "report", "dataPackage"}
    assert api_client_factory(None).get("/api/packages/quay/7/").json()[0]["number"] == 1


def test_held_revision_data_is_forbidden_to_strangers_but_metadata_visible(
    published, client, plain_user, vetted_user
):
    rev = published["sub"].revision
    Revision.objects.filter(pk=rev.pk).update(state=Revision.State.HELD)  # as the holds app would
    assert client.get("/package/metadata/eml/edi/300/1").status_code == 200
    assert client.get("/package/data/eml/edi/300/1/stations").status_code == 403
    client.force_login(plain_user)
    assert client.get("/package/data/eml/edi/300/1/stations").status_code == 403
    client.force_login(vetted_user)  # the owner
    assert client.get("/package/data/eml/edi/300/1/stations").status_code == 200


def test_a_failed_revision_is_not_visible(vetted_user, client):
    from apps.packages.models import Package

    pkg = Package.objects.create(scope="edi", identifier=399, owner=vetted_user)
    Revision.objects.create(package=pkg, number=1, state=Revision.State.FAILED)
    assert client.get("/package/eml/edi/399").status_code == 404
    assert client.get("/package/metadata/eml/edi/399/1").status_code == 404


def test_held_revision_page_shows_metadata_but_no_data_links(published, client):
    Revision.objects.filter(pk=published["sub"].revision_id).update(state=Revision.State.HELD)
    page = client.get("/packages/edi/300/1/")
    assert page.status_code == 200
    assert b"proprietary hold" in page.content
    assert b"/package/data/eml/edi/300/1/stations" not in page.content


@pytest.mark.s3
def test_archive_and_download_through_real_s3(
    s3_storage,
    vetted_user,
    api_client_factory,
    data_server,
    allow_loopback,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    tables = two_tables(data_server.root, data_server.url)
    client = api_client_factory(vetted_user)
    with django_capture_on_commit_callbacks(execute=True):
        transaction = client.post(
            "/package/eml", data=eml_for("edi.310.1", tables), content_type="application/xml"
        ).content.decode()
    assert Submission.objects.get(transaction=transaction).state == "succeeded"
    from django.conf import settings

    from apps.packages.models import Entity

    bucket = settings.STORAGES["blobs"]["OPTIONS"]["bucket_name"]
    keys = [o["Key"] for o in s3_storage.client().list_objects_v2(Bucket=bucket).get("Contents", [])]
    blob = Entity.objects.get(revision__package__identifier=310, entity_id="observations").blob
    assert any(k.endswith(blob.sha256) for k in keys)  # the archived object is in S3
    part = client.get("/package/data/eml/edi/310/1/observations", HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206
    body = b"".join(part.streaming_content)
    assert body == (data_server.root / "observations.csv").read_bytes()[:10]
