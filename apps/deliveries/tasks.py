"""The inventory in the worker: one task per delivery, claimed with a lease (``services.run_inventory``)."""

from celery import shared_task

from portal.tasks import execution_owner

from . import services


@shared_task(bind=True, acks_late=True)
def inventory_delivery(self, delivery_id: int) -> str:
    """List, hash and check one delivery. Re-delivered after its worker died, it resumes from the last
    checkpoint; sent twice, the second finds the lease held and returns "skipped"."""
    return services.run_inventory(delivery_id, owner=execution_owner(self.request.id or "inline"))


@shared_task(acks_late=True)
def sweep_inventories() -> int:
    """Beat: queue the inventories whose message was lost or whose worker died (the lease lapsed)."""
    return services.sweep()
