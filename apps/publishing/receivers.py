"""What publishing does when an app below it announces something."""

from __future__ import annotations

from django.dispatch import receiver

from apps.holds.signals import revisions_released

from .services import release_held


@receiver(revisions_released, dispatch_uid="publishing.publish_released")
def publish_released(sender, hold, revisions, **kwargs) -> None:
    """A hold ended: publish the revisions it freed (held, row-locked, in the holds transaction)."""
    for revision in revisions:
        release_held(revision)
