"""DOI registration tasks: thin, idempotent, primary keys in (see portal.tasks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def register_doi(doi_id: int) -> str:
    """Bring one DOI in line with DataCite. Failures are recorded and rescheduled by ``sync_doi`` itself."""
    from .services import sync_doi

    return sync_doi(doi_id)


@shared_task(acks_late=True)
def retry_due_dois(limit: int = 500) -> int:
    """Periodic (settings.CELERY_BEAT_SCHEDULE): queue every DOI whose next try is due."""
    from .services import due_dois

    ids = list(due_dois().values_list("pk", flat=True)[:limit])
    for pk in ids:
        register_doi.delay(pk)
    return len(ids)
