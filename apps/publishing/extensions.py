"""Where apps above publishing add to its records (distributions: the national archive's accession).

Publishing never imports them; each registers from its ``AppConfig.ready()``:

- ``related``: ``(revision) -> dict`` with optional ``relatedIdentifiers`` and ``alternateIdentifiers``
  lists (DataCite 4.5 JSON shapes) appended to the version's DataCite metadata.
- ``landing_links``: ``(revision) -> list[dict(label, text, url[, type])]`` shown on the landing page's
  facts; a link with a media ``type`` is also a ``<link rel="alternate" type=…>`` in the page's head (how a
  harvesting portal finds a version's torrent: ``apps.federation``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

related: list[Callable[[Any], dict]] = []
landing_links: list[Callable[[Any], list[dict]]] = []


def add_related(function: Callable[[Any], dict]) -> None:
    if function not in related:
        related.append(function)


def add_landing_links(function: Callable[[Any], list[dict]]) -> None:
    if function not in landing_links:
        landing_links.append(function)
