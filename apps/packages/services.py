"""Revision verbs the packages app owns itself (the ingest pipeline's verbs live in apps.submissions, the
publishing verbs — publish, release, withdraw, taint — in apps.publishing.services).

Every change of a revision's state after archiving goes through one verb, which calls the matching model
transition (``Revision.mark_held`` …) on a row-locked instance, writes the audit event and sends
``revision_changed`` so the search index follows.
"""

from __future__ import annotations

import datetime

from apps.audit.services import record_event

from .models import Revision
from .signals import revision_changed


def hold_revision(revision: Revision, *, until: datetime.date, user=None, request=None) -> Revision:
    """archived → held: the one path for both ways a revision becomes held (archived while a hold covers
    its cruise; a hold asserted over revisions already archived). ``until`` is the covering hold's end.

    Call inside a transaction, on an instance read with ``select_for_update()``. Raises
    ``Revision.TransitionRefused`` unless the revision is archived."""
    revision.mark_held()
    record_event(
        service="packages",
        method="hold",
        resource_id=revision.package_id_text,
        text=f"held until {until}",
        user=user,
        request=request,
        auth_system="" if user is not None or request is not None else "worker",
    )
    announce_change(revision)
    return revision


def announce_change(revision: Revision) -> None:
    """Tell the apps that follow revisions (search) that ``revision``'s state or public metadata changed.
    Call inside the transaction that changed it."""
    revision_changed.send(sender=Revision, revision=revision)
