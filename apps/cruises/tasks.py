from celery import shared_task

from portal.tasks import RETRY_POLICY


@shared_task(**RETRY_POLICY)
def read_mailbox() -> int:
    """Beat job: read the sailing-orders mailbox. Messages are claimed (Seen) before ingest, so a
    retry or an overlapping run never answers a message twice."""
    from .mailbox import read_configured_mailbox

    return len(read_configured_mailbox())
