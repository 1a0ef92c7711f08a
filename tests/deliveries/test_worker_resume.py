"""A real worker killed halfway through hashing a delivery: the re-delivered task resumes from the last
checkpoint, and no file hashed before the kill is hashed again."""

from __future__ import annotations

import hashlib
import os
import signal

import psutil
import pytest

from apps.audit.models import AuditEvent
from apps.deliveries import services
from apps.deliveries.models import Delivery, InventoryFile
from portal.celery import app
from tests.support.worker import start_worker, wait_until

from .helpers import make_tree

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def slow_worker(tmp_path):
    # Reads paced at 400 KB/s and a checkpoint every 0.2 s: 2 MB take ~5 s, time to kill it halfway.
    w = start_worker(
        tmp_path,
        extra_env={
            "DELIVERY_READ_RATE_LIMIT": str(400 * 1024),
            "DELIVERY_CHECKPOINT_SECONDS": "0.2",
            "DELIVERY_HASH_THREADS": "2",
            "DELIVERY_ALLOWED_ROOTS": str(tmp_path / "dropbox"),
        },
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = w.queue
    app.conf.task_always_eager = False
    yield w
    app.conf.task_default_queue = previous
    w.stop()


def test_a_worker_killed_halfway_resumes_without_hashing_finished_files_again(
    slow_worker, operator_user, cruise, dropbox
):
    files = {f"multibeam/{i:03}.all": os.urandom(50 * 1024) for i in range(40)}
    root = make_tree(dropbox / "RR-kill", files)
    delivery = services.register_delivery(operator_user, cruise, str(root))  # queued on commit
    wait_until(
        lambda: Delivery.objects.get(pk=delivery.pk).files_done >= 10,
        timeout=60,
        interval=0.05,
        worker=slow_worker,
    )
    children = psutil.Process(slow_worker.proc.pid).children(recursive=True)
    assert children, "the prefork pool has no child process"
    for child in children:
        os.kill(child.pid, signal.SIGKILL)
    before = dict(
        InventoryFile.objects.filter(delivery=delivery, status="hashed").values_list("pk", "hashed_at")
    )
    assert 10 <= len(before) < len(files), "killed too late to show a resume"

    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).finished, timeout=90, worker=slow_worker)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.INVENTORIED, f"{delivery.errors}\n{slow_worker.output()[-3000:]}"
    assert delivery.files_done == delivery.files_total == len(files)
    assert delivery.bytes_done == delivery.bytes_total == sum(len(d) for d in files.values())
    rows = {f.pk: f for f in InventoryFile.objects.filter(delivery=delivery)}
    # The files checkpointed before the kill were not hashed again: their rows are untouched.
    assert {pk: rows[pk].hashed_at for pk in before} == before
    for f in rows.values():
        assert f.status == "hashed" and f.sha256 == hashlib.sha256(files[f.path]).hexdigest()
    assert (
        AuditEvent.objects.filter(
            resource_id=f"delivery/{delivery.pk}", service_method="inventoryDelivery"
        ).count()
        == 1
    )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_hashes_small_files_in_helper_processes(tmp_path, operator_user, cruise, dropbox):
    """The prefork pool's child starts the helpers (spawn), and their rows are the files' digests."""
    w = start_worker(
        tmp_path,
        extra_env={
            "DELIVERY_HASH_PROCESSES": "2",
            "DELIVERY_HASH_PROCESS_MIN_FILES": "1",
            "DELIVERY_ALLOWED_ROOTS": str(tmp_path / "dropbox"),
        },
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue, app.conf.task_always_eager = w.queue, False
    try:
        files = {f"ctd/{i:04}.hex": os.urandom(2000 + i) for i in range(600)}
        delivery = services.register_delivery(
            operator_user, cruise, str(make_tree(dropbox / "RR-procs", files))
        )
        wait_until(lambda: Delivery.objects.get(pk=delivery.pk).finished, timeout=90, worker=w)
        delivery.refresh_from_db()
        output = w.output()
    finally:
        app.conf.task_default_queue = previous
        w.stop()
    assert delivery.state == Delivery.State.INVENTORIED, f"{delivery.errors}\n{output[-3000:]}"
    assert "small files go to 2 helper processes" in output and "helper process" not in output.replace(
        "small files go to 2 helper processes", ""
    ), output[-3000:]
    for f in InventoryFile.objects.filter(delivery=delivery):
        assert f.status == "hashed" and f.sha256 == hashlib.sha256(files[f.path]).hexdigest()
