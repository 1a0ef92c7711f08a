"""Navigation's part of a cruise's page (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from .models import Track

MAP_FLAGGED = 500  # flagged fixes drawn on the cruise page's map (the certificate page lists them)


def page_context(request, cruise, context: dict) -> None:
    """``navigation``: the cruise's track when its certificate is built (it follows the cruise's
    visibility, and the cruise page is only rendered for those who may see the cruise)."""
    track = (
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
            "west",
            "east",
            "control",
            "flagged",
        )
        .first()
    )
    context["navigation"] = track
    if track is not None and track.state == Track.State.DONE and track.control:
        # The track map (static/navigation/track_map.js) reads these from data attributes and one JSON
        # block: no inline script (portal/csp.py).
        context["navigation_map"] = {
            "feature_url": reverse("ogcapi:item", args=["tracks", cruise.pk]),
            "flagged": [
                {"lat": f["lat"], "lon": f["lon"], "time": f.get("time"), "flags": f.get("flags", [])}
                for f in (track.flagged or [])[:MAP_FLAGGED]
                if f.get("lat") is not None and f.get("lon") is not None
            ],
            "crosses_antimeridian": track.west is not None and track.west > track.east,
            "tiles": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
        }
