"""Torrents of public dataset versions: which are due, building them, serving them, swarm health.

- ``request_torrent(revision)`` — a version became public (``packages.signals.revision_changed``): its
  ``Torrent`` is due and the build task is queued on commit. Held, withdrawn and tainted versions get none.
- ``build_torrent(revision_id)`` — the work (in the worker): the torrent of the version's files
  (``apps.publishing.files.version_files``: entities, Parquet alternates, manifests), recorded only if
  the version is still published under its row lock.
- ``public_torrent(revision)`` — the built torrent of a *published* version, or None.
- ``web_seeds(revision)`` — Quayside's web-seed base and every verified mirror with the same layout.
- ``record_health(torrent, source, ...)`` — the seeder's report of a swarm.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.utils import timezone

from apps.packages.models import Revision
from apps.publishing.files import tree_name, version_files
from apps.publishing.files import web_seed_base as quayside_web_seed
from apps.storage import services as storage
from portal.tasks import TemporaryError, dispatch

from . import torrents
from .models import SwarmHealth, Torrent

log = logging.getLogger(__name__)


def request_torrent(revision: Revision) -> Torrent | None:
    """Mark the torrent of a published version due and queue its build on commit; nothing for a version in
    any other state. Call inside the transaction that published it (idempotent)."""
    if revision.state != Revision.State.PUBLISHED:
        return None
    torrent, created = Torrent.objects.get_or_create(revision=revision)
    if not created and torrent.state == Torrent.State.BUILT:
        return torrent
    from .tasks import build_torrent_task

    dispatch(build_torrent_task, torrent.pk)
    return torrent


def name_of(revision: Revision) -> str:
    p = revision.package
    return tree_name(p.scope, p.identifier, revision.number)


def web_seeds(revision: Revision) -> list[str]:
    """The ``url-list``: Quayside's own base first, then each verified mirror whose URLs follow the tree
    (``<base>/<tree name>/<path>``). A per-file mirror (``file_urls``) cannot be a BEP 19 web seed."""
    p = revision.package
    return web_seeds_of({revision.pk: (p.scope, p.identifier, revision.number)})[revision.pk]


def web_seeds_of(versions: dict[int, tuple[str, int, int]]) -> dict[int, list[str]]:
    """``web_seeds`` of each version, given as {revision id: (scope, identifier, number)}, in one query."""
    from apps.catalog.models import Mirror

    seeds = {pk: [quayside_web_seed(*version)] for pk, version in versions.items()}
    mirrors = Mirror.objects.filter(revision_id__in=list(versions), health=Mirror.Health.OK, file_urls={})
    for revision_id, base in mirrors.order_by("pk").values_list("revision_id", "base_url"):
        suffix = f"/{tree_name(*versions[revision_id])}/"
        folder = base if base.endswith("/") else base + "/"
        if folder.endswith(suffix) and "?" not in folder:
            seeds[revision_id].append(folder[: -len(suffix) + 1])
    return seeds


def trackers() -> list[str]:
    return list(settings.SWARM_TRACKERS)


def _opener(blob):
    primary = storage.primary()
    if isinstance(primary, FileSystemStorage):  # the file system directly
        path = primary.path(blob.key)
        return lambda: open(path, "rb")
    return lambda: storage.open_blob(blob)  # S3: the storage API streams it


def make_for(revision: Revision) -> torrents.Made:
    """The torrent of ``revision``'s files as they are now (no database writes)."""
    files = [
        torrents.TorrentFile(path=f.path, size=f.size, open=_opener(f.blob))
        for f in version_files(revision)
        if f.blob is not None
    ]
    return torrents.make_torrent(
        name_of(revision),
        files,
        web_seeds=web_seeds(revision),
        trackers=trackers(),
        workers=settings.SWARM_HASH_THREADS,
    )


