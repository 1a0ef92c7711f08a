"""The real path: a Celery worker process registers DOIs after commit; the periodic job recovers an outage."""

import datetime

import pytest
from django.utils import timezone

from apps.publishing.models import Doi
from apps.publishing.tasks import retry_due_dois
from tests.support.worker import start_worker, wait_until


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_registers_after_commit_and_the_retry_job_recovers_an_outage(
    make_revision, datacite, tmp_path, settings
):
    from portal.celery import app

    worker = start_worker(
        tmp_path,
        extra_env={
            "DATACITE_API_URL": datacite.url,
            "DATACITE_REPOSITORY_ID": datacite.repository_id,
            "DATACITE_PASSWORD": datacite.password,
            "DOI_PREFIX": settings.DOI_PREFIX,
            "SITE_BASE_URL": settings.SITE_BASE_URL,
        },
    )
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    app.conf.task_always_eager = False
    try:
        datacite.outage = True
        revision = (
            make_revision()
        )  # autocommit: the registration tasks go out as on_archived's transaction ends
        assert revision.state == "published"
        dois = Doi.objects.filter(package=revision.package)
        wait_until(
            lambda: all(d.attempts == 1 for d in dois.all()) and dois.count() == 2, timeout=60, worker=worker
        )
        assert all(d.state == Doi.State.PENDING and "500" in d.last_error for d in dois.all())

        datacite.outage = False
        dois.update(next_try_at=timezone.now() - datetime.timedelta(seconds=1))
        retry_due_dois.delay()
        wait_until(lambda: all(d.state == Doi.State.FINDABLE for d in dois.all()), timeout=60, worker=worker)
        assert datacite.dois[revision.doi]["state"] == "findable"
        assert all(d.attempt_log.filter(ok=True).count() == 1 for d in dois.all())
    finally:
        app.conf.task_default_queue = previous
        worker.stop()
