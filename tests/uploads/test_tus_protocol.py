"""The tus 1.0.0 protocol as Quayside speaks it (docs/uploads.md), through Django's test client: every
status code the specification names, metadata, checksums, termination, expiration, method override,
session authentication with CSRF, and that only the uploader reaches an upload."""

import base64
import datetime
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from apps.storage.models import Blob
from apps.uploads import services
from apps.uploads.models import Upload
from tests.conftest import api_client_for

from .conftest import OCTETS, TUS, create, metadata, patch, tus_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(vetted_user):
    return tus_client(vetted_user)


@pytest.fixture
def upload_url(client):
    response = create(client, 10, filename="a.csv", filetype="text/csv")
    assert response.status_code == 201, response.content
    return response["Location"]


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_options_announces_version_extensions_size_and_checksums_without_signing_in(settings):
    response = Client().options("/api/uploads/")
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) >= {"creation", "checksum", "termination", "expiration"}
    assert response["Tus-Max-Size"] == str(settings.UPLOADS_MAX_SIZE)
    assert response["Tus-Checksum-Algorithm"] == "sha1,md5,sha256"


def test_creation_answers_201_with_an_absolute_location_and_expiry(client, vetted_user):
    response = create(client, 10, filename="données.csv", relativePath="run 1/données.csv", sha256="a" * 64)
    assert response.status_code == 201
    assert response["Location"].startswith("http://testserver/api/uploads/")
    assert response["Tus-Resumable"] == "1.0.0" and "Upload-Expires" in response
    upload = Upload.objects.get(user=vetted_user)
    assert (upload.filename, upload.relative_path, upload.length) == ("données.csv", "run 1/données.csv", 10)
    assert (upload.checksum_algorithm, upload.checksum) == ("sha256", "a" * 64)
    assert upload.path.exists() and upload.path.stat().st_size == 0


def test_patch_appends_and_head_reports_the_offset(client, upload_url):
    first = patch(client, upload_url, 0, b"01234")
    assert first.status_code == 204 and first["Upload-Offset"] == "5" and "Upload-Expires" in first
    head = client.head(upload_url)
    assert head.status_code == 200
    assert (head["Upload-Offset"], head["Upload-Length"], head["Cache-Control"]) == ("5", "10", "no-store")
    assert head["Upload-Metadata"] == metadata(filename="a.csv", filetype="text/csv")
    assert head.content == b""
    assert patch(client, upload_url, 5, b"56789")["Upload-Offset"] == "10"
    upload = Upload.objects.get()
    assert upload.state == Upload.State.RECEIVED and upload.path.read_bytes() == b"0123456789"


def test_a_wrong_offset_is_409(client, upload_url):
    patch(client, upload_url, 0, b"012")
    response = patch(client, upload_url, 0, b"012")
    assert response.status_code == 409 and "HEAD" in response.json()["detail"]
    assert Upload.objects.get().offset == 3


@pytest.mark.parametrize("version", [None, "0.2.2"])
def test_an_unsupported_or_missing_version_is_412_with_tus_version(vetted_user, version):
    client = api_client_for(vetted_user)
    extra = {"HTTP_TUS_RESUMABLE": version} if version else {}
    response = client.post("/api/uploads/", HTTP_UPLOAD_LENGTH="3", **extra)
    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0" and response["Tus-Resumable"] == "1.0.0"
    assert not Upload.objects.exists()


def test_bytes_with_another_content_type_are_415(client, upload_url):
    response = client.generic("PATCH", upload_url, b"012", content_type="text/plain", HTTP_UPLOAD_OFFSET="0")
    assert response.status_code == 415


def test_a_chunk_whose_checksum_differs_is_460_and_discarded(client, upload_url):
    bad = patch(
        client, upload_url, 0, b"01234", HTTP_UPLOAD_CHECKSUM=f"sha1 {b64(hashlib.sha1(b'x').digest())}"
    )
    assert bad.status_code == 460 and bad.reason_phrase == "Checksum Mismatch"
    upload = Upload.objects.get()
    assert upload.offset == 0 and upload.path.stat().st_size == 0
    for algorithm in ("md5", "sha256"):
        chunk = b"01234" if algorithm == "md5" else b"56789"
        good = patch(
            client,
            upload_url,
            0 if algorithm == "md5" else 5,
            chunk,
            HTTP_UPLOAD_CHECKSUM=f"{algorithm} {b64(hashlib.new(algorithm, chunk).digest())}",
        )
        assert good.status_code == 204
    assert Upload.objects.get().offset == 10
    crc = patch(client, upload_url, 10, b"", HTTP_UPLOAD_CHECKSUM="crc32 AAAAAA==")
    assert crc.status_code == 400


