"""Building torrents in the worker, and the sweep that finds torrents still due."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from portal.tasks import RETRY_POLICY, run_leased_build, send_due_builds

from . import services

BUILD_LEASE = timedelta(minutes=10)


@shared_task(bind=True, acks_late=True, **RETRY_POLICY)
def build_torrent_task(self, torrent_id: int) -> str:
    """Build one published version's torrent, claimed with a lease renewed while it hashes (a killed
    worker's build is taken over once the lease lapses). A torrent already built, or of a version that
    is no longer published, does nothing. A built torrent joins its version's OAI-PMH record (a new
    datestamp, after the torrent's row says built: ``services.announce_built``)."""
    message = run_leased_build(
        self,
        services.due_torrents(),
        torrent_id,
        lambda torrent: services.build_torrent(torrent.revision_id),
        duration=BUILD_LEASE,
    )
    services.announce_built(torrent_id)
    return message


@shared_task(acks_late=True)
def sweep_torrents(limit: int = 100) -> int:
    """Beat job: create the torrents of published versions that have none, and queue every one still due
    or failed whose lease is free (a lost message, a broker outage, a worker killed mid-build)."""
    services.ensure_torrents()
    return send_due_builds(
        build_torrent_task,
        services.due_torrents(),
        max_attempts=settings.SWARM_BUILD_MAX_ATTEMPTS,
        limit=limit,
    )
