"""The gazetteer: load named regions, and ask which cruises entered one between two dates.

- ``load(collection, *, name_property, gazetteer, user=None)`` stores the Polygon/MultiPolygon features of a
  GeoJSON FeatureCollection as ``Region`` rows (replacing regions of the same gazetteer and name).
- ``cruises_crossing(region, start=None, end=None)`` → the primary keys of the cruises whose track entered
  ``region`` between ``start`` and ``end`` (dates or datetimes, UTC; a date's whole day counts; None = open).

The answer is exact against the region's geometry (shapely), not its box: the indexed boxes and time spans of
the tracks' timed pieces (``navigation.TrackSegment``) find the candidates, each candidate piece is clipped
to the dates and intersected with the region. PostGIS would do the same in SQL; it is not required.
"""

from __future__ import annotations

import json

import shapely
from django.db import connection, transaction
from shapely.geometry import shape

from apps.audit.services import record_event
from apps.navigation import segments
from apps.navigation.models import TrackSegment
from portal.errors import UserError

from .models import Region

MAX_REGIONS = 5000


def region_geometry(region: Region):
    """The region's prepared shapely geometry."""
    return segments.prepared(shape(region.geometry))


def _regions(collection: dict, name_property: str) -> list[tuple[str, dict, dict, tuple]]:
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise UserError("The file must be a GeoJSON FeatureCollection.")
    out = []
    for number, feature in enumerate(collection.get("features") or [], 1):
        geometry = (feature or {}).get("geometry") or {}
        if geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue  # points and lines name no region
        properties = feature.get("properties") or {}
        name = str(properties.get(name_property) or "").strip()
        if not name:
            raise UserError(f"Feature {number} has no property {name_property!r} to name it.")
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise UserError(f"Feature {number} ({name}) has a broken geometry: {exc}") from exc
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        if geom.is_empty:
            continue
        out.append((name[:300], json.loads(shapely.to_geojson(geom)), properties, geom.bounds))
    if not out:
        raise UserError("The file has no Polygon or MultiPolygon feature.")
    if len(out) > MAX_REGIONS:
        raise UserError(f"At most {MAX_REGIONS} regions a file.")
    return out


def load(collection: dict, *, name_property: str, gazetteer: str, user=None) -> int:
    """Store the collection's polygons as regions of ``gazetteer`` (one per name; features sharing a name
    are one region, their union). Returns how many regions were stored."""
    gazetteer = (gazetteer or "").strip()[:100]
    if not gazetteer:
        raise UserError("Name the gazetteer (e.g. 'EEZ v12').")
    merged: dict[str, list] = {}
    for name, geometry, properties, _bounds in _regions(collection, name_property):
        merged.setdefault(name, []).append((shape(geometry), properties))
    with transaction.atomic(durable=True):
        for name, parts in merged.items():
            geom = shapely.union_all([g for g, _ in parts]) if len(parts) > 1 else parts[0][0]
            west, south, east, north = geom.bounds
            Region.objects.update_or_create(
                gazetteer=gazetteer,
                name=name,
                defaults={
                    "geometry": json.loads(shapely.to_geojson(geom)),
                    "properties": parts[0][1],
                    "west": west,
                    "south": south,
                    "east": east,
                    "north": north,
                },
            )
        record_event(
            service="gazetteer",
            method="load",
            text=f"gazetteer {gazetteer}: {len(merged)} regions (named by {name_property})",
            resource_id=f"gazetteer:{gazetteer}",
            user=user,
        )
    return len(merged)


# PostgreSQL: one GiST index over each piece's box and time span (navigation migration 0003), asked with
# the built-in box and range overlap operator — no PostGIS. Measured on 10,000 tracks (70,000 pieces): the
# three btree indexes of the portable query answered in 77 ms (p50), this in 1.4 ms.
CANDIDATES_SQL = """
SELECT t.cruise_id, s.points FROM navigation_tracksegment s JOIN navigation_track t ON t.id = s.track_id
WHERE t.state = 'done'
  AND box(point(s.west, s.south), point(s.east, s.north)) && box(point(%s, %s), point(%s, %s))
  AND tstzrange(s.start, s."end", '[]') && tstzrange(%s, %s, '[]')
"""


def candidates(region: Region, start=None, end=None) -> list[tuple[int, list]]:
    """The track pieces whose box meets the region's box and whose time span meets the dates (None = open):
    the index part of the query, as (cruise pk, points)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(CANDIDATES_SQL, [region.west, region.south, region.east, region.north, start, end])
            return [(pk, points if isinstance(points, list) else json.loads(points)) for pk, points in cursor]
    qs = TrackSegment.objects.filter(
        track__state="done",
        west__lte=region.east,
        east__gte=region.west,
        south__lte=region.north,
        north__gte=region.south,
    )
    if start is not None:
        qs = qs.filter(end__gte=start)
    if end is not None:
        qs = qs.filter(start__lte=end)
    return list(qs.values_list("track__cruise_id", "points"))


def cruises_crossing(region: Region, start=None, end=None) -> list[int]:
    """The pks of the cruises whose track entered ``region`` between ``start`` and ``end``, sorted."""
    import datetime

    t0 = segments.epoch(start)
    t1 = segments.epoch(end, end=True)
    lo = datetime.datetime.fromtimestamp(t0, datetime.UTC) if t0 is not None else None
    hi = datetime.datetime.fromtimestamp(t1, datetime.UTC) if t1 is not None else None
    geometry = region_geometry(region)
    found: set[int] = set()
    for cruise_pk, points in candidates(region, lo, hi):
        if cruise_pk not in found and segments.crosses(points, geometry, t0, t1):
            found.add(cruise_pk)
    return sorted(found)
