"""Catalog tasks: thin, primary keys in (see portal.tasks)."""

from __future__ import annotations

from celery import shared_task

from portal.tasks import same_queue


@shared_task(acks_late=True)
def refresh_catalog(force: bool = False) -> str:
    """Rebuild stac.parquet if a change is waiting (queued after changes, and by beat as a safety net)."""
    from .services import refresh

    return refresh(force=force)


@shared_task(acks_late=True)
def verify_mirror(mirror_id: int, full: bool = False) -> str:
    from .mirrors import verify

    return verify(mirror_id, full=full)


@shared_task(bind=True, acks_late=True)
def verify_mirrors(self, full: bool = False, limit: int = 200) -> int:
    """Periodic: check the mirrors checked longest ago (samples hourly, whole files daily by default)."""
    from .mirrors import due_mirrors

    ids = list(due_mirrors(full=full).values_list("pk", flat=True)[:limit])
    for pk in ids:
        verify_mirror.apply_async((pk,), {"full": full}, **same_queue(self))
    return len(ids)


@shared_task(acks_late=True)
def run_deposit(deposit_id: int) -> str:
    from .deposit import run

    return run(deposit_id)


@shared_task(bind=True, acks_late=True)
def retry_due_deposits(self, limit: int = 50) -> int:
    from .deposit import due_deposits

    ids = list(due_deposits().values_list("pk", flat=True)[:limit])
    for pk in ids:
        run_deposit.apply_async((pk,), **same_queue(self))
    return len(ids)
