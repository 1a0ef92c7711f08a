"""Helpers for tests that run the pipeline in real processes: the environment that gives a worker the
test's own storage, a private Redis on a spare port, and the end-of-test invariants of issue 17."""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models import Count

from .redis import RedisServer


def storage_env() -> dict[str, str]:
    """Environment variables that point a worker process at the tiers and scratch folder this test's
    settings use (local folders or S3 buckets), so the test and the worker see the same objects."""
    env = {"SCRATCH_DIR": str(settings.SCRATCH_DIR), "STORAGE_FSYNC": "0"}
    for alias, prefix, root in (("blobs", "", "BLOB_ROOT"), ("deep", "DEEP_", "DEEP_BLOB_ROOT")):
        conf = settings.STORAGES[alias]
        options = conf.get("OPTIONS", {})
        if "S3" in conf["BACKEND"]:
            env[f"{prefix}STORAGE_BACKEND" if prefix else "STORAGE_BACKEND"] = "s3"
            env[f"{prefix}S3_ENDPOINT_URL"] = options["endpoint_url"]
            env[f"{prefix}S3_BUCKET"] = options["bucket_name"]
            env[f"{prefix}S3_ACCESS_KEY"] = options["access_key"]
            env[f"{prefix}S3_SECRET_KEY"] = options["secret_key"]
        else:
            env[root] = str(options["location"])
    return env


# A private Redis on a spare port, killed and started again by the test (one helper for every fault test).
PrivateRedis = RedisServer


BROKER_KEYS = (
    "broker_url",
    "broker_read_url",
    "broker_write_url",
    "broker_transport_options",
    "broker_transport",
)


def use_broker(url: str, transport_options: dict | None = None) -> tuple:
    """Point this process's Celery app at ``url`` (dropping pooled connections); returns what to give
    ``restore_broker`` afterwards."""
    from portal.celery import app

    previous = tuple(app.conf.get(key) for key in BROKER_KEYS)
    _drop_connections(app)
    # broker_url alone would lose to a CELERY_BROKER_URL environment variable (CI sets one); the
    # read and write URLs are looked up before it.
    app.conf.update(
        broker_url=url,
        broker_read_url=url,
        broker_write_url=url,
        broker_transport_options=transport_options or {"visibility_timeout": 3600},
        # The settings name portal.broker's Redis transport when the suite runs on Redis (CI); it would
        # win over a filesystem:// URL here, so it follows the URL as the settings would choose it.
        broker_transport="portal.broker:Transport"
        if url.startswith(("redis://", "rediss://"))
        else "portal.broker:FilesystemTransport",
    )
    return previous


def restore_broker(previous: tuple) -> None:
    from portal.celery import app

    _drop_connections(app)
    app.conf.update(dict(zip(BROKER_KEYS, previous, strict=True)))


def _drop_connections(app) -> None:
    # Celery caches the connection pool and the producer pool built on it, and kombu keeps both in
    # global registries per URL (app.close() would also deregister the app): clear them all so the
    # next send connects to the new URL, and a later return to an old URL gets fresh pools.
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(predicate, timeout: float, interval: float = 0.3, describe=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"not within {timeout}s: {describe()}")


def assert_nothing_stuck_and_nothing_twice() -> None:
    """Issue 17's end-of-test invariants: every submission finished; no archive row written twice."""
    from apps.audit.models import AuditEvent
    from apps.packages.models import Entity, Resource
    from apps.submissions.models import Submission

    stuck = list(
        Submission.objects.exclude(
            state__in=(Submission.State.SUCCEEDED, Submission.State.FAILED)
        ).values_list("package_id_text", "state")
    )
    assert not stuck, f"submissions stuck in a non-final state: {stuck}"
    dup_resources = Resource.objects.values("resource_id").annotate(n=Count("pk")).filter(n__gt=1)
    assert not dup_resources.exists(), f"resources archived twice: {list(dup_resources)}"
    dup_entities = Entity.objects.values("revision_id", "entity_id").annotate(n=Count("pk")).filter(n__gt=1)
    assert not dup_entities.exists(), f"entities archived twice: {list(dup_entities)}"
    archives = (
        AuditEvent.objects.filter(service_method="archive")
        .values("resource_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not archives.exists(), f"packages archived twice: {list(archives)}"
