"""Federation tasks: thin, primary keys in, one service call each; the services claim their work."""

from __future__ import annotations

from celery import shared_task

from portal.tasks import RETRY_POLICY, execution_owner, send

from . import services


@shared_task(bind=True, acks_late=True)
def harvest_source(self, source_pk: int) -> str:
    """Harvest one source (None = someone else is harvesting it: the lease keeps it single)."""
    run = services.harvest(source_pk, owner=execution_owner(self.request.id or "local"))
    return "busy" if run is None else run.state


@shared_task(acks_late=True)
def harvest_due_sources() -> int:
    """Beat job: queue every active source whose next harvest is due (the claim makes a duplicate harmless)."""
    return sum(send(harvest_source, pk) for pk in services.due_sources().values_list("pk", flat=True))


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def mirror_record(self, mirror_pk: int) -> None:
    services.mirror(mirror_pk, owner=execution_owner(self.request.id or "local"))
