"""A blob download while S3 is down answers 503 with a message (as the README promises), not a 500 or a
200 that breaks off: the object is opened before the response starts."""

from __future__ import annotations

import pytest

from apps.storage import services
from tests.support.seaweed import s3_storage_settings, start_seaweed, stop_seaweed

pytestmark = [pytest.mark.s3, pytest.mark.faults, pytest.mark.django_db]


@pytest.fixture
def own_seaweed(tmp_path):
    """A SeaweedFS of this test's own, so stopping it disturbs no other test."""
    server = start_seaweed(tmp_path / "seaweed")
    yield server
    stop_seaweed(server.proc)


@pytest.mark.parametrize("ranged", [False, True], ids=["whole", "range"])
def test_a_blob_download_with_s3_down_answers_503(ranged, client, data_manager, own_seaweed, settings):
    own_seaweed.create_bucket("qs-outage")
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": s3_storage_settings(own_seaweed.endpoint, "qs-outage", attempts=1, connect_timeout=2),
    }
    settings.DOWNLOAD_MODE = "django"
    blob = services.store_bytes(b"temperature,salinity\n12.5,34.1\n")
    client.force_login(data_manager)
    headers = {"HTTP_RANGE": "bytes=0-9"} if ranged else {}
    response = client.get(f"/storage/blobs/{blob.sha256}", **headers)
    assert response.status_code == (206 if ranged else 200)
    assert b"".join(response.streaming_content).startswith(b"temperatur")

    stop_seaweed(own_seaweed.proc)
    response = client.get(f"/storage/blobs/{blob.sha256}", **headers)
    assert response.status_code == 503
    assert "Storage unavailable" in response.content.decode()
