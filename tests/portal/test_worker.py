"""Tasks dispatched on commit run in a real worker process; a rolled-back transaction dispatches nothing."""

import time

import pytest
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.storage.tasks import record_probe
from portal.tasks import dispatch
from tests.support.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_task_dispatched_on_commit_runs_in_a_real_worker(celery_worker_process):
    with transaction.atomic():
        dispatch(record_probe, "committed")
    wait_until(
        lambda: AuditEvent.objects.filter(service_method="record_probe", entry_text="committed").exists(),
        timeout=60,
        worker=celery_worker_process,
    )
    assert "record_probe" in celery_worker_process.output()


def test_rolled_back_transaction_dispatches_nothing(celery_worker_process):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        dispatch(record_probe, "rolled-back")
        raise Boom
    # A marker task sent afterwards proves the worker is draining the queue in order.
    with transaction.atomic():
        dispatch(record_probe, "marker")
    wait_until(
        lambda: AuditEvent.objects.filter(entry_text="marker").exists(),
        timeout=60,
        worker=celery_worker_process,
    )
    time.sleep(0.5)
    assert not AuditEvent.objects.filter(entry_text="rolled-back").exists()


def test_a_task_that_fails_in_the_worker_leaves_an_error_event(celery_worker_process):
    from apps.storage.tasks import copy_blob_to_deep

    with transaction.atomic():
        dispatch(copy_blob_to_deep, "0" * 64)  # no such blob: a permanent error, not retried
    event = wait_until(
        lambda: AuditEvent.objects.filter(service="worker", category="error").first(),
        timeout=60,
        worker=celery_worker_process,
    )
    assert "copy_blob_to_deep" in event.service_method and "0" * 64 in event.entry_text
