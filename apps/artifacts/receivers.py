"""Derived artifacts follow every revision change the packages app announces."""

from __future__ import annotations

from django.dispatch import receiver

from apps.packages.signals import revision_changed

from .services import request_build


@receiver(revision_changed, dispatch_uid="artifacts.request_build")
def build_when_published(sender, revision, **kwargs) -> None:
    # Only a published version is built (a held one when its hold ends and it is published); the build
    # itself runs in the worker after commit and checks the state again under the row lock.
    request_build(revision)
