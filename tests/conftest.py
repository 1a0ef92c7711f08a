"""Shared fixtures: users in every role, API clients, isolated storage, a real S3 server, a real worker.

Test tiers: a test is marked from the fixtures it uses (``FIXTURE_MARKERS``), so the marks cannot drift from
what the test really starts; ``make test-fast`` deselects the marked tiers."""

from __future__ import annotations

import os

import pytest
from rest_framework.test import APIClient

from apps.accounts import roles
from apps.accounts.models import ApiToken, User
from tests import factories
from tests.factories import PASSWORD  # noqa: F401  (tests sign in with it)

# fixture → marker: a test that uses the fixture (directly or through another fixture) gets the marker.
FIXTURE_MARKERS = {
    "celery_worker_process": "worker",
    "seaweed": "s3",
    "s3_storage": "s3",
    "browser": "browser",
    "gunicorn": "gunicorn",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture in item.fixturenames:
            marker = FIXTURE_MARKERS.get(fixture)
            if marker and item.get_closest_marker(marker) is None:
                item.add_marker(marker)
        # Under pytest-xdist (make test) the ``exclusive`` tests all run on one process, one after another
        # (``--dist loadgroup`` keeps a group together): never two of them at once (docs/development.md).
        if item.get_closest_marker("exclusive") is not None:
            item.add_marker(pytest.mark.xdist_group("exclusive"))
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Slow tests first within each of pytest-django's blocks (database, transactional, no database;
        # the order must hold, as a transactional test's flush empties what migrations wrote), so that
        # under xdist the long ones start early and quick ones fill the end instead of one long test
        # finishing alone. Every process collects in this same order, as xdist requires.
        items.sort(key=lambda item: (_django_block(item), item.get_closest_marker("slow") is None))


def _django_block(item) -> int:
    """The block pytest-django sorts a test into: 0 database, 1 transactional database, 2 none."""
    from pytest_django.plugin import validate_django_db

    marker = item.get_closest_marker("django_db")
    transaction, reset_sequences = validate_django_db(marker)[:2] if marker else (False, False)
    if transaction or reset_sequences or {"transactional_db", "live_server"} & set(item.fixturenames):
        return 1
    return 0 if marker or "db" in item.fixturenames else 2


@pytest.fixture(autouse=True)
def _worker_tier_guard(request):
    """A test that starts a worker process by hand (``tests.support.worker.start_worker``) must carry the
    ``worker`` mark, or the fast tier would run it: start_worker refuses otherwise."""
    from tests.support import worker

    worker.MARKED_FOR_WORKERS = request.node.get_closest_marker("worker") is not None
    yield
    worker.MARKED_FOR_WORKERS = True


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped, the end of every other session still in it
    (a connection a finished thread of a test left open, a process a test started): DROP DATABASE would
    otherwise wait 5 s for them, fail, and leave the database behind. Only this process's own test
    database (``current_database()``), so never another xdist process's."""
    yield
    from django.db import connection

    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


def require_system(what: str, available: bool, install: str) -> None:
    """Skip a test whose system package is missing, saying what to install, except in CI (``CI=true``),
    where a missing package must fail the run instead of quietly shrinking it."""
    if available:
        return
    message = f"{what} is not installed: {install}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    """Every test gets its own blob, deep and scratch folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
        "blobs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "blobs")},
        },
        "deep": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "deep")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    (tmp_path / "scratch").mkdir()
    settings.SCRATCH_DIR = tmp_path / "scratch"
    settings.STORAGE_FSYNC = False
    settings.NODES_DIR = tmp_path / "nodes"  # /swarm/health.parquet


def make_user(email: str, *groups: str, name: str = "", verified: bool = True) -> User:
    return factories.UserFactory(
        email=email, name=name or email.split("@")[0].title(), verified=verified, groups=groups
    )


@pytest.fixture
def user_factory(db):
    return make_user


@pytest.fixture
def plain_user(db) -> User:
    return make_user("plain@example.org")


@pytest.fixture
def vetted_user(db) -> User:
    return make_user("vetted@example.org", roles.VETTED)


@pytest.fixture
def data_manager(db) -> User:
    return make_user("curator@example.org", roles.DATA_MANAGER)


@pytest.fixture
def node_operator(db) -> User:
    return make_user("node@example.org", roles.NODE_OPERATOR)


@pytest.fixture
def organisation(db):
    return factories.OrganisationFactory()


@pytest.fixture
def operator_user(db, organisation) -> User:
    user = make_user("operator@example.org")
    factories.OrganisationMemberFactory(organisation=organisation, user=user)
    return user


@pytest.fixture
def vessel(db, organisation):
    return factories.VesselFactory(operator=organisation)


@pytest.fixture
def cruise(db, vessel, organisation):
    return factories.CruiseFactory(vessel=vessel, operator=organisation)


@pytest.fixture
def chief_scientist(db, cruise) -> User:
    user = make_user("chief@example.org", name="Chief Scientist")
    factories.CruiseMemberFactory(cruise=cruise, user=user, role="chief_scientist")
    return user


@pytest.fixture
def shipboard_staff(db, cruise) -> User:
    user = make_user("staff@example.org", name="Ship Staff")
    factories.CruiseMemberFactory(cruise=cruise, user=user, role="shipboard_staff")
    return user


# Every role the foundation knows, for access matrices: anonymous, a plain signed-up user, the three
# site-wide groups, and the per-organisation / per-cruise roles held through the cruises app.
ROLES = [
    "anonymous",
    "plain",
    "vetted",
    "data_manager",
    "node_operator",
    "operator",
    "chief_scientist",
    "shipboard_staff",
]


@pytest.fixture
def role_user(request, db):
    """``role_user(role)`` returns a user holding that role (None for anonymous)."""

    def make(role: str) -> User | None:
        fixture = {
            "anonymous": None,
            "plain": "plain_user",
            "vetted": "vetted_user",
            "data_manager": "data_manager",
            "node_operator": "node_operator",
            "operator": "operator_user",
            "chief_scientist": "chief_scientist",
            "shipboard_staff": "shipboard_staff",
        }[role]
        return request.getfixturevalue(fixture) if fixture else None

    return make


def api_client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, key = ApiToken.issue(user, "test")
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api_client_factory(db):
    return api_client_for


# --- real S3 (SeaweedFS) ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    from tests.support.seaweed import start_seaweed, stop_seaweed

    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    stop_seaweed(server.proc)


@pytest.fixture
def s3_storage(settings, seaweed, request):
    """Point the primary and deep tiers at fresh buckets on the real S3 server."""
    import uuid

    primary, deep = f"qs-{uuid.uuid4().hex[:12]}", f"qs-deep-{uuid.uuid4().hex[:8]}"
    seaweed.create_bucket(primary)
    seaweed.create_bucket(deep)
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": seaweed.storage_settings(primary),
        "deep": seaweed.storage_settings(deep),
    }
    return seaweed


# --- a real Celery worker -----------------------------------------------------------------------


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real ``celery worker`` process on its own queue; tasks sent in the test go to it."""
    from portal.celery import app
    from tests.support.worker import start_worker

    worker = start_worker(tmp_path)
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = worker.queue
    app.conf.task_always_eager = False
    yield worker
    app.conf.task_default_queue = previous
    worker.stop()
