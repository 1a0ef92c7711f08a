"""Removing a tainted version's bytes from every storage tier (the worker half of ``services.taint``).

Contract: ``remove_tainted_data(revision_pk)`` deletes, from the primary and the deep tier, the bytes of
every blob the tainted version points at — its entities, its EML, its resource-registry rows and its
derived artifacts (Parquet alternates, manifests, torrents) — unless ``apps.storage.references`` finds
something untainted that still needs the blob (another version's entity, a cruise file, an event-log
copy, a delivery's deep copy…). Each removed blob is recorded on its row (``removed_at``), so the task is
idempotent and resumes where a killed worker stopped: a re-run skips removed blobs and re-checks the rest.
Returns ``(removed, kept)`` counts of this run.
"""

from __future__ import annotations

import logging

from django.apps import apps as django_apps
from django.db.models import Q

from apps.artifacts.models import Artifact
from apps.packages.models import Revision
from apps.storage import references
from apps.storage.models import Blob
from apps.storage.services import remove_bytes

log = logging.getLogger(__name__)
REASON = "tainted"
# Rows that point at a version and a blob derived from it, by model label (no app imported: swarm imports
# publishing): the version's torrent file.
VERSION_BLOB_HOLDERS = ("swarm.Torrent",)


def register_references() -> None:
    """Tell ``apps.storage.references`` which blob references a taint makes dead (by model label, so no
    app is imported): rows of a tainted version, and upload rows (transient: a finished upload's blob is
    kept by whatever it was handed to). A delivery's inventory refers to its deep copies by digest."""
    tainted = Revision.State.TAINTED
    references.register_dead("packages.Revision", Q(state=tainted))
    references.register_dead("packages.Entity", Q(revision__state=tainted))
    references.register_dead("packages.Resource", Q(revision__state=tainted))
    references.register_dead("artifacts.Artifact", Q(revision__state=tainted))
    for label in VERSION_BLOB_HOLDERS:
        references.register_dead(label, Q(revision__state=tainted))
    references.register_dead("submissions.SubmissionFile", Q(submission__revision__state=tainted))
    references.register_dead("uploads.Upload", Q(pk__isnull=False))
    references.register_digest_field("deliveries.InventoryFile", "sha256")


def blobs_of(revision: Revision) -> list[str]:
    """The SHA-256 of every blob the version points at (data, metadata, derived artifacts)."""
    keys = set(revision.entities.exclude(blob=None).values_list("blob_id", flat=True))
    keys |= set(revision.resources.exclude(blob=None).values_list("blob_id", flat=True))
    keys |= set(Artifact.objects.filter(revision=revision).values_list("blob_id", flat=True))
    for label in VERSION_BLOB_HOLDERS:
        holder = django_apps.get_model(label)
        keys |= set(
            holder.objects.filter(revision=revision).exclude(blob=None).values_list("blob_id", flat=True)
        )
    if revision.eml_blob_id:
        keys.add(revision.eml_blob_id)
    return sorted(keys)


def remove_tainted_data(revision_pk: int) -> tuple[int, int]:
    revision = Revision.objects.get(pk=revision_pk)
    if revision.state != Revision.State.TAINTED:
        return (0, 0)
    removed = kept = 0
    for blob in Blob.objects.filter(pk__in=blobs_of(revision), removed_at__isnull=True):
        needed_by = references.references(blob)
        if needed_by:
            kept += 1
            log.info("blob %s of tainted %s kept: still needed by %s", blob.pk, revision, needed_by)
            continue
        if remove_bytes(blob, reason=REASON):
            removed += 1
        else:
            kept += 1
    return (removed, kept)


def pending(revision: Revision) -> int:
    """How many of the tainted version's blobs still hold bytes that nothing else needs (0 when done)."""
    left = Blob.objects.filter(pk__in=blobs_of(revision), removed_at__isnull=True)
    return sum(1 for blob in left if not references.is_needed(blob))
