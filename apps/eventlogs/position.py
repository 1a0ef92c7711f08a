"""The ship's position from its navigation feed, for the event-log page (``EVENTLOG_POSITION_FEED_URL``).

Ships publish their latest fix in many ways; the feed this reads is the plainest one: an HTTP GET that
answers one JSON object, either ``{"latitude": …, "longitude": …, "time": …}`` (``lat``/``lon`` also
accepted; ``time`` optional) or a GeoJSON Point (a Feature or a bare geometry; ``properties.time``
optional). A bridge from NMEA or a data-acquisition system to that shape is a few lines on the ship's side.
"""

from __future__ import annotations

import json

import requests

TIMEOUT = 3.0  # seconds: the person is waiting with the form open; a stale feed is no feed
MAX_BYTES = 64 * 1024  # one fix is a few hundred bytes


class FeedError(Exception):
    """The feed did not answer with a usable position; the message says what went wrong."""


def read_feed(url: str) -> dict:
    """GET ``url`` and return ``{"latitude", "longitude", "time" (or None), "source": "navigation feed"}``;
    raise FeedError when it cannot be reached or does not hold a position in range."""
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True) as response:
            response.raise_for_status()
            body = response.raw.read(MAX_BYTES + 1, decode_content=True)
    except requests.RequestException as exc:
        raise FeedError(f"The navigation feed did not answer ({exc.__class__.__name__}).") from exc
    if len(body) > MAX_BYTES:
        raise FeedError("The navigation feed answered more than one position.")
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise FeedError("The navigation feed did not answer JSON.") from exc
    return parse_fix(doc)


def parse_fix(doc) -> dict:
    """The position in one of the feed's accepted shapes (see the module docstring)."""
    if not isinstance(doc, dict):
        raise FeedError("The navigation feed's answer is not a JSON object.")
    time = doc.get("time")
    geometry = doc.get("geometry") if doc.get("type") == "Feature" else doc
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates") or []
        lon, lat = (coordinates + [None, None])[:2]
        time = (doc.get("properties") or {}).get("time", time)
    else:
        lat = doc.get("latitude", doc.get("lat"))
        lon = doc.get("longitude", doc.get("lon"))
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError) as exc:
        raise FeedError("The navigation feed's answer holds no latitude and longitude.") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise FeedError(f"The navigation feed's position {lat}, {lon} is out of range.")
    return {
        "latitude": round(lat, 6),
        "longitude": round(lon, 6),
        "time": str(time) if time else None,
        "source": "navigation feed",
    }
