"""Fault tests for the worker itself: a real Celery worker busy on a long task while its Redis goes away.

Issue 17: an 8 s Redis blip killed a busy worker for good ("Unrecoverable error: AttributeError ...
'hostname'"), while an idle one reconnected. These tests stop a private Redis under a busy worker and
start it again; the worker must still be alive afterwards and finish what it was doing.
"""

from __future__ import annotations

import time

import pytest

from apps.submissions import services
from apps.submissions.models import Step, Submission
from tests.packages.helpers import eml_for, two_tables
from tests.support.httpserver import trickle_server
from tests.support.redis import app_broker, private_redis
from tests.support.worker import start_worker, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def slow_server(tmp_path):
    """Serves /slow/<file> in 20 pieces a second apart: a fetch that keeps a worker busy for 20 s."""
    with trickle_server(tmp_path / "served", pause=1.0) as server:
        yield server


@pytest.fixture(params=["without-persistence", "append-only-file"])
def redis_server(request, tmp_path):
    persist = request.param == "append-only-file"
    with private_redis(tmp_path / "redis", persist=persist) as server, app_broker(server.url):
        yield server


def test_a_busy_worker_survives_a_redis_restart_and_finishes_its_task(
    redis_server, slow_server, vetted_user, tmp_path
):
    worker = start_worker(
        tmp_path,
        concurrency=2,
        extra_env={
            "CELERY_BROKER_URL": redis_server.url,
            "FETCH_ALLOWED_HOSTS": "127.0.0.1",
            "FETCH_TIMEOUT": "10",
        },
    )
    from portal.celery import app

    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    try:
        # One long fetch on a worker of two processes: busy, and still waiting on Redis for more work
        # (a BRPOP in flight). That is the state in which the blip killed it.
        tables = two_tables(slow_server.root, slow_server.url)
        tables[1].url = f"{slow_server.url}/slow/observations.csv"
        busy = services.submit(vetted_user, eml_for("edi.717.1", tables))
        wait_until(lambda: slow_server.httpd.bytes_sent > 0, timeout=60, worker=worker)
        assert Step.objects.get(submission=busy, name=Step.Name.FETCH).state == Step.State.RUNNING

        redis_server.stop()  # the blip of the issue: 8 s without Redis while the fetch goes on
        time.sleep(8)
        redis_server.start()

        # New work after the blip proves the consumer reconnected, not only that the pool finished.
        later = services.submit(
            vetted_user,
            eml_for("edi.718.1", two_tables(slow_server.root / "later", f"{slow_server.url}/later")),
        )
        for sub in (busy, later):
            # A dead worker finishes nothing: stop waiting as soon as it is gone.
            wait_until(
                lambda sub=sub: Submission.objects.get(pk=sub.pk).finished or worker.proc.poll() is not None,
                timeout=180,
                worker=worker,
            )
            assert worker.proc.poll() is None, worker.output()[-3000:]
            sub.refresh_from_db()
            assert sub.state == "succeeded", f"{sub.error}\n{worker.output()[-3000:]}"
        assert "Unrecoverable error" not in worker.output()
    finally:
        app.conf.task_default_queue = previous
        worker.stop()
