"""Reviews' parts of a cruise's pages (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

from .services import apply_changes, history, review_for


def page_context(request, cruise, context: dict) -> None:
    context["review"] = review_for(cruise)
    context["changes"] = history(cruise)


def record_changes(cruise, changes: dict, user, role: str) -> list[str]:
    """An edit outside a review: save the fields and record one FieldChange each (no review attached)."""
    return [change.field for change in apply_changes(cruise, changes, user, role=role)]
