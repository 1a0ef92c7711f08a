"""Bad input and bad days: oversized requests get 413 with a message (declared, chunked, or one file too
big); a storage backend that is down gives 503 from /healthz and an error page, and no Blob row."""

from __future__ import annotations

import io

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from apps.storage.models import Blob
from tests.storage.conftest import a_file
from tests.support.ports import free_port
from tests.support.seaweed import s3_storage_settings

pytestmark = pytest.mark.django_db

MAX_FILE = 256 * 1024
FORM_ALLOWANCE = 64 * 1024  # request limit = MAX_FILE + FORM_ALLOWANCE


@pytest.fixture
def limits(settings):
    settings.MAX_UPLOAD_SIZE = MAX_FILE
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = FORM_ALLOWANCE
    return settings


def multipart(size: int, name: str = "cast.bin") -> bytes:
    return encode_multipart(BOUNDARY, {"file": a_file(size, name)})


def post_chunked(client, url: str, body: bytes):
    """What gunicorn hands Django for ``Transfer-Encoding: chunked``: no Content-Length, the de-chunked
    body as wsgi.input, and ``wsgi.input_terminated`` to say reading it to the end is safe."""
    environ = {
        "CONTENT_TYPE": MULTIPART_CONTENT,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
    }
    return client.generic("POST", url, b"", **environ)


def scratch_is_empty(settings) -> bool:
    return not any(settings.SCRATCH_DIR.iterdir())


def test_upload_is_stored_and_audited(dm_client, limits):
    response = dm_client.post("/storage/upload/", {"file": a_file(100_000)})
    assert response.status_code == 302
    blob = Blob.objects.get()
    assert blob.size == 100_000
    page = dm_client.get("/storage/upload/").content.decode()
    assert blob.sha256 in page and blob.md5 in page
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(
        service="storage", service_method="upload_blob", resource_id=f"blob/{blob.sha256}"
    ).exists()


def test_declared_content_length_over_the_limit_is_refused_before_reading(dm_client, limits):
    response = dm_client.generic(
        "POST", "/storage/upload/", b"", CONTENT_TYPE=MULTIPART_CONTENT, CONTENT_LENGTH=str(50 * 1024 * 1024)
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert "Upload too large" in html and "50.0\xa0MB" in html and "256.0\xa0KB" in html
    assert Blob.objects.count() == 0


def test_api_gets_413_as_json(limits, data_manager):
    from tests.conftest import api_client_for

    response = api_client_for(data_manager).generic("POST", "/api/tokens/", b"", CONTENT_LENGTH=str(10**9))
    assert response.status_code == 413
    assert response.json()["status"] == 413 and "largest file accepted" in response.json()["detail"]


def test_chunked_upload_within_the_limit_is_stored(dm_client, limits):
    response = post_chunked(dm_client, "/storage/upload/", multipart(200_000))
    assert response.status_code == 302
    assert Blob.objects.get().size == 200_000


def test_chunked_body_over_the_limit_is_refused_while_streaming(dm_client, limits, settings):
    response = post_chunked(dm_client, "/storage/upload/", multipart(2 * 1024 * 1024))
    assert response.status_code == 413
    assert "Upload too large" in response.content.decode()
    assert Blob.objects.count() == 0 and scratch_is_empty(settings)


@pytest.mark.parametrize("transfer", ["content-length", "chunked"])
def test_one_file_over_the_limit_is_stopped_by_the_upload_handler(dm_client, limits, settings, transfer):
    # The request fits (file + form allowance) but the file alone is over MAX_UPLOAD_SIZE.
    body = multipart(MAX_FILE + 1000, name="ctd-cast-17.cnv")
    assert len(body) < MAX_FILE + FORM_ALLOWANCE
    if transfer == "chunked":
        response = post_chunked(dm_client, "/storage/upload/", body)
    else:
        response = dm_client.post(
            "/storage/upload/", {"file": a_file(MAX_FILE + 1000, name="ctd-cast-17.cnv")}
        )
    assert response.status_code == 413
    assert "ctd-cast-17.cnv" in response.content.decode()
    assert Blob.objects.count() == 0 and scratch_is_empty(settings)


def test_healthz_reports_ok(client):
    from apps.submissions.heartbeat import beat

    beat("worker@test")  # a worker seen just now (without one, /healthz says "no_worker")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and all(check["ok"] for check in body["checks"].values())


@pytest.fixture(params=["s3-closed-port", "unusable-folder"])
def storage_down(request, settings, tmp_path):
    if request.param == "s3-closed-port":
        endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        blobs = s3_storage_settings(endpoint, "quayside", attempts=1, connect_timeout=2)
    else:
        (tmp_path / "not-a-folder").write_text("a file where the blob root should be")
        blobs = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "not-a-folder" / "blobs")},
        }
    settings.STORAGES = {**settings.STORAGES, "blobs": blobs}
    return request.param


def test_healthz_is_503_with_a_clear_message_when_storage_is_down(client, storage_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"]["ok"] is False and body["checks"]["database"]["ok"] is True
    assert body["message"].startswith("storage is unavailable: ")


def test_upload_during_an_outage_is_an_error_page_and_leaves_nothing(dm_client, storage_down, settings):
    response = dm_client.post("/storage/upload/", {"file": a_file(50_000)})
    assert response.status_code == 503
    html = response.content.decode()
    assert "Storage unavailable" in html and "nothing was saved" in html and 'class="site-header"' in html
    assert Blob.objects.count() == 0
    assert scratch_is_empty(settings)
    from apps.audit.models import AuditEvent

    assert not AuditEvent.objects.filter(service="storage").exists()  # rolled back with the upload
    assert AuditEvent.objects.get(service="web").status_code == 503
