"""Building derived artifacts in the worker, the sweep that finds builds still due, and the rebuild spot check."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from portal.tasks import RETRY_POLICY, run_leased_build, send_due_builds

from . import services
from .manifests import BUILDERS, SPOT_CHECKABLE
from .models import Artifact, RevisionBuild

log = logging.getLogger(__name__)

BUILD_LEASE = timedelta(minutes=10)


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def build_artifacts(self, build_id: int) -> str:
    """Build one published version's artifacts, claimed with a lease renewed while it works (a killed
    worker's build is taken over once the lease lapses). A build already done, or of a version that is
    no longer published, does nothing."""

    def build(row: RevisionBuild) -> tuple[str, str, dict]:
        state, message = services.build_revision(row.revision_id)
        return state, message, {"built_at": timezone.now() if state != RevisionBuild.State.DUE else None}

    return run_leased_build(self, services.due_builds(), build_id, build, duration=BUILD_LEASE)


@shared_task(acks_late=True)
def sweep_builds(limit: int = 100) -> int:
    """Beat job: create the builds of published versions that have none, and queue every build still due
    or failed whose lease is free (a lost message, a broker outage, a worker killed mid-build)."""
    services.ensure_builds()
    return send_due_builds(
        build_artifacts, services.due_builds(), max_attempts=settings.ARTIFACT_BUILD_MAX_ATTEMPTS, limit=limit
    )


@shared_task(acks_late=True)
def spot_check_rebuilds(count: int | None = None) -> list[str]:
    """Beat job: rebuild a few artifacts of every kind that has a builder (Parquet alternates, navigation
    products, the catalog; those verified longest ago first) and compare the bytes; a difference is
    recorded on the artifact, in the audit log, and sent to the data managers. An artifact its kind says
    cannot be checked now (the catalog while its database rows changed since the build) is passed over."""
    from .rebuild import verify

    count = settings.ARTIFACT_SPOT_CHECKS if count is None else count
    candidates = (
        Artifact.objects.filter(kind__in=list(BUILDERS))
        .select_related("blob", "manifest__blob", "revision__package", "cruise")
        .order_by(F("verified_at").asc(nulls_first=True), "pk")
    )
    results = []
    # A few more candidates than wanted, for those passed over (at most one catalog exists).
    for artifact in candidates[: count + 1]:
        if len(results) >= count:
            break
        checkable = SPOT_CHECKABLE.get(artifact.kind)
        if checkable is not None and not checkable(artifact):
            continue
        try:
            verdict = verify(artifact)
        except Exception as exc:  # one broken artifact must not stop the others being checked
            log.exception("rebuild of %s failed", artifact)
            services.record_verdict(artifact, identical=False, summary=f"rebuild failed: {exc}")
            results.append(f"failed: {artifact.path}")
            continue
        services.record_verdict(artifact, identical=verdict.identical, summary=verdict.summary())
        results.append(verdict.summary())
    return results
