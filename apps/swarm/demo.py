"""Demo: the torrent of every published demo version, built in-process (after the Parquet alternates:
``apps.swarm`` comes after ``apps.artifacts`` in INSTALLED_APPS, so they are in the torrent)."""

from __future__ import annotations

from . import services
from .models import Torrent


def load(log) -> None:
    from apps.artifacts import services as artifacts
    from apps.artifacts.tasks import build_artifacts

    from .tasks import build_torrent_task

    # Versions published by the demos after apps.artifacts' own (the quick share's) get their Parquet
    # files first: a torrent waits for them.
    artifacts.ensure_builds()
    for pk in artifacts.due_builds().values_list("pk", flat=True):
        build_artifacts.apply(args=[pk])
    services.ensure_torrents()
    for pk in services.due_torrents().values_list("pk", flat=True):
        build_torrent_task.apply(
            args=[pk]
        )  # the worker's task, run here (idempotent: built ones are skipped)
    log(f"swarm: {services.public_torrents().count()} public torrents ({Torrent.objects.count()} in all)")
