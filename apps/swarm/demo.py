"""Demo: the torrent of every published demo version, built in-process (after the Parquet alternates:
``apps.swarm`` comes after ``apps.artifacts`` in INSTALLED_APPS, so they are in the torrent)."""

from __future__ import annotations

from . import services
from .models import Torrent


def load(log) -> None:
    from .tasks import build_torrent_task

    services.ensure_torrents()
    for pk in services.due_torrents().values_list("pk", flat=True):
        build_torrent_task.apply(
            args=[pk]
        )  # the worker's task, run here (idempotent: built ones are skipped)
    log(f"swarm: {services.public_torrents().count()} public torrents ({Torrent.objects.count()} in all)")
