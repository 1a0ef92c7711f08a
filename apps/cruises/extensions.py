"""Where the apps built on cruises plug in (event logs, reviews, holds). Cruises sits below them and
never imports them; each registers its part from its ``AppConfig.ready()``.

- ``page_context``: functions ``(request, cruise, context) -> None`` that add their keys to the cruise
  page's context (the template ``cruises/cruise_detail.html`` names them: ``eventlog``, ``review``,
  ``changes``, ``holds``, and ``hold`` on each row of ``datasets``).
- ``event_summary``: ``(cruise, element) -> None`` fills the operations report's ``eventSummary``.
- ``held_until``: ``(revision) -> date | None``, the end of the hold that keeps a held revision's data back.
- ``record_changes``: ``(cruise, changes, user, role) -> list[str]`` saves amended fields, records their
  history and returns the names of the fields that changed; without it the fields are saved without
  history.

Each slot has a harmless default, so cruises works (and its tests run) whatever is installed above it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

page_context: list[Callable[[Any, Any, dict], None]] = []


def _no_summary(cruise, element) -> None:
    return None


def _no_hold(revision) -> datetime.date | None:
    return None


def _save_without_history(cruise, changes: dict, user, role: str) -> list[str]:
    changed = [name for name, value in changes.items() if getattr(cruise, name) != value]
    for name in changed:
        setattr(cruise, name, changes[name])
    if changed:
        cruise.save(update_fields=[*changed, "updated_at"])
    return changed


event_summary: Callable[[Any, Any], None] = _no_summary
held_until: Callable[[Any], datetime.date | None] = _no_hold
record_changes: Callable[[Any, dict, Any, str], list[str]] = _save_without_history


def register(*, event_summary=None, held_until=None, record_changes=None) -> None:
    """Fill the single-function slots (from the owning app's ``ready()``)."""
    slots = globals()
    for name, function in (
        ("event_summary", event_summary),
        ("held_until", held_until),
        ("record_changes", record_changes),
    ):
        if function is not None:
            slots[name] = function


def add_page_context(function: Callable[[Any, Any, dict], None]) -> Callable[[Any, Any, dict], None]:
    """Register a cruise-page context function (usable as a decorator); registering twice is harmless."""
    if function not in page_context:
        page_context.append(function)
    return function
