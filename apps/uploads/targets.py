"""Where a finished upload goes: a small registry of target kinds.

An upload names its target in its metadata as one key whose name is a registered kind and whose value
identifies the thing (``delivery 42`` → the delivery with pk 42). The app that owns the thing registers a
handler (in its ``AppConfig.ready``), so this app never imports it:

- ``check(user, target_id, upload_fields)`` runs when the upload is created, in the request: it raises
  ``NotFound``/``Forbidden``/``UserError``/``Conflict`` when this person may not upload there, or the file
  could not be placed (a bad path) — refused before a byte is sent.
- ``place(upload, path)`` runs in the worker once all bytes are in: it moves the file at ``path`` where
  it belongs and returns a short description of where (shown on /uploads/). Raising ``UserError`` or
  ``Conflict`` fails the upload with that message; anything else is retried as the task's policy says.

An upload without a target becomes a content-addressed blob (``apps.storage.services.store_file``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Target:
    kind: str
    check: Callable[[Any, str, dict], None]
    place: Callable[[Any, Path], str]
    label: Callable[[str], str] = lambda target_id: target_id


_targets: dict[str, Target] = {}


def register(
    kind: str,
    *,
    check: Callable[[Any, str, dict], None],
    place: Callable[[Any, Path], str],
    label: Callable[[str], str] | None = None,
) -> None:
    """Register the handler of ``kind`` (a metadata key); registering the same kind again replaces it."""
    _targets[kind] = Target(kind, check, place, label or (lambda target_id: f"{kind} {target_id}"))


def get(kind: str) -> Target | None:
    return _targets.get(kind)


def kinds() -> list[str]:
    return sorted(_targets)
