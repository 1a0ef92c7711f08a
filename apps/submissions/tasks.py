"""The pipeline's Celery task: one thin, idempotent task per step, primary keys in.

Each step queues its successor on the queue it was delivered from, so a pipeline started on a
dedicated queue (a test worker, a separate ingest worker) stays there.
"""

from celery import shared_task

from portal.tasks import RETRY_POLICY


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def run_step(self, submission_id: int, name: str) -> str:
    from . import services

    queue = (self.request.delivery_info or {}).get("routing_key") or None
    token = services.CURRENT_QUEUE.set(queue)
    try:
        return services.run_step(submission_id, name)
    finally:
        services.CURRENT_QUEUE.reset(token)
