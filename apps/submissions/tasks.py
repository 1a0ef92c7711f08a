"""The pipeline's Celery tasks: one thin, idempotent task per step (primary keys in), and the two beat
jobs that keep the pipeline moving whatever breaks: the outbox dispatcher and the sweeper.

Each step queues its successor on the queue it was delivered from, so a pipeline started on a
dedicated queue (a test worker, a separate ingest worker) stays there; the beat jobs likewise send to
the queue they came from. Retries are not Celery's: a temporary error makes the step due again later
(services.run_step), within a retry budget measured in time.
"""

from celery import shared_task

from portal.tasks import execution_owner, queue_of

from . import services


@shared_task(bind=True, acks_late=True)
def run_step(self, submission_id: int, name: str) -> str:
    token = services.CURRENT_QUEUE.set(queue_of(self))
    try:
        # The lease is this execution's (task id, host, pid): a re-delivery of the same message never
        # takes a live execution's lease (Redis re-delivers a long step after CELERY_VISIBILITY_TIMEOUT
        # even while it still runs); it takes over at once only from a pool child that died on this
        # host (services.run_step), else the sweeper re-queues the step when its lease lapses.
        return services.run_step(submission_id, name, owner=execution_owner(self.request.id))
    finally:
        services.CURRENT_QUEUE.reset(token)


@shared_task(bind=True, acks_late=True)
def dispatch_due_steps(self) -> int:
    """Beat (every PIPELINE_DISPATCH_SECONDS): send the steps that are due and not sent yet."""
    return services.dispatch_due(queue=queue_of(self))


@shared_task(bind=True, acks_late=True)
def sweep_steps(self) -> dict:
    """Beat (every minute): re-queue steps whose worker died, fail submissions past their deadline,
    then send what became due."""
    result = services.sweep()
    result["sent"] = services.dispatch_due(queue=queue_of(self))
    return result
