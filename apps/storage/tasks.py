from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from portal.tasks import RETRY_POLICY, claim, lease_free, same_queue, send

from . import scratch, services
from .models import Blob

FIXITY_LEASE = timedelta(minutes=30)


@shared_task(acks_late=True, **RETRY_POLICY)
def copy_blob_to_deep(sha256: str) -> None:
    """Copy one archived blob to deep storage (claimed with a lease, verified after the copy)."""
    services.copy_to_deep(services.get_blob(sha256))


@shared_task(bind=True, acks_late=True)
def deep_copy_sweep(self, limit: int = 500) -> int:
    """Beat job: queue the deep copy of every archived blob that has none yet and nobody is copying
    (the on-commit copy was lost, or deep storage was down longer than its retries)."""
    due = (
        services.deep_backlog()
        .filter(lease_free())
        .order_by("deep_requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    options = same_queue(self)
    return sum(send(copy_blob_to_deep, sha256, **options) for sha256 in due)


@shared_task(acks_late=True)
def fixity_sweep(limit: int = 200, older_than_days: int = 30) -> int:
    """Re-hash the blobs whose last fixity check is oldest (hourly, a few at a time). Each blob is
    claimed with a lease first, so two sweeps running at once never hash the same blob twice."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    due = Blob.objects.filter(Q(last_fixity_at__isnull=True) | Q(last_fixity_at__lt=cutoff))
    checked = 0
    for pk in due.order_by("last_fixity_at").values_list("pk", flat=True)[:limit]:
        lease = claim(due, pk, duration=FIXITY_LEASE)
        if lease is None:
            continue
        try:
            services.verify(services.get_blob(pk))
            checked += 1
        finally:
            lease.release()
    return checked


@shared_task(acks_late=True)
def record_probe(note: str) -> None:
    """Writes one audit event; used by /healthz-style checks and tests that a worker runs tasks."""
    from apps.audit.services import record_event

    record_event(service="worker", method="record_probe", text=note, auth_system="worker")


@shared_task(acks_late=True)
def sweep_scratch() -> int:
    """Remove scratch files and folders left behind by killed processes (beat, SCRATCH_SWEEP_INTERVAL)."""
    return len(scratch.sweep_scratch())