def test_too_large_is_413_at_creation_and_past_the_length(client, upload_url, settings):
    settings.UPLOADS_MAX_SIZE = 100
    assert create(client, 101, filename="big.bin").status_code == 413
    response = patch(client, upload_url, 0, b"x" * 11)
    assert response.status_code == 413
    assert Upload.objects.get(pk=upload_url.rsplit("/", 1)[1]).offset == 0


def test_a_full_scratch_disk_is_507(client, settings):
    settings.SCRATCH_MIN_FREE_BYTES = 1 << 62
    response = create(client, 10, filename="a.csv")
    assert response.status_code == 507 and "scratch disk is full" in response.json()["detail"]
    assert not Upload.objects.exists()


def test_delete_terminates_and_the_upload_is_then_gone(client, upload_url):
    patch(client, upload_url, 0, b"012")
    assert client.delete(upload_url).status_code == 204
    upload = Upload.objects.get()
    assert upload.state == Upload.State.CANCELLED and not upload.path.exists()
    assert client.head(upload_url).status_code == 410
    assert patch(client, upload_url, 3, b"345").status_code == 410


def test_an_expired_upload_is_410_and_the_sweep_removes_its_bytes(client, upload_url):
    patch(client, upload_url, 0, b"012")
    Upload.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.head(upload_url).status_code == 410
    assert patch(client, upload_url, 3, b"345").status_code == 410
    assert services.expire_uploads() == 1
    upload = Upload.objects.get()
    assert upload.state == Upload.State.EXPIRED and not upload.path.exists()
    assert client.get(upload_url).json()["state"] == "expired"


