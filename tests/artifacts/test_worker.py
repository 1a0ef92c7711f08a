"""Publishing a version queues its Parquet build on commit, and a real worker builds it."""

from __future__ import annotations

import pytest

from apps.artifacts.models import Artifact, RevisionBuild
from portal.celery import app
from tests.artifacts.test_builds import publish
from tests.support.pipeline import storage_env
from tests.support.worker import start_worker, wait_until

# slow: a worker process and the pipeline on a transactional database (~40 s on the loaded CI machine)
pytestmark = [pytest.mark.worker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_published_version_is_converted_by_the_worker(tmp_path, vetted_user):
    worker = start_worker(tmp_path, extra_env=storage_env())
    previous = app.conf.task_default_queue
    app.conf.task_default_queue, app.conf.task_always_eager = worker.queue, False
    try:
        revision = publish(vetted_user, tmp_path, package_id="edi.6.1")  # the build is queued on commit
        wait_until(
            lambda: RevisionBuild.objects.filter(revision=revision, state="built").exists(),
            timeout=90,
            worker=worker,
        )
    finally:
        app.conf.task_default_queue = previous
        worker.stop()
    assert set(Artifact.objects.filter(revision=revision).values_list("path", flat=True)) == {
        "parquet/stations.parquet",
        "parquet/observations.parquet",
        "manifests/parquet/stations.parquet.json",
        "manifests/parquet/observations.parquet.json",
    }
