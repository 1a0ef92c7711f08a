"""Publishing: what happens to a revision once it is archived (owned by the publishing work, issue 4).

Contracts other apps rely on (keep the signatures):

- ``on_archived(revision)`` — called by the ingest pipeline inside its transaction, with the revision
  row locked, right after the revision is marked archived. Moves it to ``held`` when a proprietary
  hold covers it, else to ``published``; records "DOI pending" and queues DOI registration on commit.
- ``release_held(revision)`` — called by the holds app when a hold ends, under the row lock; publishes
  a ``held`` revision (DOI, OAI-PMH, catalog).
"""

from __future__ import annotations

from django.utils import timezone

from apps.audit.services import record_event
from apps.packages.models import Revision


def on_archived(revision: Revision) -> Revision:
    from apps.holds.services import active_hold_for

    hold = active_hold_for(revision)
    now = timezone.now()
    if hold is not None:
        revision.state = Revision.State.HELD
        revision.metadata_modified_at = now
        revision.save(update_fields=["state", "metadata_modified_at"])
        record_event(service="publishing", method="hold", resource_id=revision.package_id_text,
                     text=f"held until {hold.ends_on}", auth_system="worker")
        return revision
    return _publish(revision, now)


def release_held(revision: Revision) -> Revision:
    if revision.state != Revision.State.HELD:
        return revision
    return _publish(revision, timezone.now())


def _publish(revision: Revision, now) -> Revision:
    revision.state = Revision.State.PUBLISHED
    revision.published_at = now
    revision.metadata_modified_at = now
    revision.save(update_fields=["state", "published_at", "metadata_modified_at"])
    record_event(service="publishing", method="publish", resource_id=revision.package_id_text,
                 text="published; DOI pending", auth_system="worker")
    return revision
