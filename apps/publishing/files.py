"""A version's file tree: the one listing of a version's files that everything uses.

The landing page, the named file URLs, the STAC catalog's assets, mirrors and (next) the torrent all call
``version_files(revision)``, so a file has the same path, size and checksums everywhere.

Layout (the torrent's layout: keep it)::

    {SITE_BASE_URL}/dataset/{scope}/{identifier}/{number}/      ← the web-seed base
        {scope}.{identifier}.{number}/                         ← the tree's name (the torrent's name)
            {object name of each entity}                       ← entity files, at the top level
            parquet/{stem}.parquet                             ← Parquet alternates of tables (apps/artifacts)
            manifests/{…}.json                                 ← build manifests (manifests/parquet/{stem}.parquet.json)

Entity names: the EML ``physical/objectName`` (else the entity's name, else its id), reduced to its last
path segment; characters a path cannot hold (``/``, ``\\``, control characters) become ``_``; ``.`` and
``..`` and the names of the tree's own folders (``parquet``, ``manifests``) get a ``_`` in front. Entities
are taken in their stored order (``Entity.id``); when a name is already taken, the later entity gets
``{stem}-{n}{suffix}`` with the smallest ``n`` ≥ 2 still free (``data.csv``, ``data-2.csv``). Entities
are never renamed once published (their order and names do not change), so a path never changes.

Derived files follow the entity files: the version's public artifacts (``apps.artifacts.services
.artifacts_for``: none unless the version is published), Parquet alternates in entity order, then the
build manifests by path, at the path apps/artifacts gave them. A Parquet alternate has role ``data`` and
``alternate_of`` naming the path of the table it renders; a manifest has role ``metadata``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings

# Top-level folders the tree reserves for derived files (apps/artifacts adds them).
RESERVED_FOLDERS = ("parquet", "manifests")
# The artifact kinds that are files of a version's tree, in the tree's order.
TREE_KINDS = ("parquet", "manifest")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


class VersionFile(NamedTuple):
    """One file of a version's tree. ``blob`` is the storage row (None in a bulk listing that only has its
    digests); ``entity_pk`` the entity it comes from, if any (access rules follow the entity)."""

    path: str
    size: int
    sha256: str
    md5: str
    media_type: str
    role: str  # STAC asset role: "data", later "metadata" (manifests) and Parquet alternates
    title: str = ""
    blob: Any = None
    entity_pk: int | None = None
    artifact_pk: int | None = None  # a derived file (apps/artifacts): access follows the artifact
    alternate_of: str = ""  # a Parquet alternate: the path of the table it renders


class ArtifactRow(NamedTuple):
    """What the listing needs of a derived artifact: the ORM row or a bulk query's tuple."""

    pk: int
    kind: str
    path: str
    entity_pk: int | None
    media_type: str
    sha256: str
    size: int
    md5: str
    blob: Any = None


class EntityRow(NamedTuple):
    """What naming needs of an entity: the ORM row or a bulk query's tuple give the same listing."""

    pk: int
    entity_id: str
    name: str
    object_name: str
    mime_type: str
    sha256: str | None
    size: int | None
    md5: str
    blob: Any = None


def tree_name(scope: str, identifier: int, number: int) -> str:
    """The tree's (and the torrent's) name: the PASTA package id."""
    return f"{scope}.{identifier}.{number}"


def web_seed_base(scope: str, identifier: int, number: int) -> str:
    """The folder BitTorrent web seeds append ``{tree name}/{path}`` to."""
    return f"{settings.SITE_BASE_URL}/dataset/{scope}/{identifier}/{number}/"


def named_path(scope: str, identifier: int, number: int, path: str) -> str:
    """The site path of a file by its name (no query string: web seeds and caches need none)."""
    from urllib.parse import quote

    return f"/dataset/{scope}/{identifier}/{number}/{tree_name(scope, identifier, number)}/{quote(path)}"


