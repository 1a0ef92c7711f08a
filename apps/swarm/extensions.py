"""Where apps above swarm hand the seeder more torrents to seed (federation: verified local mirrors of
harvested datasets, whose home portal made the torrent). Swarm never imports them; each registers from its
``AppConfig.ready()``:

- ``seedables``: ``() -> Iterable[Seedable]`` — every torrent that app wants seeded now. The seeder asks at
  every round and stops seeding what no longer comes back (a mirror removed after a remote taint).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Seedable:
    infohash: str  # v1, hex
    torrent: Any  # the storage.Blob holding the .torrent bytes
    files: list[tuple[str, Any]]  # (path as the torrent names it, under its name; storage.Blob)
    label: str  # for the log
    torrent_pk: int | None = None  # a local Torrent: its swarm health is reported


seedables: list[Callable[[], Iterable[Seedable]]] = []


def add_seedables(function: Callable[[], Iterable[Seedable]]) -> None:
    if function not in seedables:
        seedables.append(function)
