"""Where apps above publishing add to its records (distributions: the national archive's accession).

Publishing never imports them; each registers from its ``AppConfig.ready()``:

- ``related``: ``(revision) -> dict`` with optional ``relatedIdentifiers`` and ``alternateIdentifiers``
  lists (DataCite 4.5 JSON shapes) appended to the version's DataCite metadata.
- ``landing_links``: ``(revision) -> list[dict(label, text, url[, type])]`` shown on the landing page's
  facts; a link with a media ``type`` is also a ``<link rel="alternate" type=…>`` in the page's head (how a
  harvesting portal finds a version's torrent: ``apps.federation``).
- ``copies``: ``(revision_ids) -> {revision_id: dict}``, the same DataCite shapes as ``related``, for many
  versions at once (one query per OAI-PMH page, not one per record): where else a published version's files
  can be had — its torrent and magnet (swarm), its verified mirrors (catalog). The DataCite record carries
  them; oai_dc carries them as ``crosswalks.metadata.dc_copies`` maps them; a harvesting portal reads them
  back (``apps.federation.harvester``). A contributor answers only for published versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

related: list[Callable[[Any], dict]] = []
landing_links: list[Callable[[Any], list[dict]]] = []
copies: list[Callable[[list[int]], dict[int, dict]]] = []


def add_related(function: Callable[[Any], dict]) -> None:
    if function not in related:
        related.append(function)


def add_landing_links(function: Callable[[Any], list[dict]]) -> None:
    if function not in landing_links:
        landing_links.append(function)


def add_copies(function: Callable[[list[int]], dict[int, dict]]) -> None:
    if function not in copies:
        copies.append(function)


def copies_of(revision_ids: list[int]) -> dict[int, dict]:
    """Every contributor's copies of these versions, merged: {revision_id: {"relatedIdentifiers": [...],
    "alternateIdentifiers": [...]}}; a version without any is absent."""
    merged: dict[int, dict] = {}
    if not revision_ids:
        return merged
    for contribute in copies:
        for pk, extra in contribute(list(revision_ids)).items():
            into = merged.setdefault(pk, {"relatedIdentifiers": [], "alternateIdentifiers": []})
            into["relatedIdentifiers"] += extra.get("relatedIdentifiers", [])
            into["alternateIdentifiers"] += extra.get("alternateIdentifiers", [])
    return merged
