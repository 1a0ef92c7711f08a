"""DOI registration tasks: thin, idempotent, primary keys in (see portal.tasks)."""

from __future__ import annotations

from celery import shared_task

from portal.tasks import same_queue


@shared_task(acks_late=True)
def register_doi(doi_id: int) -> str:
    """Bring one DOI in line with DataCite. Failures are recorded and rescheduled by ``sync_doi`` itself."""
    from .services import sync_doi

    return sync_doi(doi_id)


@shared_task(bind=True, acks_late=True)
def retry_due_dois(self, limit: int = 500) -> int:
    """Periodic (settings.CELERY_BEAT_SCHEDULE): queue every DOI whose next try is due.

    The follow-up tasks go to the queue this job came from, so a worker pool dedicated to a queue
    (and the test worker) handles its own registrations."""
    from .services import due_dois

    ids = list(due_dois().values_list("pk", flat=True)[:limit])
    for pk in ids:
        register_doi.apply_async((pk,), **same_queue(self))
    return len(ids)


@shared_task(acks_late=True)
def remove_tainted_data(revision_id: int) -> tuple[int, int]:
    """Delete a tainted version's bytes from every tier (``apps.publishing.taint``); idempotent, resumable:
    each blob is claimed with a lease and marked removed as it goes."""
    from .taint import remove_tainted_data as remove

    return remove(revision_id)


@shared_task(acks_late=True)
def tainted_data_sweep(limit: int = 50) -> int:
    """Beat job: queue the removal again for every tainted version whose bytes are not all removed (the
    on-commit task was lost, or storage was down longer than its retries)."""
    from apps.packages.models import Revision

    from .taint import pending

    queued = 0
    for revision in Revision.objects.filter(state=Revision.State.TAINTED).order_by("-pk")[:limit]:
        if pending(revision):
            remove_tainted_data.delay(revision.pk)
            queued += 1
    return queued
