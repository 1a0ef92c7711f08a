"""Fixtures shared by the packages and submissions tests: data served over HTTP, fetch allow-list, eager tasks."""

import pytest

from tests.support.httpserver import LocalServer


@pytest.fixture
def data_server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving files from a folder; fetching from it is allowed."""
    root = tmp_path / "served"
    root.mkdir()
    with LocalServer(root) as server:
        server.root = root
        yield server


@pytest.fixture
def allow_loopback(settings):
    settings.FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.FETCH_RETRIES = 2
    settings.FETCH_TIMEOUT = 5


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process (with django_capture_on_commit_callbacks(execute=True))."""
    from portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
