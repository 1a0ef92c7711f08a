from celery import shared_task

from portal.tasks import RETRY_POLICY


@shared_task(**RETRY_POLICY)
def expire_holds() -> int:
    """Beat job: end the holds whose date has come and release their datasets."""
    from .services import expire_due

    return expire_due()
