"""Holds' parts of a cruise's pages (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

import datetime

from .models import Hold


def held_until(revision) -> datetime.date | None:
    """When the hold that keeps ``revision``'s data back ends (the latest-ending one in force), or None."""
    hold = Hold.objects.covering(revision).first()
    return hold.ends_on if hold is not None else None


def page_context(request, cruise, context: dict) -> None:
    context["holds"] = cruise.holds.prefetch_related("packages")
    for row in context.get("datasets", ()):
        row["hold"] = Hold.objects.covering(row["revision"]).first()
