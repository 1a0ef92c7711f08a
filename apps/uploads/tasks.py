from celery import shared_task

from portal.tasks import RETRY_POLICY, send

from . import services


@shared_task(acks_late=True, **RETRY_POLICY)
def finish_upload(pk: str) -> None:
    """Place one complete upload (a blob, or its target's handler); claimed, so a duplicate does nothing."""
    services.place_upload(pk)


@shared_task(acks_late=True)
def sweep_uploads(limit: int = 200) -> int:
    """Beat: expire uploads idle past UPLOADS_EXPIRE_HOURS (their bytes removed) and send again the
    complete ones nobody is placing (a lost message, a killed worker). Returns how many expired."""
    expired = services.expire_uploads()
    for pk in services.due_for_placing().values_list("pk", flat=True)[:limit]:
        send(finish_upload, str(pk))
    return expired
