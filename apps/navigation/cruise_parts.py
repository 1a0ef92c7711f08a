"""Navigation's part of a cruise's page (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

from .models import Track


def page_context(request, cruise, context: dict) -> None:
    """``navigation``: the cruise's track when its certificate is built (it follows the cruise's
    visibility, and the cruise page is only rendered for those who may see the cruise)."""
    context["navigation"] = (
        Track.objects.filter(cruise=cruise)
        .only(
            "state",
            "overall",
            "fixes",
            "first_time",
            "last_time",
            "control_points",
            "dated",
            "error",
            "certificate",
        )
        .first()
    )
