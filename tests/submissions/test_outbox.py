"""The pipeline keeps moving: leases on steps, the outbox and its dispatcher, the sweeper, retries
budgeted in time, and a data manager's "retry from the failed step"."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.packages.models import Resource, Revision
from apps.submissions import services
from apps.submissions.models import Step, Submission
from tests.packages.helpers import eml_for, two_tables
from tests.support.ports import free_port
from tests.support.seaweed import s3_storage_settings

pytestmark = pytest.mark.django_db


def _through(sub, last: str) -> None:
    for name in Step.ORDER[: Step.ORDER.index(last) + 1]:
        assert services.run_step(sub.pk, name) == "done", Submission.objects.get(pk=sub.pk).error


def _drain() -> int:
    """Run the dispatcher until nothing is due (what beat does every 15 s); how many steps it sent.
    (This test's transaction never commits, so the on-commit fast path never runs.)"""
    sent = 0
    while n := services.dispatch_due():
        sent += n
    return sent


@pytest.fixture
def dead_storage(settings):
    """Point the primary tier at an S3 endpoint where nothing listens: every write is refused."""

    def kill():
        settings.STORAGES = {
            **settings.STORAGES,
            "blobs": s3_storage_settings(f"http://127.0.0.1:{free_port()}", "nowhere", attempts=1),
        }

    return kill


def test_a_step_leased_by_a_live_worker_is_not_run_again_by_a_redelivered_task(
    vetted_user, data_server, allow_loopback
):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(vetted_user, eml_for("edi.300.1", tables), start=False)
    step = sub.steps.get(name="validate")
    from portal.tasks import claim

    lease = claim(Step.objects.all(), step.pk, duration=datetime.timedelta(minutes=5), state="running")
    assert lease is not None
    assert services.run_step(sub.pk, "validate") == "skipped"  # the first worker still holds it
    assert Step.objects.get(pk=step.pk).attempts == 0

    Step.objects.filter(pk=step.pk).update(lease_until=timezone.now() - datetime.timedelta(seconds=1))
    assert services.run_step(sub.pk, "validate") == "done"  # a lapsed lease can be taken over


def test_a_redelivered_message_takes_over_only_from_an_execution_that_died_here(vetted_user):
    import socket
    import subprocess
    import sys

    sub = services.submit(vetted_user, b"<not-eml/>", start=False)
    step = sub.steps.get(name="validate")
    host = socket.gethostname()[:40]
    until = timezone.now() + datetime.timedelta(minutes=5)
    # A live execution of the same message (Redis re-delivers a long step after its visibility timeout):
    # the re-delivery must not run it a second time at once.
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        Step.objects.filter(pk=step.pk).update(
            state="running", lease_owner=f"t1:{host}:{alive.pid}", lease_until=until
        )
        assert services.run_step(sub.pk, "validate", owner=f"t1:{host}:1") == "skipped"
    finally:
        alive.kill()
        alive.wait()
    # The same execution, now dead on this host (a killed pool child): taken over at once.
    assert services.run_step(sub.pk, "validate", owner=f"t1:{host}:1") == "failed"  # ran (bad EML)
    # Another message's lease is never taken over, dead or not.
    other = services.submit(vetted_user, b"<not-eml/>", start=False).steps.get(name="validate")
    Step.objects.filter(pk=other.pk).update(
        state="running", lease_owner=f"t9:{host}:{alive.pid}", lease_until=until
    )
    assert services.run_step(other.submission_id, "validate", owner=f"t1:{host}:1") == "skipped"


def test_the_same_task_may_take_its_own_lease_back(vetted_user):
    sub = services.submit(vetted_user, b"<not-eml/>", start=False)
    step = sub.steps.get(name="validate")
    from portal.tasks import claim

    assert claim(Step.objects.all(), step.pk, duration=datetime.timedelta(minutes=5), owner="task-1")
    assert claim(Step.objects.all(), step.pk, duration=datetime.timedelta(minutes=5), owner="task-2") is None
    assert services.run_step(sub.pk, "validate", owner="task-1") == "failed"


def test_a_lease_renews_and_releases_only_for_its_owner(vetted_user):
    from portal.tasks import claim

    sub = services.submit(vetted_user, b"<x/>", start=False)
    pk = sub.steps.get(name="validate").pk
    lease = claim(Step.objects.all(), pk, duration=datetime.timedelta(seconds=30))
    before = lease.until
    assert lease.renew() and lease.until >= before
    Step.objects.filter(pk=pk).update(lease_owner="someone-else")
    assert not lease.renew() and lease.lost
    assert not lease.release()
    assert Step.objects.get(pk=pk).lease_owner == "someone-else"


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_long_step_leased(vetted_user):
    import time

    from portal.tasks import claim

    sub = services.submit(vetted_user, b"<x/>", start=False)
    pk = sub.steps.get(name="validate").pk
    lease = claim(Step.objects.all(), pk, duration=datetime.timedelta(seconds=1))
    with lease.heartbeat(0.2):
        time.sleep(1.5)  # longer than the lease: only the heartbeat keeps it
        assert Step.objects.get(pk=pk).lease_until > timezone.now()
    lease.release()
    assert Step.objects.get(pk=pk).lease_until is None


def test_submitting_makes_the_first_step_due_in_the_same_transaction(vetted_user):
    sub = services.submit(vetted_user, b"<x/>")  # on_commit callbacks are not run in this test
    validate = sub.steps.get(name="validate")
    assert validate.due_at is not None and validate.dispatched_at is None
    assert sub.steps.filter(due_at__isnull=True).count() == 5
    assert services.queue_lag()["due"] == 1


def test_the_dispatcher_sends_what_the_commit_did_not(vetted_user, data_server, allow_loopback, eager_tasks):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(vetted_user, eml_for("edi.301.1", tables))  # the fast path never ran
    assert _drain() == 6  # eager: each step runs when sent and makes the next one due
    sub.refresh_from_db()
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    assert services.dispatch_due() == 0
    assert services.queue_lag() == {"due": 0, "oldest_due_seconds": 0.0, "behind": False}


def test_a_step_sent_but_never_claimed_is_sent_again_after_the_resend_interval(vetted_user, settings):
    sub = services.submit(vetted_user, b"<x/>")
    Step.objects.filter(submission=sub, name="validate").update(dispatched_at=timezone.now())
    assert services.dispatch_due() == 0  # sent a moment ago: it is waiting in the queue
    Step.objects.filter(submission=sub, name="validate").update(
        dispatched_at=timezone.now() - datetime.timedelta(seconds=settings.PIPELINE_RESEND_SECONDS + 1)
    )
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        assert services.dispatch_due() == 1
    finally:
        app.conf.task_always_eager = False
    sub.refresh_from_db()
    assert sub.state == Submission.State.FAILED  # not EML: it ran, and failed with a report


def test_the_sweeper_requeues_a_step_whose_worker_died(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(vetted_user, eml_for("edi.302.1", tables), start=False)
    _through(sub, "validate")
    # A worker claimed fetch and died: the step is running, its lease in the past.
    Step.objects.filter(submission=sub, name="fetch").update(
        state="running", lease_owner="dead", lease_until=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert services.sweep() == {"requeued": 1, "failed": 0}
    fetch = Step.objects.get(submission=sub, name="fetch")
    assert fetch.state == "pending" and fetch.due_at is not None and fetch.lease_owner == ""
    assert services.sweep() == {"requeued": 0, "failed": 0}


def test_the_sweeper_leaves_a_live_lease_alone(vetted_user):
    sub = services.submit(vetted_user, b"<x/>", start=False)
    Step.objects.filter(submission=sub, name="validate").update(
        state="running", lease_owner="alive", lease_until=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert services.sweep()["requeued"] == 0


def test_a_submission_past_its_deadline_fails_with_a_report(vetted_user, settings):
    sub = services.submit(vetted_user, b"<x/>", start=False)
    Submission.objects.filter(pk=sub.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=settings.PIPELINE_DEADLINE_SECONDS + 60)
    )
    assert services.sweep()["failed"] == 1
    sub.refresh_from_db()
    assert sub.state == "failed" and "did not finish within 24 hours" in sub.error
    assert sub.report_xml and sub.steps.get(name="validate").state == "failed"


def test_a_storage_outage_is_retried_with_backoff_then_fails_with_a_report_after_the_budget(
    vetted_user, data_server, allow_loopback, dead_storage, settings
):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(vetted_user, eml_for("edi.303.1", tables), start=False)
    _through(sub, "check")
    dead_storage()

    assert services.run_step(sub.pk, "archive") == "retry"
    archive = Step.objects.get(submission=sub, name="archive")
    assert archive.state == "pending" and archive.failing_since is not None
    assert archive.due_at > timezone.now() and "temporary error" in archive.message
    assert Submission.objects.get(pk=sub.pk).state == "running"

    # Still failing 31 minutes after the first error: the budget is spent, not a count of attempts.
    Step.objects.filter(pk=archive.pk).update(
        failing_since=timezone.now() - datetime.timedelta(seconds=settings.PIPELINE_RETRY_BUDGET_SECONDS + 60)
    )
    assert services.run_step(sub.pk, "archive") == "failed"
    sub.refresh_from_db()
    assert sub.state == "failed" and "kept failing with a temporary error for 31 minutes" in sub.error
    assert "StorageUnavailable" in sub.error and sub.report_xml
    assert sub.revision.state == Revision.State.FAILED
    assert not Resource.objects.filter(revision=sub.revision).exists()


def test_backoff_doubles_with_the_time_failing_and_is_capped(vetted_user, dead_storage, settings):
    sub = services.submit(vetted_user, b"<x/>", start=False)
    step = sub.steps.get(name="validate")
    Step.objects.filter(pk=step.pk).update(state="running", lease_owner="me")
    step.refresh_from_db()
    now = timezone.now()
    Step.objects.filter(pk=step.pk).update(failing_since=now - datetime.timedelta(seconds=40))
    services._retry_later(sub, step, ConnectionError("down"))
    delay = (Step.objects.get(pk=step.pk).due_at - now).total_seconds()
    assert 39 <= delay <= 42
    Step.objects.filter(pk=step.pk).update(
        state="running", lease_owner="me", failing_since=now - datetime.timedelta(seconds=1000)
    )
    services._retry_later(sub, step, ConnectionError("down"))
    delay = (Step.objects.get(pk=step.pk).due_at - now).total_seconds()
    assert delay <= settings.PIPELINE_RETRY_BACKOFF_MAX_SECONDS + 2


def _failed_at_archive(user, data_server, dead_storage, package_id="edi.304.1"):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(user, eml_for(package_id, tables), start=False)
    _through(sub, "check")
    storages_before = dict(settings.STORAGES)
    dead_storage()
    Step.objects.filter(submission=sub, name="archive").update(
        failing_since=timezone.now() - datetime.timedelta(hours=1)
    )
    assert services.run_step(sub.pk, "archive") == "failed"
    return sub, storages_before


def test_a_data_manager_retries_a_submission_from_its_failed_step(
    vetted_user, data_manager, data_server, allow_loopback, dead_storage, settings, eager_tasks, client
):
    sub, storages = _failed_at_archive(vetted_user, data_server, dead_storage)
    settings.STORAGES = storages  # the outage is over

    client.force_login(data_manager)
    assert b"Retry from the failed step" in client.get(f"/submissions/{sub.transaction}/").content
    response = client.post(f"/submissions/{sub.transaction}/retry/")
    assert response.status_code == 302
    assert _drain() == 3  # archive, index, register: each made due by the one before
    sub.refresh_from_db()
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    assert [s.state for s in sub.steps.all()] == ["done"] * 6
    assert sub.revision.state in (Revision.State.PUBLISHED, Revision.State.HELD)
    assert Resource.objects.filter(revision=sub.revision).count() == 5
    assert AuditEvent.objects.filter(service_method="retrySubmission", user=data_manager).count() == 1


def test_retry_is_refused_once_a_corrected_resubmission_took_the_revision_number(
    vetted_user, data_manager, data_server, allow_loopback, dead_storage, settings, api_client_factory
):
    sub, storages = _failed_at_archive(vetted_user, data_server, dead_storage, "edi.305.1")
    settings.STORAGES = storages
    tables = two_tables(data_server.root / "again", f"{data_server.url}/again")
    again = services.run_all(services.submit(vetted_user, eml_for("edi.305.1", tables), start=False))
    assert again.state == "succeeded", again.error  # the failed revision freed its number

    response = api_client_factory(data_manager).post(f"/api/submissions/{sub.transaction}/retry/")
    assert response.status_code == 400
    assert "submit the package again" in response.json()["detail"]


def test_only_a_data_manager_may_retry_a_submission(
    vetted_user, data_server, allow_loopback, dead_storage, settings, api_client_factory, client
):
    sub, storages = _failed_at_archive(vetted_user, data_server, dead_storage, "edi.306.1")
    settings.STORAGES = storages
    assert (
        api_client_factory(vetted_user).post(f"/api/submissions/{sub.transaction}/retry/").status_code == 403
    )
    assert api_client_factory(None).post(f"/api/submissions/{sub.transaction}/retry/").status_code == 401
    client.force_login(vetted_user)
    assert client.post(f"/submissions/{sub.transaction}/retry/").status_code == 403
    assert b"Retry from the failed step" not in client.get(f"/submissions/{sub.transaction}/").content
    assert Submission.objects.get(pk=sub.pk).state == "failed"


def test_the_api_retry_answers_202_and_the_step_runs_again(
    vetted_user, data_manager, data_server, allow_loopback, dead_storage, settings, api_client_factory
):
    sub, storages = _failed_at_archive(vetted_user, data_server, dead_storage, "edi.307.1")
    settings.STORAGES = storages
    response = api_client_factory(data_manager).post(f"/api/submissions/{sub.transaction}/retry/")
    assert response.status_code == 202
    assert response.json()["state"] == "running"
    archive = Step.objects.get(submission=sub, name="archive")
    assert archive.state == "pending" and archive.due_at is not None
    assert Revision.objects.get(pk=sub.revision_id).state == Revision.State.SUBMITTED


def test_the_pipeline_page_is_for_data_managers(client, plain_user, data_manager):
    assert client.get("/submissions/pipeline/").status_code == 302  # to the sign-in page
    client.force_login(plain_user)
    assert client.get("/submissions/pipeline/").status_code == 403
    client.force_login(data_manager)
    page = client.get("/submissions/pipeline/")
    assert page.status_code == 200 and b"without a deep-storage copy" in page.content


def test_healthz_says_when_the_queue_is_behind(client, vetted_user, settings):
    assert "queue" in client.get("/healthz").json()
    services.submit(vetted_user, b"<x/>")
    Step.objects.filter(name="validate").update(due_at=timezone.now() - datetime.timedelta(minutes=10))
    body = client.get("/healthz").json()
    assert body["queue"]["behind"] and body["queue"]["due"] == 1
    assert body["status"] == "behind" and "queue is behind" in body["message"]
