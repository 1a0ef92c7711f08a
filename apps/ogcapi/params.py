"""The query parameters of OGC API – Features Part 1 (bbox, datetime, limit), parsed as the standard says.

Hand-written: the rules are short and exact (OGC 17-069r4 §7.15), and no kept library parses them on their
own (pygeoapi's parsers come with its whole server)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass


class InvalidParameter(ValueError):
    """A parameter the standard does not allow: a 400 with an OGC exception."""


@dataclass(frozen=True)
class Box:
    west: float
    south: float
    east: float
    north: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.west > self.east

    def lon_ranges(self) -> list[tuple[float, float]]:
        """The longitude intervals it covers: two when it crosses the antimeridian (west > east)."""
        if self.crosses_antimeridian:
            return [(self.west, 180.0), (-180.0, self.east)]
        return [(self.west, self.east)]


def bbox(text: str | None) -> Box | None:
    """``minLon,minLat,maxLon,maxLat`` (or six numbers with heights, which are ignored), WGS 84 (CRS84).
    The first longitude larger than the second means the box crosses the antimeridian (§7.15.3)."""
    if text is None or text == "":
        return None
    parts = text.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter("bbox must have four (or six) comma-separated numbers.")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise InvalidParameter("bbox must have four (or six) comma-separated numbers.") from None
    if any(n != n or n in (float("inf"), float("-inf")) for n in numbers):
        raise InvalidParameter("bbox numbers must be finite.")
    w, s, e, n = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
    if not (-180 <= w <= 180 and -180 <= e <= 180):
        raise InvalidParameter("bbox longitudes must lie in [-180, 180].")
    if not (-90 <= s <= 90 and -90 <= n <= 90):
        raise InvalidParameter("bbox latitudes must lie in [-90, 90].")
    if s > n:
        raise InvalidParameter("bbox: the southern latitude is larger than the northern one.")
    return Box(w, s, e, n)


def _instant(text: str, *, end: bool) -> datetime.datetime | None:
    if text in ("", ".."):
        return None
    try:
        if "T" in text.upper():
            value = datetime.datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            if value.tzinfo is None:
                raise InvalidParameter(f"datetime {text!r} needs a time zone (RFC 3339), e.g. Z.")
            return value.astimezone(datetime.UTC)
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(f"datetime {text!r} is not an RFC 3339 date or date-time.") from None
    # A date is its whole day.
    return datetime.datetime.combine(
        day, datetime.time.max if end else datetime.time.min, tzinfo=datetime.UTC
    )


def datetime_range(text: str | None) -> tuple[datetime.datetime | None, datetime.datetime | None] | None:
    """An instant, a closed interval ``a/b`` or a half-open one (``../b``, ``a/..``, ``/b``, ``a/``) as
    (start, end), None for an open end; None when not given."""
    if text is None or text == "":
        return None
    if "/" in text:
        first, _, second = text.partition("/")
        if "/" in second:
            raise InvalidParameter("datetime has at most one '/'.")
        start, end = _instant(first, end=False), _instant(second, end=True)
        if start is None and end is None:
            raise InvalidParameter("datetime: an interval needs at least one end.")
        if start and end and start > end:
            raise InvalidParameter("datetime: the interval's start is after its end.")
        return start, end
    if text == "..":
        raise InvalidParameter("datetime '..' alone is not an instant.")
    return _instant(text, end=False), _instant(text, end=True)


def integer(text: str | None, name: str, *, default: int, low: int, high: int | None = None) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidParameter(f"{name} must be an integer.") from None
    if value < low:
        raise InvalidParameter(f"{name} must be at least {low}.")
    # Part 1 §7.15.2: a limit above the maximum is served as the maximum, not refused.
    return min(value, high) if high is not None else value
