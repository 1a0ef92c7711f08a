"""The pipeline's Celery task: one thin, idempotent task per step, primary keys in."""

from celery import shared_task

from portal.tasks import RETRY_POLICY


@shared_task(acks_late=True, **RETRY_POLICY)
def run_step(submission_id: int, name: str) -> str:
    from .services import run_step as run

    return run(submission_id, name)
