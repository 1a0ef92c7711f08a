"""With no worker running, /healthz, the pipeline page and a waiting submission's status page say "no worker
has been seen for N minutes" instead of "ok" and a bare "pending"; a real worker records a heartbeat that
keeps them quiet."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.submissions import services
from apps.submissions.heartbeat import beat
from apps.submissions.models import WorkerHeartbeat
from tests.support.worker import wait_until

pytestmark = pytest.mark.django_db


def _waiting_submission(user):
    return services.submit(user, b"<x/>", start=False)


def test_healthz_says_no_worker_has_been_seen_yet(client):
    body = client.get("/healthz").json()
    assert body["status"] == "no_worker"
    assert body["queue"]["worker"]["stale"] and body["queue"]["worker"]["last_seen"] is None
    assert body["message"].startswith("no worker has been seen yet")


def test_a_stale_heartbeat_is_reported_in_minutes_on_healthz_and_the_status_page(client, vetted_user):
    beat("quayside@ship", now=timezone.now() - datetime.timedelta(minutes=7, seconds=10))
    response = client.get("/healthz")
    assert response.status_code == 200  # the web still serves; operators look at the message
    body = response.json()
    assert body["status"] == "no_worker"
    assert "no worker has been seen for 7 minutes" in body["message"]

    sub = _waiting_submission(vetted_user)
    client.force_login(vetted_user)
    page = client.get(reverse("submissions:status", args=[sub.transaction])).content.decode()
    assert 'id="no-worker"' in page and "no worker has been seen for 7 minutes" in page


def test_a_fresh_heartbeat_keeps_healthz_ok_and_the_status_page_quiet(client, vetted_user):
    beat("quayside@ship", now=timezone.now() - datetime.timedelta(seconds=20))
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and not body["queue"]["worker"]["stale"]
    assert body["queue"]["worker"]["seen_seconds_ago"] >= 20
    sub = _waiting_submission(vetted_user)
    client.force_login(vetted_user)
    page = client.get(reverse("submissions:status", args=[sub.transaction])).content.decode()
    assert 'id="no-worker"' not in page


def test_no_worker_is_needed_when_tasks_run_in_the_web_process(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert client.get("/healthz").json()["status"] == "ok"


def test_the_pipeline_page_shows_the_worker(client, data_manager):
    beat("quayside@ship", now=timezone.now() - datetime.timedelta(minutes=3))
    client.force_login(data_manager)
    assert "no worker has been seen for 3 minutes" in client.get("/submissions/pipeline/").content.decode()


def test_a_gone_workers_row_is_forgotten_after_a_week():
    beat("old@ship", now=timezone.now() - datetime.timedelta(days=8))
    beat("new@ship")
    assert list(WorkerHeartbeat.objects.values_list("hostname", flat=True)) == ["new@ship"]


@pytest.mark.slow
def test_a_running_worker_records_a_fresh_heartbeat(client, celery_worker_process):
    row = wait_until(
        lambda: WorkerHeartbeat.objects.filter(hostname__startswith=celery_worker_process.queue).first(),
        timeout=30,
        worker=celery_worker_process,
    )
    assert (timezone.now() - row.seen_at).total_seconds() < 30
    body = client.get("/healthz").json()
    assert not body["queue"]["worker"]["stale"] and body["status"] == "ok", body
