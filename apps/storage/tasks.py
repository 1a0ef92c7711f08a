from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from portal.tasks import TEMPORARY_ERRORS

from . import scratch, services
from .models import Blob


@shared_task(acks_late=True, autoretry_for=TEMPORARY_ERRORS, retry_backoff=True, max_retries=5)
def copy_blob_to_deep(sha256: str) -> None:
    services.copy_to_deep(services.get_blob(sha256))


@shared_task(acks_late=True)
def fixity_sweep(limit: int = 200, older_than_days: int = 30) -> int:
    """Re-hash the blobs whose last fixity check is oldest (hourly, a few at a time)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    due = Blob.objects.filter(Q(last_fixity_at__isnull=True) | Q(last_fixity_at__lt=cutoff)).order_by(
        "last_fixity_at"
    )
    checked = 0
    for blob in due[:limit]:
        services.verify(blob)
        checked += 1
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
