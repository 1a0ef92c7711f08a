"""A real Celery worker: the pipeline runs as a chain of tasks, and a worker process killed in the middle
of a slow fetch does not lose the package or archive it twice (acks_late + conditional-update claims)."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest

from apps.packages.models import Entity, Resource, Revision
from apps.submissions import services
from apps.submissions.models import Step, Submission
from portal.celery import app
from tests.packages.helpers import eml_for, two_tables
from tests.support.httpserver import trickle_server
from tests.support.worker import start_worker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path):
    w = start_worker(
        tmp_path, extra_env={"FETCH_ALLOWED_HOSTS": "127.0.0.1", "FETCH_TIMEOUT": "10", "FETCH_RETRIES": "3"}
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = w.queue
    app.conf.task_always_eager = False
    yield w
    app.conf.task_default_queue = previous
    w.stop()


@pytest.fixture
def slow_server(tmp_path):
    """Serves /slow/<file> in 20 pieces, 0.25 s apart, and counts the requests."""
    with trickle_server(tmp_path / "served", pause=0.25) as server:
        yield server


def test_the_worker_runs_the_whole_chain(worker, vetted_user, slow_server):
    tables = two_tables(slow_server.root, slow_server.url)
    sub = services.submit(vetted_user, eml_for("edi.700.1", tables))  # queued on commit
    wait_until(lambda: Submission.objects.get(pk=sub.pk).finished, timeout=60, worker=worker)
    sub.refresh_from_db()
    assert sub.state == "succeeded", sub.error
    assert [s.state for s in sub.steps.all()] == ["done"] * 6


def test_a_worker_killed_mid_fetch_is_redelivered_and_archives_exactly_once(worker, vetted_user, slow_server):
    tables = two_tables(slow_server.root, slow_server.url)
    tables[1].url = f"{slow_server.url}/slow/observations.csv"
    sub = services.submit(vetted_user, eml_for("edi.701.1", tables))
    wait_until(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, worker=worker)
    fetch = Step.objects.get(submission=sub, name=Step.Name.FETCH)
    assert fetch.state == Step.State.RUNNING and fetch.attempts == 1

    # Kill the process executing the task (SIGKILL: no clean-up, no ack). The worker's pool replaces it
    # and, as the task is acks_late and reject_on_worker_lost, the message is delivered again.
    children = psutil.Process(worker.proc.pid).children(recursive=True)
    assert children, "the prefork pool has no child process"
    for child in children:
        os.kill(child.pid, signal.SIGKILL)

    wait_until(lambda: Submission.objects.get(pk=sub.pk).finished, timeout=90, worker=worker)
    sub.refresh_from_db()
    assert sub.state == "succeeded", f"{sub.error}\n{worker.output()[-3000:]}"
    assert slow_server.httpd.slow_requests >= 2  # the fetch ran again
    assert Step.objects.get(submission=sub, name=Step.Name.FETCH).attempts >= 2
    revision = Revision.objects.get(pk=sub.revision_id)
    assert revision.state in (Revision.State.PUBLISHED, Revision.State.HELD)
    assert Entity.objects.filter(revision=revision).count() == 2
    assert Resource.objects.filter(revision=revision).count() == 5
    assert Resource.objects.filter(package_id="edi.701.1", resource_type="metadata").count() == 1
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(resource_id="edi.701.1", service_method="archive").count() == 1
    threading.Event().wait(1.0)  # let any stray duplicate delivery run, then check again
    assert Resource.objects.filter(revision=revision).count() == 5


@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"),
    reason="needs Redis: a message of a dead worker is restored after the visibility timeout",
)
def test_a_whole_worker_killed_mid_fetch_is_taken_over_by_a_new_worker(vetted_user, slow_server, tmp_path):
    env = {"FETCH_ALLOWED_HOSTS": "127.0.0.1", "FETCH_TIMEOUT": "10", "CELERY_VISIBILITY_TIMEOUT": "3"}
    queue = f"takeover-{os.getpid()}-{time.monotonic_ns()}"
    first = start_worker(tmp_path, queue=queue, extra_env=env)
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    second = None
    try:
        tables = two_tables(slow_server.root, slow_server.url)
        tables[1].url = f"{slow_server.url}/slow/observations.csv"
        sub = services.submit(vetted_user, eml_for("edi.702.1", tables))
        wait_until(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, worker=first)
        first.stop(signal.SIGKILL)  # the whole worker, main process and pool: nothing is acknowledged
        assert Step.objects.get(submission=sub, name=Step.Name.FETCH).state == Step.State.RUNNING
        second = start_worker(tmp_path, queue=queue, extra_env=env)
        wait_until(lambda: Submission.objects.get(pk=sub.pk).finished, timeout=120, worker=second)
        sub.refresh_from_db()
        assert sub.state == "succeeded", f"{sub.error}\n{second.output()[-3000:]}"
        assert slow_server.httpd.slow_requests >= 2
        revision = Revision.objects.get(pk=sub.revision_id)
        assert revision.state in (Revision.State.PUBLISHED, Revision.State.HELD)
        assert Resource.objects.filter(revision=revision).count() == 5
        assert Entity.objects.filter(revision=revision).count() == 2
        from apps.audit.models import AuditEvent

        assert AuditEvent.objects.filter(resource_id="edi.702.1", service_method="archive").count() == 1
    finally:
        app.conf.task_default_queue = previous
        first.stop()
        if second is not None:
            second.stop()