def latest_path(scope: str, identifier: int, path: str) -> str:
    from urllib.parse import quote

    return f"/dataset/{scope}/{identifier}/latest/{quote(path)}"


@functools.lru_cache(maxsize=65536)
def _safe_name(raw: str) -> str:
    name = _UNSAFE.sub("_", raw.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]).strip()
    if name in ("", ".", "..") or name in RESERVED_FOLDERS:
        name = f"_{name}"
    return name


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix}") if dot and stem else (name, "")
    n = 2
    while f"{stem}-{n}{suffix}" in taken:
        n += 1
    return f"{stem}-{n}{suffix}"


def layout(entities: Iterable[EntityRow]) -> list[VersionFile]:
    """The tree of entity files, in the entities' stored order (pass them ordered by ``pk``). Entities
    without stored bytes (a tainted version's) are left out."""
    files: list[VersionFile] = []
    taken: set[str] = set()
    for e in entities:
        if not e.sha256:
            continue
        path = _unique(_safe_name(e.object_name or e.name or e.entity_id), taken)
        taken.add(path)
        files.append(
            VersionFile(
                path=path,
                size=e.size or 0,
                sha256=e.sha256,
                md5=e.md5,
                media_type=e.mime_type or "application/octet-stream",
                role="data",
                title=e.name,
                blob=e.blob,
                entity_pk=e.pk,
            )
        )
    return files


def with_derived(files: list[VersionFile], artifacts: Iterable[ArtifactRow]) -> list[VersionFile]:
    """``files`` (the entity files, from ``layout``) followed by the public derived files, in the tree's
    order whatever order ``artifacts`` come in: Parquet by entity then path, then manifests by path."""
    source = {f.entity_pk: f.path for f in files}
    rows = sorted(
        (a for a in artifacts if a.kind in TREE_KINDS and a.sha256),
        key=lambda a: (TREE_KINDS.index(a.kind), a.entity_pk or 0, a.path),
    )
    return files + [
        VersionFile(
            path=a.path,
            size=a.size or 0,
            sha256=a.sha256,
            md5=a.md5 or "",
            media_type=a.media_type or "application/octet-stream",
            role="metadata" if a.kind == "manifest" else "data",
            title=("Parquet of " if a.kind == "parquet" else "Build manifest of ")
            + source.get(a.entity_pk, a.path.removeprefix("manifests/").removesuffix(".json")),
            blob=a.blob,
            artifact_pk=a.pk,
            alternate_of=source.get(a.entity_pk, "") if a.kind == "parquet" else "",
        )
        for a in rows
    ]


def version_files(revision) -> list[VersionFile]:
    """The ordered files of ``revision``'s tree (path, size, sha256, md5, media type, role, blob): the
    entity files, then its public derived files (Parquet alternates, build manifests).

    Uses ``revision.entities.all()`` (prefetch ``entities__blob`` to list many) and one query for the
    artifacts (none unless the version is published)."""
    from apps.artifacts.services import artifacts_for

    entities = sorted(revision.entities.all(), key=lambda e: e.pk)
    files = layout(
        EntityRow(
            pk=e.pk,
            entity_id=e.entity_id,
            name=e.name,
            object_name=e.object_name,
            mime_type=e.mime_type,
            sha256=e.blob.sha256 if e.blob_id else None,
            size=e.blob.size if e.blob_id else None,
            md5=e.blob.md5 if e.blob_id else "",
            blob=e.blob if e.blob_id else None,
        )
        for e in entities
    )
    artifacts = (
        ArtifactRow(
            a.pk, a.kind, a.path, a.entity_id, a.media_type, a.blob.sha256, a.blob.size, a.blob.md5, a.blob
        )
        for a in artifacts_for(revision)
        if a.blob_id
    )
    return with_derived(files, artifacts)


def find_file(revision, path: str) -> VersionFile | None:
    return next((f for f in version_files(revision) if f.path == path), None)
