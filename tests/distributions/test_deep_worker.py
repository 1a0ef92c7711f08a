"""A real worker makes the deep copy and the restore (dispatched after commit, claimed with a lease), with the
deep tier on S3 (SeaweedFS on loopback); tests/distributions/test_deep.py covers the file system."""

from __future__ import annotations

import hashlib

import pytest

from apps.distributions import deep
from apps.distributions.models import DeepCopy, RestoreRequest
from apps.storage import services as storage
from apps.storage.models import blob_key
from portal.celery import app
from tests.support.pipeline import storage_env
from tests.support.worker import start_worker, wait_until


def _copy_and_restore(tmp_path, delivery, chief_scientist, data_manager, settings):
    settings.DISTRIBUTION_RESTORE_DIR = tmp_path / "restores"
    worker = start_worker(
        tmp_path,
        extra_env={**storage_env(), "DISTRIBUTION_RESTORE_DIR": str(settings.DISTRIBUTION_RESTORE_DIR)},
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    app.conf.task_always_eager = False
    try:
        copy = deep.request_copy(delivery, user=data_manager)
        wait_until(
            lambda: DeepCopy.objects.get(pk=copy.pk).state in ("verified", "failed"),
            timeout=60,
            worker=worker,
        )
        copy.refresh_from_db()
        assert copy.state == "verified", copy.errors
        assert copy.files_verified == delivery.files.count()
        restore = deep.request_restore(delivery, chief_scientist, scope="folder", path="nav")
        deep.approve_restore(restore, data_manager)
        wait_until(
            lambda: RestoreRequest.objects.get(pk=restore.pk).state in ("done", "failed"),
            timeout=60,
            worker=worker,
        )
        restore.refresh_from_db()
        assert restore.state == "done", restore.message
        for row in delivery.files.filter(path__startswith="nav/"):
            restored = deep.restore_folder(restore) / row.path
            assert hashlib.sha256(restored.read_bytes()).hexdigest() == row.sha256
    finally:
        app.conf.task_default_queue = previous
        worker.stop()


@pytest.mark.s3
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_copies_a_delivery_to_deep_storage_on_s3_and_restores_a_folder(
    tmp_path, delivery, chief_scientist, data_manager, settings, s3_storage
):
    _copy_and_restore(tmp_path, delivery, chief_scientist, data_manager, settings)
    row = delivery.files.get(path="README.txt")
    with storage.deep().open(blob_key(row.sha256), "rb") as fh:
        assert fh.read() == b"delivered by the operator\n"
