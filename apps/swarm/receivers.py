"""A torrent follows every revision the packages app publishes."""

from __future__ import annotations

from django.dispatch import receiver

from apps.packages.signals import revision_changed

from .services import request_torrent


@receiver(revision_changed, dispatch_uid="swarm.request_torrent")
def torrent_when_published(sender, revision, **kwargs) -> None:
    # Only a published version gets one; the build runs in the worker after commit and checks the state
    # again under the row lock. A withdrawn or tainted version's torrent is no longer served or seeded.
    request_torrent(revision)
