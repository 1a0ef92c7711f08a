"""A real worker places a complete upload: the last PATCH answers at once with the upload "received",
and the worker process — not the request — stores the file (a blob here) and marks it done."""

import hashlib

import pytest
from django.conf import settings

from apps.storage.models import Blob
from apps.uploads.models import Upload
from portal.celery import app
from tests.support.worker import start_worker, wait_until

from .conftest import create, patch, tus_client

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_the_worker_moves_the_finished_upload_into_storage(tmp_path, vetted_user):
    blob_root = settings.STORAGES["blobs"]["OPTIONS"]["location"]
    worker = start_worker(
        tmp_path,
        extra_env={"SCRATCH_DIR": str(settings.SCRATCH_DIR), "BLOB_ROOT": blob_root, "STORAGE_FSYNC": "0"},
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue, app.conf.task_always_eager = worker.queue, False
    try:
        data = b"station,depth\nA,10\n" * 100
        client = tus_client(vetted_user)
        url = create(client, len(data), filename="casts.csv", sha256=hashlib.sha256(data).hexdigest())[
            "Location"
        ]
        answer = patch(client, url, 0, data)
        assert answer.status_code == 204
        upload = Upload.objects.get()
        assert upload.path.exists()  # still in scratch when the request has answered
        wait_until(lambda: Upload.objects.filter(state=Upload.State.DONE).exists(), timeout=30, worker=worker)
    finally:
        app.conf.task_default_queue = previous
        worker.stop()
    upload.refresh_from_db()
    assert upload.blob == Blob.objects.get(sha256=hashlib.sha256(data).hexdigest())
    assert not upload.path.exists()
    assert client.get(url).json()["result"] == f"blob {upload.blob_id}"
