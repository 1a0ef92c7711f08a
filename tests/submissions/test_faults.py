"""Nothing stuck, nothing lost (issue 17): real faults injected into a pipeline run by real workers on a
private Redis. Each test ends with the same invariants: no submission left in a non-final state, no
archive row written twice.

The beat jobs are sent to the worker's queue by the test, every other second, the way beat sends them
every 15 s (dispatcher) and every minute (sweeper) in production.
"""

from __future__ import annotations

import itertools
import signal
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection

from apps.audit.models import AuditEvent
from apps.packages.models import Entity, Resource, Revision
from apps.submissions import services, tasks
from apps.submissions.models import Step, Submission
from portal.celery import app
from tests.packages.helpers import eml_for, two_tables
from tests.support.httpserver import trickle_server
from tests.support.pipeline import (
    PrivateRedis,
    assert_nothing_stuck_and_nothing_twice,
    restore_broker,
    storage_env,
    use_broker,
    wait_for,
)
from tests.support.worker import start_worker

pytestmark = [
    pytest.mark.faults,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# Short leases and budgets so that a fault plays out in seconds; the logic is the production one.
FAST = {
    "PIPELINE_LEASE_SECONDS": "4",
    "PIPELINE_HEARTBEAT_SECONDS": "1",
    "PIPELINE_RETRY_BACKOFF_MAX_SECONDS": "1",
    "FETCH_ALLOWED_HOSTS": "127.0.0.1",
    "FETCH_TIMEOUT": "10",
}


@pytest.fixture
def broker(request, tmp_path, settings):
    """The broker of the test process and its workers: a private Redis (the default; the fixture's value
    is the server, to stop and start), or with ``indirect`` param "filesystem" the embedded default."""
    if getattr(request, "param", "redis") == "redis":
        server = PrivateRedis(tmp_path).start()
        url, options = server.url, {"visibility_timeout": 3600}
    else:
        server, url = None, "filesystem://"
        folder = settings.VAR_DIR / "celery"  # where the worker's settings put the queue (same VAR_DIR)
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    previous = use_broker(url, options)
    settings.CELERY_BROKER_URL = url  # start_worker hands this to the worker
    yield server
    restore_broker(previous)
    if server is not None:
        server.stop()


@pytest.fixture
def pipeline(tmp_path, broker, settings):
    """Start workers on one queue (the test's tasks go there too); stops them all at the end."""
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    queue = f"faults-{time.monotonic_ns()}"
    workers = []
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False

    def start(**env):
        worker = start_worker(tmp_path, queue=queue, extra_env={**FAST, **storage_env(), **env})
        workers.append(worker)
        return worker

    start.queue = queue
    start.workers = workers
    yield start
    app.conf.task_default_queue = previous
    for worker in workers:
        worker.stop(signal.SIGKILL)


@pytest.fixture
def slow_server(tmp_path):
    with trickle_server(tmp_path / "served", pause=0.25) as server:
        yield server


def _beat(queue: str, stop: threading.Event) -> threading.Thread:
    """Send the dispatcher and the sweeper, in turn, to the workers' queue every second, as beat would.
    (Not both every second: the file-system transport takes about one message a second, and beat's
    own messages must not queue up in front of the steps.)"""

    def loop():
        jobs = itertools.cycle((tasks.dispatch_due_steps, tasks.sweep_steps))
        while not stop.wait(1.0):
            try:
                next(jobs).apply_async(queue=queue)
            except Exception:  # the broker may be down: beat just tries at its next tick
                pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def _finished(sub_id: int, timeout: float, workers) -> Submission:
    wait_for(
        lambda: Submission.objects.get(pk=sub_id).finished,
        timeout=timeout,
        describe=lambda: (
            f"{list(Step.objects.filter(submission_id=sub_id).values_list('name', 'state'))}\n"
            + "\n".join(w.output()[-3000:] for w in workers)
        ),
    )
    return Submission.objects.get(pk=sub_id)


def _archived_once(sub: Submission) -> None:
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    revision = Revision.objects.get(pk=sub.revision_id)
    assert revision.state in (Revision.State.PUBLISHED, Revision.State.HELD)
    assert Entity.objects.filter(revision=revision).count() == 2
    assert Resource.objects.filter(revision=revision).count() == 5
    assert (
        AuditEvent.objects.filter(resource_id=revision.package_id_text, service_method="archive").count() == 1
    )


def test_submissions_made_while_the_broker_is_down_answer_202_and_are_archived_once_it_returns(
    pipeline, broker, vetted_user, api_client_factory, client, slow_server
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    broker.stop()  # the broker (Redis) is down before anything is submitted
    tables = two_tables(slow_server.root, slow_server.url)
    api = api_client_factory(vetted_user)
    response = api.post("/package/eml", data=eml_for("edi.500.1", tables), content_type="application/xml")
    assert response.status_code == 202, response.content
    by_api = Submission.objects.get(transaction=response.content.decode())
    client.force_login(vetted_user)
    eml = SimpleUploadedFile("edi.501.1.xml", eml_for("edi.501.1", tables), "application/xml")
    response = client.post("/submissions/", {"eml": eml, "kind": "create"})
    assert response.status_code == 302  # to the status page, not an error
    by_web = Submission.objects.get(package_id_text="edi.501.1")
    for sub in (by_api, by_web):
        validate = sub.steps.get(name="validate")
        assert validate.due_at is not None and validate.dispatched_at is None  # in the outbox, unsent

    broker.start()  # the outage ends; a worker and beat run
    worker = pipeline()
    stop = threading.Event()
    _beat(pipeline.queue, stop)
    try:
        # The web submission waits for its submitter's "Publish" after the checks (a preview).
        wait_for(
            lambda: Submission.objects.get(pk=by_web.pk).awaiting_publication,
            timeout=90,
            describe=lambda: str(list(by_web.steps.values_list("name", "state"))),
        )
        services.publish_preview(by_web, user=vetted_user)
        for sub in (by_api, by_web):
            _archived_once(_finished(sub.pk, 90, pipeline.workers))
    finally:
        stop.set()
    assert "run_step" in worker.output()
    assert_nothing_stuck_and_nothing_twice()


@pytest.mark.parametrize("broker", ["redis", "filesystem"], indirect=True)
def test_a_worker_killed_during_a_step_loses_its_lease_and_the_sweeper_hands_the_step_on(
    pipeline, vetted_user, slow_server
):
    first = pipeline()
    tables = two_tables(slow_server.root, slow_server.url)
    tables[1].url = f"{slow_server.url}/slow/observations.csv"
    sub = services.submit(vetted_user, eml_for("edi.502.1", tables))
    wait_for(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, describe=first.output)
    fetch = Step.objects.get(submission=sub, name="fetch")
    assert fetch.state == "running" and fetch.lease_owner

    # Main process and pool: nothing acknowledged. Redis keeps the message for its visibility timeout (an
    # hour); the file-system transport has lost it. Either way only the sweeper can bring the step back.
    first.stop(signal.SIGKILL)
    second = pipeline()
    stop = threading.Event()
    _beat(pipeline.queue, stop)
    try:
        sub = _finished(sub.pk, 120, pipeline.workers)
    finally:
        stop.set()
    _archived_once(sub)
    assert Step.objects.get(submission=sub, name="fetch").attempts >= 2
    assert slow_server.httpd.slow_requests >= 2  # the fetch ran again, in the second worker
    assert "lost its worker; queued again" in second.output()
    assert_nothing_stuck_and_nothing_twice()


@pytest.fixture
def private_s3(tmp_path, settings):
    """A SeaweedFS of this test's own (it is stopped and started again), holding both tiers."""
    from tests.support.seaweed import start_seaweed, stop_seaweed

    server = start_seaweed(tmp_path / "weed")
    server.create_bucket("faults-primary")
    server.create_bucket("faults-deep")
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": server.storage_settings("faults-primary"),
        "deep": server.storage_settings("faults-deep"),
    }
    yield server
    stop_seaweed(server.proc)


S3_FAIL_FAST = {"S3_CONNECT_TIMEOUT": "1", "S3_READ_TIMEOUT": "3", "S3_MAX_ATTEMPTS": "1"}


@pytest.mark.s3
def test_storage_down_past_the_retry_budget_fails_the_submission_with_a_report(
    pipeline, private_s3, vetted_user, slow_server
):
    from tests.support.seaweed import stop_seaweed

    worker = pipeline(PIPELINE_RETRY_BUDGET_SECONDS="8", **S3_FAIL_FAST)
    tables = two_tables(slow_server.root, slow_server.url)
    tables[1].url = f"{slow_server.url}/slow/observations.csv"
    sub = services.submit(vetted_user, eml_for("edi.503.1", tables))
    wait_for(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, describe=worker.output)
    stop_seaweed(private_s3.proc)  # S3 goes away before the archive step, and stays away
    stop = threading.Event()
    _beat(pipeline.queue, stop)
    try:
        sub = _finished(sub.pk, 120, pipeline.workers)
    finally:
        stop.set()
    assert sub.state == Submission.State.FAILED
    assert "kept failing with a temporary error" in sub.error and "StorageUnavailable" in sub.error
    assert "qualityReport" in sub.report_xml  # the report of what ran before, kept
    archive = Step.objects.get(submission=sub, name="archive")
    assert archive.state == "failed" and archive.attempts >= 2  # retried, then given up on time
    assert Revision.objects.get(pk=sub.revision_id).state == Revision.State.FAILED
    assert not Resource.objects.filter(revision_id=sub.revision_id).exists()
    assert_nothing_stuck_and_nothing_twice()


@pytest.mark.s3
def test_storage_down_for_less_than_the_budget_is_waited_out_and_archived_once(
    pipeline, private_s3, vetted_user, slow_server
):
    from tests.support.seaweed import restart_seaweed, stop_seaweed

    worker = pipeline(PIPELINE_RETRY_BUDGET_SECONDS="120", **S3_FAIL_FAST)
    tables = two_tables(slow_server.root, slow_server.url)
    tables[1].url = f"{slow_server.url}/slow/observations.csv"
    sub = services.submit(vetted_user, eml_for("edi.504.1", tables))
    wait_for(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, describe=worker.output)
    stop_seaweed(private_s3.proc)
    stop = threading.Event()
    _beat(pipeline.queue, stop)
    try:
        wait_for(
            lambda: Step.objects.filter(submission=sub, name="archive", failing_since__isnull=False).exists(),
            timeout=60,
            describe=worker.output,
        )
        time.sleep(3)  # a few more failed tries
        restart_seaweed(private_s3)
        sub = _finished(sub.pk, 120, pipeline.workers)
    finally:
        stop.set()
    _archived_once(sub)
    assert Step.objects.get(submission=sub, name="archive").attempts >= 2
    assert_nothing_stuck_and_nothing_twice()


def _break_the_database() -> Callable[[], None]:
    """A real database fault for the worker; returns the function that heals it. On SQLite another
    connection holds the write lock (the worker's writes wait, then fail with "database is locked");
    on PostgreSQL every backend of the worker (``WORKER_APP_NAME``) is terminated, as a restart does to
    it — not the backends of other tests' servers that share the session, which would fail later tests."""
    if connection.vendor == "sqlite":
        lock = sqlite3.connect(
            connection.settings_dict["NAME"], timeout=30, isolation_level=None, check_same_thread=False
        )
        lock.execute("BEGIN EXCLUSIVE")

        def heal():
            lock.execute("ROLLBACK")
            lock.close()

        return heal
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP_NAME],
        )
    return lambda: None