def build_torrent(revision_id: int) -> tuple[str, str, dict]:
    """Build the torrent of a published version. Returns ``(state, message, fields)`` for its ``Torrent``:
    built (with the infohash), or still due when the version is not published (nothing recorded)."""
    revision = (
        Revision.objects.select_related("package").prefetch_related("entities__blob").get(pk=revision_id)
    )
    if revision.state != Revision.State.PUBLISHED:
        return Torrent.State.DUE, f"not built: {revision.package_id_text} is {revision.state}", {}
    _wait_for_artifacts(revision)
    made = make_for(revision)
    blob = storage.store_bytes(made.data)
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision_id)
        if locked.state != Revision.State.PUBLISHED:  # withdrawn or tainted while we hashed
            return Torrent.State.DUE, f"not built: {locked.package_id_text} is {locked.state}", {}
        from apps.audit.services import record_event

        record_event(
            service="swarm",
            method="build_torrent",
            resource_id=locked.package_id_text,
            text=f"torrent {made.infohash}: {made.total_size} bytes, pieces of {made.piece_size}",
            auth_system="worker",
        )
    fields = {
        "infohash": made.infohash,
        "blob": blob,
        "piece_size": made.piece_size,
        "total_size": made.total_size,
        "file_count": len(version_files(revision)),
        "built_at": timezone.now(),
    }
    return Torrent.State.BUILT, f"built {made.infohash}", fields


def _wait_for_artifacts(revision: Revision) -> None:
    """The torrent holds the version's derived files (Parquet alternates, manifests): while their build,
    queued by the same release, is still due, ask the task to try again later (TemporaryError → retry
    with backoff; the sweep is the safety net)."""
    from apps.artifacts.models import RevisionBuild

    if RevisionBuild.objects.filter(revision=revision, state=RevisionBuild.State.DUE).exists():
        raise TemporaryError(f"{revision.package_id_text}: its Parquet alternates are still being built")


def public_torrent(revision: Revision) -> Torrent | None:
    """The built torrent of a published version; None for any other version (held, withdrawn, tainted)."""
    if revision.state != Revision.State.PUBLISHED:
        return None
    return (
        Torrent.objects.filter(revision=revision, state=Torrent.State.BUILT, blob__isnull=False)
        .select_related("blob")
        .first()
    )


def public_torrents():
    """Built torrents of published versions (what the seeder seeds)."""
    return Torrent.objects.filter(
        state=Torrent.State.BUILT, blob__isnull=False, revision__state=Revision.State.PUBLISHED
    ).select_related("blob", "revision__package")


def revision_of_infohash(infohash: str) -> Revision | None:
    """The version whose built torrent has this v1 infohash (any state: the caller answers 404 or 410)."""
    torrent = (
        Torrent.objects.filter(infohash=infohash.lower(), state=Torrent.State.BUILT)
        .select_related("revision__package")
        .first()
    )
    return torrent.revision if torrent else None


def torrent_path(revision: Revision) -> str:
    p = revision.package
    return f"/dataset/{p.scope}/{p.identifier}/{revision.number}/torrent"


def magnet_for(torrent: Torrent) -> str:
    revision = torrent.revision
    return torrents.magnet_link(
        torrent.infohash,
        name_of(revision),
        web_seeds(revision),
        f"{settings.SITE_BASE_URL}{torrent_path(revision)}",
    )


def landing_links(revision: Revision) -> list[dict]:
    """The landing page's BitTorrent lines (``apps.publishing.extensions``): only for a public torrent."""
    torrent = public_torrent(revision)
    if torrent is None:
        return []
    url = f"{settings.SITE_BASE_URL}{torrent_path(revision)}"
    return [
        {
            "label": "BitTorrent",
            "text": f"infohash {torrent.infohash}:",
            "url": url,
            "type": torrents.MEDIA_TYPE,
        },
        {"label": "Magnet link", "text": "", "url": magnet_for(torrent)},
    ]


# What a .torrent is, to a reader of DataCite metadata: the torrent is the version's BitTorrent metainfo
# (BEP 3 calls .torrent files "metainfo files"), so the version ``HasMetadata`` in that scheme.
BITTORRENT_SCHEME = {
    "relatedMetadataScheme": "BitTorrent",
    "schemeUri": "https://www.bittorrent.org/beps/bep_0003.html",
    "schemeType": "bencode",
}
MAGNET_TYPE = "magnet"


