"""Building derived artifacts in the worker, the sweep that finds builds still due, and the rebuild spot check."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from portal.tasks import RETRY_POLICY, claim, execution_owner, send

from . import services
from .manifests import BUILDERS
from .models import Artifact, RevisionBuild

log = logging.getLogger(__name__)

BUILD_LEASE = timedelta(minutes=10)


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def build_artifacts(self, build_id: int) -> str:
    """Build one published version's artifacts, claimed with a lease renewed while it works (a killed
    worker's build is taken over once the lease lapses). A build already done, or of a version that is
    no longer published, does nothing."""
    lease = claim(
        services.due_builds(),
        build_id,
        duration=BUILD_LEASE,
        owner=execution_owner(self.request.id or "eager"),
        attempts=F("attempts") + 1,
    )
    if lease is None:
        return "taken or done"
    try:
        with lease.heartbeat(interval=BUILD_LEASE.total_seconds() / 3):
            build = RevisionBuild.objects.get(pk=build_id)
            state, message = services.build_revision(build.revision_id)
    except Exception as exc:
        lease.release(state=RevisionBuild.State.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    lease.release(
        state=state, message=message, built_at=timezone.now() if state != RevisionBuild.State.DUE else None
    )
    return message


@shared_task(acks_late=True)
def sweep_builds(limit: int = 100) -> int:
    """Beat job: create the builds of published versions that have none, and queue every build still due
    or failed whose lease is free (a lost message, a broker outage, a worker killed mid-build)."""
    services.ensure_builds()
    now = timezone.now()
    due = (
        services.due_builds()
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(attempts__lt=settings.ARTIFACT_BUILD_MAX_ATTEMPTS)
        .order_by("requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send(build_artifacts, pk) for pk in due)


@shared_task(acks_late=True)
def spot_check_rebuilds(count: int | None = None) -> list[str]:
    """Beat job: rebuild a few artifacts (those verified longest ago first) and compare the bytes; a
    difference is recorded on the artifact, in the audit log, and sent to the data managers."""
    from .rebuild import verify

    count = settings.ARTIFACT_SPOT_CHECKS if count is None else count
    picked = (
        Artifact.objects.filter(kind__in=list(BUILDERS), revision__isnull=False)
        .select_related("blob", "manifest__blob", "revision__package")
        .order_by(F("verified_at").asc(nulls_first=True), "pk")[:count]
    )
    results = []
    for artifact in picked:
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
