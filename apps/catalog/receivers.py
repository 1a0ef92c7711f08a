"""The catalog follows revisions: any state or public-metadata change marks it dirty (rebuilt soon)."""

from __future__ import annotations

from django.dispatch import receiver

from apps.packages.signals import revision_changed


@receiver(revision_changed, dispatch_uid="catalog.revision_changed")
def revision_changed_marks_dirty(sender, revision, **kwargs) -> None:
    """Runs in the sender's transaction (a release, a hold ending, a withdrawal, a taint, a correction)."""
    from .services import mark_dirty

    if revision.state in ("published", "withdrawn", "tainted"):
        mark_dirty()