def datacite_copies(revision_ids: list[int]) -> dict[int, dict]:
    """The torrent of each published version among ``revision_ids`` for its OAI-PMH and DataCite records
    (``apps.publishing.extensions.copies``): the ``.torrent`` as a relatedIdentifier (URL, ``HasMetadata``
    in the BitTorrent scheme) and the magnet link — infohash, name, web seeds, the ``.torrent`` — as an
    alternateIdentifier of type ``magnet`` (the same files, named by their content). Two queries of plain
    rows: an OAI-PMH page asks for hundreds of versions at once."""
    rows = list(
        Torrent.objects.filter(
            revision_id__in=revision_ids,
            revision__state=Revision.State.PUBLISHED,
            state=Torrent.State.BUILT,
            blob__isnull=False,
        ).values_list(
            "revision_id",
            "infohash",
            "revision__package__scope",
            "revision__package__identifier",
            "revision__number",
        )
    )
    versions = {rid: (scope, ident, number) for rid, _, scope, ident, number in rows}
    seeds = web_seeds_of(versions)
    out = {}
    for rid, infohash, scope, ident, number in rows:
        url = f"{settings.SITE_BASE_URL}/dataset/{scope}/{ident}/{number}/torrent"  # ``torrent_path``
        magnet = torrents.magnet_link(infohash, tree_name(scope, ident, number), seeds[rid], url)
        out[rid] = {
            "relatedIdentifiers": [
                {
                    "relatedIdentifier": url,
                    "relatedIdentifierType": "URL",
                    "relationType": "HasMetadata",
                    **BITTORRENT_SCHEME,
                }
            ],
            "alternateIdentifiers": [{"alternateIdentifier": magnet, "alternateIdentifierType": MAGNET_TYPE}],
        }
    return out


def announce_built(torrent_id: int) -> None:
    """The torrent is in its version's OAI-PMH record from now on: a new datestamp, so that incremental
    harvesters take the record again (``apps.publishing.services.record_changed``). Call after the
    torrent's row says built, in its own transaction: inside the build's, a harvest between the two commits
    would see the new datestamp without the torrent and never ask again. Nothing for a torrent not built."""
    from apps.publishing.services import record_changed

    revision_id = (
        Torrent.objects.filter(pk=torrent_id, state=Torrent.State.BUILT)
        .values_list("revision_id", flat=True)
        .first()
    )
    if revision_id is not None:
        record_changed([revision_id])


def catalog_fields(revision_filter: dict) -> dict[int, tuple[str, str, int, int]]:
    """Per revision with a built torrent: (infohash, torrent URL, .torrent size, seeders) for the
    catalog (which shows only the infohash of a withdrawn or tainted one). Seeders: the most complete
    copies any source saw (the portal's own seeder counts). ``revision_filter``: ``Torrent`` lookups
    through ``revision__`` (the catalog passes a batch's package range: an IN list of ten thousand
    revision ids cost more to send than the rows)."""
    from django.db.models import Max

    rows = (
        Torrent.objects.filter(**revision_filter, state=Torrent.State.BUILT, blob__isnull=False)
        .annotate(seeds=Max("health__seeds"))
        .values_list(
            "revision_id",
            "infohash",
            "blob__size",
            "seeds",
            "revision__package__scope",
            "revision__package__identifier",
            "revision__number",
        )
    )
    base = settings.SITE_BASE_URL
    return {
        rid: (ih, f"{base}/dataset/{scope}/{ident}/{number}/torrent", size, seeds or 0)
        for rid, ih, size, seeds, scope, ident, number in rows
    }


def record_health(
    torrent_id: int, source: str, *, seeds: int, peers: int, completed: int, uploaded: int
) -> None:
    SwarmHealth.objects.update_or_create(
        torrent_id=torrent_id,
        source=source,
        defaults={
            "seeds": seeds,
            "peers": peers,
            "completed": completed,
            "uploaded": uploaded,
            "updated_at": timezone.now(),
        },
    )


def due_torrents():
    return Torrent.objects.filter(
        revision__state=Revision.State.PUBLISHED, state__in=[Torrent.State.DUE, Torrent.State.FAILED]
    )


def ensure_torrents(limit: int = 500) -> int:
    """Create the due ``Torrent`` of published versions that have none (published before this app existed,
    or a lost signal). Returns how many were created."""
    missing = Revision.objects.filter(state=Revision.State.PUBLISHED, torrent__isnull=True).values_list(
        "pk", flat=True
    )[:limit]
    rows = [Torrent(revision_id=pk) for pk in missing]
    Torrent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