RETRIED = "database error in _finish_step, trying again"
WORKER_APP_NAME = "quayside-faults-worker"  # libpq's PGAPPNAME: names the worker's backends


def test_a_database_error_while_finishing_a_step_is_retried(pipeline, vetted_user, slow_server):
    worker = pipeline(PIPELINE_LEASE_SECONDS="90", PIPELINE_HEARTBEAT_SECONDS="60", PGAPPNAME=WORKER_APP_NAME)
    tables = two_tables(slow_server.root, slow_server.url)
    tables[1].url = f"{slow_server.url}/slow/observations.csv"
    sub = services.submit(vetted_user, eml_for("edi.505.1", tables))
    wait_for(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, describe=worker.output)
    # The fetch is streaming and needs no database: the database breaks now, so the first thing the
    # worker does with it after the fetch, finishing the step, fails. It heals once that was seen.
    heal = _break_the_database()
    try:
        wait_for(lambda: RETRIED in worker.output(), timeout=80, describe=worker.output)
    finally:
        heal()
    stop = threading.Event()
    _beat(pipeline.queue, stop)
    try:
        sub = _finished(sub.pk, 120, pipeline.workers)
    finally:
        stop.set()
    _archived_once(sub)
    assert Step.objects.get(submission=sub, name="fetch").attempts == 1  # the step's work was kept
    assert_nothing_stuck_and_nothing_twice()
