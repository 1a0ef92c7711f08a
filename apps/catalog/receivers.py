"""The catalog follows revisions: any state or public-metadata change marks it dirty (rebuilt soon)."""

from __future__ import annotations

from django.dispatch import receiver

from apps.artifacts.signals import artifacts_recorded
from apps.packages.signals import revision_changed


@receiver(revision_changed, dispatch_uid="catalog.revision_changed")
def revision_changed_marks_dirty(sender, revision, **kwargs) -> None:
    """Runs in the sender's transaction (a release, a hold ending, a withdrawal, a taint, a correction)."""
    from .services import mark_dirty

    if revision.state in ("published", "withdrawn", "tainted"):
        mark_dirty(revision.package_id)


@receiver(artifacts_recorded, dispatch_uid="catalog.artifacts_recorded")
def artifacts_mark_dirty(sender, revision, **kwargs) -> None:
    """A version's Parquet alternates and manifests are files of its tree: they are catalog assets."""
    from .services import mark_dirty

    if revision.state == "published":
        mark_dirty(revision.package_id)
