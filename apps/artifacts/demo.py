"""Demo: the Parquet alternates (and their manifests) of every published demo version, built in-process."""

from __future__ import annotations

from . import services
from .models import Artifact


def load(log) -> None:
    from .tasks import build_artifacts

    services.ensure_builds()
    for pk in services.due_builds().values_list("pk", flat=True):
        build_artifacts.apply(args=[pk])  # the worker's task, run here (idempotent: built ones are skipped)
    log(
        f"artifacts: {Artifact.objects.filter(kind=Artifact.Kind.PARQUET).count()} Parquet files, "
        f"{Artifact.objects.filter(kind=Artifact.Kind.MANIFEST).count()} build manifests"
    )
