"""The collections OGC API – Features serves, and their items as GeoJSON features.

- ``tracks``: each cruise's quality-assessed trackline (the control points; a MultiLineString when split at the
  antimeridian), the cruise's time span (first to last fix), rating and links. Tracks follow the cruise
  record's visibility (``access.visible_tracks``).
- ``footprints``: the coverage of the dataset versions ``user`` may see the data of (the search index's rule:
  held data is not listed for those outside the cruise; the newest published version of each package),
  a box as a Polygon — or, when the dataset has no box of its own and its cruise has a track, the trackline.

``items(collection, user, box, when, limit, offset)`` → (features, number matched). The box filter runs in
the database on the indexed box columns (antimeridian-crossing boxes on either side as two intervals); a
line's candidates are then intersected exactly with the box (shapely).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import shapely
from django.db.models import F, Q, QuerySet
from shapely.geometry import box as shapely_box
from shapely.geometry import shape

from apps import access
from apps.search.services import filtered

from .params import Box


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str


COLLECTIONS = {
    "tracks": Collection(
        "tracks",
        "Cruise tracklines",
        "Each cruise's quality-assessed navigation as control points (Douglas–Peucker of the one-minute track), "
        "with the cruise's time span and the certificate's rating.",
    ),
    "footprints": Collection(
        "footprints",
        "Dataset footprints",
        "Where the newest published version of each dataset lies: its bounding box, or its cruise's trackline "
        "when it has no box of its own.",
    ),
}


def box_q(box: Box) -> Q:
    """Rows whose box (west, south, east, north; west > east across the antimeridian) meets ``box``."""
    lat = Q(south__lte=box.north, north__gte=box.south)
    lon = Q()
    for a, b in box.lon_ranges():
        normal = Q(west__lte=F("east")) & Q(west__lte=b, east__gte=a)
        crossing = Q(west__gt=F("east")) & (Q(west__lte=b) | Q(east__gte=a))
        lon |= normal | crossing
    return lat & lon


def box_geometry(box: Box):
    return shapely.union_all([shapely_box(a, box.south, b, box.north) for a, b in box.lon_ranges()])


def polygon_of(bbox: list[float]) -> dict:
    """A box as a GeoJSON Polygon (counter-clockwise), two as a MultiPolygon across the antimeridian."""
    w, s, e, n = bbox

    def ring(a, b):
        return [[a, s], [b, s], [b, n], [a, n], [a, s]]

    if w > e:
        return {"type": "MultiPolygon", "coordinates": [[ring(w, 180.0)], [ring(-180.0, e)]]}
    return {"type": "Polygon", "coordinates": [ring(w, e)]}


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


# --- tracks ----------------------------------------------------------------------------------------


def tracks_qs(user) -> QuerySet:
    return access.visible_tracks(user).select_related("cruise", "cruise__vessel").order_by("cruise_id")


def track_feature(track, build_uri) -> dict:
    cruise = track.cruise
    return {
        "type": "Feature",
        "id": str(cruise.pk),
        "geometry": track.control,
        "bbox": track.bbox,
        "properties": {
            "cruise_id": cruise.cruise_id,
            "vessel": cruise.vessel.name,
            "title": f"{cruise.cruise_id} ({cruise.vessel.name})",
            "rating": track.overall,
            "fixes": track.fixes,
            "control_points": track.control_points,
            "dated": track.dated,
            "start": _iso(track.first_time),
            "end": _iso(track.last_time),
            "datetime": None,
            "cruise_url": build_uri(f"/cruises/{cruise.pk}/"),
            "certificate_url": build_uri(f"/navigation/{cruise.pk}/"),
        },
    }


def _track_time(qs: QuerySet, when) -> QuerySet:
    start, end = when
    qs = qs.filter(first_time__isnull=False, last_time__isnull=False)
    if start is not None:
        qs = qs.filter(last_time__gte=start)
    if end is not None:
        qs = qs.filter(first_time__lte=end)
    return qs


# --- footprints ------------------------------------------------------------------------------------


def footprints_qs(user) -> QuerySet:
    documents, _sort, _errors = filtered(user, {})
    return (
        documents.filter(west__isnull=False)
        .select_related("revision", "revision__package", "revision__package__cruise")
        .order_by("revision_id")
    )


def footprint_feature(document, track_geometry: dict | None, build_uri) -> dict:
    revision = document.revision
    package = revision.package
    bbox = [document.west, document.south, document.east, document.north]
    own_box = bool((revision.coverage or {}).get("bbox"))
    trackline = not own_box and bool(track_geometry)
    geometry = track_geometry if trackline else polygon_of(bbox)
    return {
        "type": "Feature",
        "id": str(revision.pk),
        "geometry": geometry,
        "bbox": bbox,
        "properties": {
            "title": revision.title,
            "package": f"{package.scope}.{package.identifier}",
            "version": revision.number,
            "doi": revision.doi or None,
            "state": revision.state,
            "start": _iso(document.begin),
            "end": _iso(document.end),
            "cruise_id": package.cruise.cruise_id if package.cruise_id else None,
            "footprint": "trackline" if trackline else "box",
            "url": build_uri(f"/packages/{package.scope}/{package.identifier}/{revision.number}/"),
        },
    }


def _footprint_time(qs: QuerySet, when) -> QuerySet:
    start, end = when
    qs = qs.filter(Q(begin__isnull=False) | Q(end__isnull=False))
    if start is not None:
        qs = qs.filter(Q(end__gte=start.date()) | Q(end__isnull=True, begin__gte=start.date()))
    if end is not None:
        qs = qs.filter(Q(begin__lte=end.date()) | Q(begin__isnull=True, end__lte=end.date()))
    return qs


def _track_geometries(cruise_pks) -> dict[int, dict]:
    from django.apps import apps

    Track = apps.get_model("navigation", "Track")
    rows = Track.objects.filter(cruise_id__in=set(cruise_pks), state="done", control__isnull=False)
    return dict(rows.values_list("cruise_id", "control"))


# --- the two together ------------------------------------------------------------------------------


def items(collection: str, user, *, box: Box | None, when, limit: int, offset: int, build_uri):
    """(features of this page, number matched)."""
    if collection == "tracks":
        qs = tracks_qs(user)
        if when is not None:
            qs = _track_time(qs, when)
        if box is not None:
            qs = qs.filter(box_q(box))
            area = box_geometry(box)
            shapely.prepare(area)
            # Lines are checked exactly: a track's box can meet the query box while the track does not.
            pks = [pk for pk, control in qs.values_list("pk", "control") if area.intersects(shape(control))]
            qs = qs.filter(pk__in=pks)
            matched = len(pks)
        else:
            matched = qs.count()
        return [track_feature(t, build_uri) for t in qs[offset : offset + limit]], matched
    qs = footprints_qs(user)
    if when is not None:
        qs = _footprint_time(qs, when)
    if box is not None:
        qs = qs.filter(box_q(box))
    matched = qs.count()
    page = list(qs[offset : offset + limit])
    tracks = _track_geometries(d.revision.package.cruise_id for d in page if d.revision.package.cruise_id)
    return [footprint_feature(d, tracks.get(d.revision.package.cruise_id), build_uri) for d in page], matched


def item(collection: str, user, fid: str, build_uri) -> dict | None:
    if not fid.isdigit():
        return None
    if collection == "tracks":
        track = tracks_qs(user).filter(cruise_id=int(fid)).first()
        return track_feature(track, build_uri) if track else None
    document = footprints_qs(user).filter(revision_id=int(fid)).first()
    if document is None:
        return None
    cruise_pk = document.revision.package.cruise_id
    geometry = _track_geometries([cruise_pk]).get(cruise_pk) if cruise_pk else None
    return footprint_feature(document, geometry, build_uri)


def extent(collection: str, user) -> dict:
    """The collection's spatial and temporal extent (whole world when an item crosses the antimeridian)."""
    from django.db.models import Max, Min

    if collection == "tracks":
        qs = tracks_qs(user)
        agg = qs.aggregate(
            w=Min("west"),
            s=Min("south"),
            e=Max("east"),
            n=Max("north"),
            t0=Min("first_time"),
            t1=Max("last_time"),
        )
        crossing = qs.filter(west__gt=F("east")).exists()
    else:
        qs = footprints_qs(user)
        agg = qs.aggregate(
            w=Min("west"), s=Min("south"), e=Max("east"), n=Max("north"), t0=Min("begin"), t1=Max("end")
        )
        crossing = qs.filter(west__gt=F("east")).exists()
    if agg["w"] is None:
        spatial = [-180.0, -90.0, 180.0, 90.0]
    else:
        spatial = [agg["w"], agg["s"], agg["e"], agg["n"]]
        if crossing:
            spatial = [-180.0, agg["s"], 180.0, agg["n"]]
    return {
        "spatial": {"bbox": [spatial], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"},
        "temporal": {
            "interval": [[_iso(agg["t0"]), _iso(agg["t1"])]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        },
    }
