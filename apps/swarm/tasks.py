"""Building torrents in the worker, and the sweep that finds torrents still due."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from portal.tasks import RETRY_POLICY, claim, execution_owner, send

from . import services
from .models import Torrent

BUILD_LEASE = timedelta(minutes=10)


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def build_torrent_task(self, torrent_id: int) -> str:
    """Build one published version's torrent, claimed with a lease renewed while it hashes (a killed
    worker's build is taken over once the lease lapses). A torrent already built, or of a version that
    is no longer published, does nothing."""
    lease = claim(
        services.due_torrents(),
        torrent_id,
        duration=BUILD_LEASE,
        owner=execution_owner(self.request.id or "eager"),
        attempts=F("attempts") + 1,
    )
    if lease is None:
        return "taken or done"
    try:
        with lease.heartbeat(interval=BUILD_LEASE.total_seconds() / 3):
            torrent = Torrent.objects.get(pk=torrent_id)
            state, message, fields = services.build_torrent(torrent.revision_id)
    except Exception as exc:
        lease.release(state=Torrent.State.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    lease.release(state=state, message=message, **fields)
    return message


@shared_task(acks_late=True)
def sweep_torrents(limit: int = 100) -> int:
    """Beat job: create the torrents of published versions that have none, and queue every one still due
    or failed whose lease is free (a lost message, a broker outage, a worker killed mid-build)."""
    services.ensure_torrents()
    now = timezone.now()
    due = (
        services.due_torrents()
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(attempts__lt=settings.SWARM_BUILD_MAX_ATTEMPTS)
        .order_by("requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send(build_torrent_task, pk) for pk in due)
