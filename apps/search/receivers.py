"""The search index follows every revision change the packages app announces."""

from __future__ import annotations

from django.dispatch import receiver

from apps.packages.signals import revision_changed

from .services import index_revision


@receiver(revision_changed, dispatch_uid="search.reindex_revision")
def reindex_revision(sender, revision, **kwargs) -> None:
    # In the sender's transaction, not on commit: the index keeps a copy of the revision's state that
    # search filters on, so it must never say "published" for a revision that is already withdrawn.
    index_revision(revision)