def test_unknown_upload_is_404_and_someone_elses_too(client, upload_url, data_manager):
    assert client.head("/api/uploads/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.head("/api/uploads/not-a-uuid").status_code == 404
    other = tus_client(data_manager)
    assert other.head(upload_url).status_code == 404
    assert patch(other, upload_url, 0, b"012").status_code == 404
    assert other.delete(upload_url).status_code == 404
    assert other.get(upload_url).status_code == 404
    assert Upload.objects.get().offset == 0


def test_anonymous_is_401(upload_url):
    anonymous = Client()
    assert anonymous.post("/api/uploads/", HTTP_UPLOAD_LENGTH="3", **TUS).status_code == 401
    assert anonymous.head(upload_url, **TUS).status_code == 401


def test_plain_user_may_not_upload_without_a_target(plain_user):
    response = create(tus_client(plain_user), 3, filename="a")
    assert response.status_code == 403


def test_x_http_method_override_turns_post_into_patch_and_delete(client, upload_url):
    response = client.post(
        upload_url, b"01234", content_type=OCTETS, HTTP_UPLOAD_OFFSET="0", HTTP_X_HTTP_METHOD_OVERRIDE="PATCH"
    )
    assert response.status_code == 204 and response["Upload-Offset"] == "5"
    assert client.post(upload_url, HTTP_X_HTTP_METHOD_OVERRIDE="DELETE").status_code == 204


def test_creation_with_upload_takes_the_first_bytes(client):
    response = client.post(
        "/api/uploads/",
        b"0123",
        content_type=OCTETS,
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=metadata(filename="a"),
    )
    assert response.status_code == 201 and response["Upload-Offset"] == "4"
    assert Upload.objects.get().offset == 4


@pytest.mark.parametrize(
    "header",
    [
        "filename !!!",
        "filename YQ==,filename YQ==",
        "bad key YQ==",
        "name " + base64.b64encode(b"\xff").decode(),
    ],
)
def test_malformed_metadata_is_400(client, header):
    response = client.post("/api/uploads/", HTTP_UPLOAD_LENGTH="3", HTTP_UPLOAD_METADATA=header)
    assert response.status_code == 400 and "Upload-Metadata" in response.json()["detail"]


@pytest.mark.parametrize(
    "path", ["../escape.txt", "/etc/passwd", "a//b", "a/./b", "C:/x", "a\\b", "a\x00b", "a\u0085b", "x" * 256]
)
def test_unsafe_relative_paths_are_400(client, path):
    assert create(client, 3, filename="x", relativePath=path).status_code == 400


def test_no_length_or_deferred_length_is_400(client):
    assert client.post("/api/uploads/").status_code == 400
    assert client.post("/api/uploads/", HTTP_UPLOAD_DEFER_LENGTH="1").status_code == 400


def test_session_uploads_need_the_csrf_token(vetted_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(vetted_user)
    headers = {"HTTP_UPLOAD_LENGTH": "3", "HTTP_UPLOAD_METADATA": metadata(filename="a"), **TUS}
    assert browser.generic("POST", "/api/uploads/", **headers).status_code == 403
    browser.get("/uploads/")
    token = browser.cookies["csrftoken"].value
    created = browser.generic("POST", "/api/uploads/", HTTP_X_CSRFTOKEN=token, **headers)
    assert created.status_code == 201
    url = created["Location"]
    sent = browser.generic(
        "PATCH", url, b"abc", content_type=OCTETS, HTTP_UPLOAD_OFFSET="0", HTTP_X_CSRFTOKEN=token, **TUS
    )
    assert sent.status_code == 204


def test_a_complete_upload_waits_for_the_worker_and_never_becomes_a_blob_before(client, upload_url):
    patch(client, upload_url, 0, b"0123456789")
    upload = Upload.objects.get()
    assert upload.state == Upload.State.RECEIVED and not Blob.objects.exists()
    services.place_upload(upload.pk)
    upload.refresh_from_db()
    assert (
        upload.state == Upload.State.DONE and upload.blob.sha256 == hashlib.sha256(b"0123456789").hexdigest()
    )
    assert not upload.path.exists()
    assert client.head(upload_url)["Upload-Offset"] == "10"
    assert client.get("/api/uploads/").json()["results"][0]["state"] == "done"


def test_the_worker_fails_a_file_whose_declared_checksum_differs(client):
    url = create(client, 3, filename="a", md5=hashlib.md5(b"xyz").hexdigest())["Location"]
    patch(client, url, 0, b"abc")
    upload = services.place_upload(Upload.objects.get().pk)
    assert upload.state == Upload.State.FAILED and "md5" in upload.error
    assert client.get(url).json()["error"] == upload.error


def test_the_list_page_shows_progress(client, upload_url, vetted_user):
    patch(client, upload_url, 0, b"01234")
    page = Client()
    page.force_login(vetted_user)
    response = page.get("/uploads/")
    assert response.status_code == 200
    assert b'<progress max="10" value="5">' in response.content and b"a.csv" in response.content


def test_a_second_patch_while_one_writes_is_423(client, upload_url):
    import fcntl

    upload = Upload.objects.get()
    with open(upload.path, "ab") as held:  # what a PATCH in progress holds
        fcntl.flock(held, fcntl.LOCK_EX)
        response = patch(client, upload_url, 0, b"012")
    assert response.status_code == 423 and response.reason_phrase == "Locked"
    assert patch(client, upload_url, 0, b"012").status_code == 204


def test_unconfirmed_bytes_past_the_recorded_offset_are_cut_off(client, upload_url):
    patch(client, upload_url, 0, b"012")
    upload = Upload.objects.get()
    with open(upload.path, "ab") as fh:  # a process killed after writing, before recording the offset
        fh.write(b"garbage")
    assert client.head(upload_url)["Upload-Offset"] == "3"
    assert patch(client, upload_url, 3, b"3456789").status_code == 204
    assert upload.path.read_bytes() == b"0123456789"


def test_the_scratch_sweeper_leaves_a_live_upload_alone(client, upload_url):
    from apps.storage.scratch import sweep_scratch

    upload = Upload.objects.get()
    assert sweep_scratch(max_age_hours=0) == [] and upload.path.exists()
    Upload.objects.update(state=Upload.State.CANCELLED)
    assert sweep_scratch(max_age_hours=0) == [f"uploads/{upload.pk}"]


def test_an_upload_whose_bytes_vanished_fails_with_the_reason(client, upload_url):
    patch(client, upload_url, 0, b"0123456789")
    upload = Upload.objects.get()
    upload.path.unlink()
    placed = services.place_upload(upload.pk)
    assert placed.state == Upload.State.FAILED and "upload the file again" in placed.error
