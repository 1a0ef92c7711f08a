from datetime import timedelta

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from portal.tasks import RETRY_POLICY, execution_owner, send

from . import services
from .models import Track


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def build_delivery_navigation(self, delivery_pk: int) -> str:
    """Assess a delivery's navigation files and store the cruise's track (idempotent; leased)."""
    track = services.process_delivery_navigation(
        delivery_pk, owner=execution_owner(self.request.id or "eager")
    )
    return track.state if track else "nothing to do"


@shared_task(acks_late=True)
def navigation_sweep(limit: int = 50) -> int:
    """Send again the builds still due: pending, or building under a lease that lapsed (a dead worker)."""
    now = timezone.now()
    due = Track.objects.filter(delivery__isnull=False).filter(
        Q(state=Track.State.PENDING, created_at__lt=now - timedelta(minutes=5))
        | Q(state=Track.State.BUILDING, lease_until__lt=now)
    )
    sent = 0
    for delivery_pk in due.values_list("delivery_id", flat=True)[:limit]:
        sent += send(build_delivery_navigation, delivery_pk)
    return sent
