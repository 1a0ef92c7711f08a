"""Distribution work in the worker: primary keys in, one service call, claimed with a lease inside it."""

from __future__ import annotations

from celery import shared_task

from portal.tasks import RETRY_POLICY, lease_free, send

from . import deep, services


@shared_task(acks_late=True, **RETRY_POLICY)
def copy_delivery(copy_pk: int) -> str:
    return deep.copy_delivery(copy_pk)


@shared_task(acks_late=True, **RETRY_POLICY)
def run_restore(restore_pk: int) -> str:
    return deep.run_restore(restore_pk)


@shared_task(acks_late=True)
def package_dataset(dataset_pk: int, user_pk: int) -> str:
    return services.package_dataset(dataset_pk, user_pk)


@shared_task(acks_late=True)
def deep_copy_sweep(limit: int = 50) -> int:
    """Beat: start the deep copy of every inventoried delivery under a hold in force that has none, and
    send again the copies and restores whose lease lapsed (a killed worker) or that were never sent."""
    from .models import DeepCopy, RestoreRequest

    started = 0
    for delivery in deep.copies_due()[:limit]:
        deep.request_copy(delivery)
        started += 1
    free = lease_free()
    for pk in DeepCopy.objects.filter(free, state__in=["pending", "copying"]).values_list("pk", flat=True)[
        :limit
    ]:
        send(copy_delivery, pk)
    for pk in RestoreRequest.objects.filter(free, state="approved").values_list("pk", flat=True)[:limit]:
        send(run_restore, pk)
    return started


@shared_task(acks_late=True, **RETRY_POLICY)
def verify_deep_copy(delivery_pk: int, user_pk: int | None = None) -> int:
    """Read a delivery's deep copy back and compare it with the inventory; returns the problems found."""
    from django.contrib.auth import get_user_model

    from apps.deliveries.models import Delivery

    user = get_user_model().objects.filter(pk=user_pk).first() if user_pk else None
    return len(deep.verify_copy(Delivery.objects.get(pk=delivery_pk), user=user))
