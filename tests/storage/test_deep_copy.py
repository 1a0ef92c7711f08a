"""Deep storage: every archived blob gets a second copy, claimed, verified by checksum after the copy,
swept when the on-commit copy was missed, counted for the data manager — and a real worker does it for
a package archived through the real pipeline, on the file system and on S3."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from django.utils import timezone

from apps.packages.models import Resource
from apps.storage import services, tasks
from apps.storage.models import Blob
from apps.submissions import services as submissions
from apps.submissions.models import Submission
from portal.celery import app
from tests.packages.helpers import eml_for, two_tables
from tests.support.pipeline import assert_nothing_stuck_and_nothing_twice, storage_env
from tests.support.worker import start_worker, wait_until


def _archived_blobs(revision) -> set[str]:
    return set(
        Resource.objects.filter(revision=revision, blob__isnull=False).values_list("blob_id", flat=True)
    )


@pytest.mark.django_db
def test_archiving_requests_a_deep_copy_of_every_archived_blob_and_the_sweep_makes_it(
    vetted_user, data_server, allow_loopback, eager_tasks, tmp_path
):
    tables = two_tables(data_server.root, data_server.url)
    sub = submissions.run_all(submissions.submit(vetted_user, eml_for("edi.400.1", tables), start=False))
    assert sub.state == "succeeded", sub.error
    archived = _archived_blobs(sub.revision)
    assert len(archived) == 4  # two tables, the EML, the quality report
    # In this test the transaction never commits, so the on-commit copies never ran: the sweep's case.
    assert set(services.deep_backlog().values_list("pk", flat=True)) == archived

    assert tasks.deep_copy_sweep.apply().get() == 4
    assert services.deep_backlog().count() == 0
    for sha256 in archived:
        blob = Blob.objects.get(pk=sha256)
        assert blob.deep_copied_at is not None and blob.lease_until is None
        copy = (tmp_path / "deep" / blob.key).read_bytes()
        assert hashlib.sha256(copy).hexdigest() == sha256


@pytest.mark.django_db
def test_a_blob_being_copied_by_another_worker_is_left_to_it(tmp_path):
    blob = services.store_bytes(b"one copy at a time")
    Blob.objects.filter(pk=blob.pk).update(
        deep_requested_at=timezone.now(), lease_until=timezone.now() + datetime.timedelta(minutes=5)
    )
    services.copy_to_deep(blob)
    assert Blob.objects.get(pk=blob.pk).deep_copied_at is None
    assert not (tmp_path / "deep" / blob.key).exists()
    assert tasks.deep_copy_sweep.apply().get() == 0  # the sweep skips it too, until the lease passes


@pytest.mark.django_db
def test_a_deep_copy_that_reads_back_wrong_is_removed_and_made_again(tmp_path):
    blob = services.store_bytes(b"the true bytes")
    bad = tmp_path / "deep" / blob.key
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"rotten bytes!!")  # a damaged copy already sitting in the deep tier
    with pytest.raises(services.IntegrityMismatch):
        services.copy_to_deep(blob)
    assert not bad.exists() and Blob.objects.get(pk=blob.pk).deep_copied_at is None
    assert Blob.objects.get(pk=blob.pk).lease_until is None  # released for the next try
    services.copy_to_deep(blob)
    assert bad.read_bytes() == b"the true bytes"
    assert Blob.objects.get(pk=blob.pk).deep_copied_at is not None


@pytest.mark.django_db
def test_the_pipeline_page_counts_blobs_without_a_deep_copy(client, data_manager):
    blob = services.store_bytes(b"waiting for its deep copy")
    Blob.objects.filter(pk=blob.pk).update(deep_requested_at=timezone.now())
    services.store_bytes(b"never archived: needs no deep copy")
    client.force_login(data_manager)
    page = client.get("/submissions/pipeline/").content.decode()
    assert 'data-field="deep-backlog" class="state-warn">1<' in page


def _archive_through_a_real_worker(tmp_path, vetted_user, data_server, package_id):
    worker = start_worker(tmp_path, extra_env={"FETCH_ALLOWED_HOSTS": "127.0.0.1", **storage_env()})
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    app.conf.task_always_eager = False
    try:
        tables = two_tables(data_server.root, data_server.url)
        sub = submissions.submit(vetted_user, eml_for(package_id, tables))
        wait_until(lambda: Submission.objects.get(pk=sub.pk).finished, timeout=90, worker=worker)
        sub.refresh_from_db()
        assert sub.state == "succeeded", sub.error
        archived = _archived_blobs(sub.revision)
        wait_until(
            lambda: Blob.objects.filter(pk__in=archived, deep_copied_at__isnull=False).count() == 4,
            timeout=60,
            worker=worker,
        )
        assert services.deep_backlog().count() == 0
        assert_nothing_stuck_and_nothing_twice()
        return [Blob.objects.get(pk=pk) for pk in archived]
    finally:
        app.conf.task_default_queue = previous
        worker.stop()


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_blob_archived_by_a_real_worker_reaches_the_deep_tier_on_the_file_system(
    tmp_path, vetted_user, data_server
):
    for blob in _archive_through_a_real_worker(tmp_path, vetted_user, data_server, "edi.401.1"):
        copy = (tmp_path / "deep" / blob.key).read_bytes()
        assert hashlib.sha256(copy).hexdigest() == blob.sha256


@pytest.mark.s3
@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_blob_archived_by_a_real_worker_reaches_the_deep_tier_on_s3(
    tmp_path, vetted_user, data_server, s3_storage, settings
):
    client = s3_storage.client()
    bucket = settings.STORAGES["deep"]["OPTIONS"]["bucket_name"]
    for blob in _archive_through_a_real_worker(tmp_path, vetted_user, data_server, "edi.402.1"):
        body = client.get_object(Bucket=bucket, Key=blob.key)["Body"].read()
        assert hashlib.sha256(body).hexdigest() == blob.sha256
