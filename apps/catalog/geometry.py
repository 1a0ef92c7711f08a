"""Where a version is: the geometries of catalog items (the order among them is applied in ``items``).

Packages carry a coverage bounding box (``Revision.coverage["bbox"]``: west, south, east, north); a
box becomes a polygon (two across the antimeridian, as RFC 7946 §3.1.9 asks), a zero-size box a point.
A coverage of several EML sites, or of a site with a G-polygon, also carries them (``coverage["sites"]``,
``apps.packages.eml.extract``): the geometry is then those sites, points and areas, not their union box.
A published dataset of a cruise whose navigation is built has the cruise's control-point trackline
(``trackline``) instead of a box (``items`` applies the order: the dataset's own sites, then the trackline,
then its box, then ``unknown``). A version with no usable coverage gets the whole globe, marked ``unknown`` in
``quayside:geometry_source``: STAC allows a null geometry, but stac-geoparquet readers (its own
``stac_table_to_items``) cannot read one back.
"""

from __future__ import annotations

import functools

import shapely
import shapely.errors
import shapely.geometry

WORLD = (-180.0, -90.0, 180.0, 90.0)


@functools.lru_cache(maxsize=65536)
def _from_bbox(w: float, s: float, e: float, n: float):
    if w == e and s == n:
        return shapely.Point(w, s)
    if w > e:  # across the antimeridian
        return shapely.MultiPolygon([shapely.box(w, s, 180.0, n), shapely.box(-180.0, s, e, n)])
    return shapely.box(w, s, e, n)


def _bbox(coverage: dict) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in coverage.get("bbox") or ())
    except (TypeError, ValueError):
        return None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        return None
    return w, s, e, n


def _site_shape(site: dict):
    """One EML site: its outer G-ring as a polygon when it is a valid one, else its box (or point)."""
    ring = site.get("polygon")
    if ring:
        try:
            polygon = shapely.Polygon(ring)
        except (TypeError, ValueError):
            polygon = None
        # A ring that crosses itself or the antimeridian is not used as drawn: the site's box says it right.
        if polygon is not None and polygon.is_valid and not polygon.is_empty:
            lons = [x for x, _ in ring]
            if max(lons) - min(lons) <= 180:
                return shapely.orient_polygons(polygon)
    box = _bbox(site)
    return None if box is None else _from_bbox(*box)


def _sites_geometry(sites: list[dict]):
    """Every site of a coverage as one geometry: a MultiPoint of points, a MultiPolygon of areas. A
    dataset of both (stations and a study area) is its areas when they hold every station, else None (the
    union box is used): a GeometryCollection is valid GeoJSON, but stac-geoparquet's reader
    (``stac_table_to_items``) cannot read one back."""
    shapes = [shape for site in sites if (shape := _site_shape(site)) is not None]
    if not shapes:
        return None
    if len(shapes) == 1:
        return shapes[0]
    points = [g for g in shapes if g.geom_type == "Point"]
    polygons = [p for g in shapes if g.geom_type != "Point" for p in shapely.get_parts(g)]
    if not polygons:
        return shapely.MultiPoint(points)
    areas = shapely.MultiPolygon(polygons)
    if not points or all(areas.covers(point) for point in points):
        return areas
    return None


def item_geometry(coverage: dict) -> tuple[object, str]:
    """(shapely geometry in WGS 84 lon/lat, where it came from: "coverage-sites", "coverage-bbox",
    "coverage-point", "unknown"). A coverage of several sites (or one with a polygon) is those sites."""
    sites = (coverage or {}).get("sites")
    if sites:
        geom = _sites_geometry(sites)
        if geom is not None:
            return geom, "coverage-sites"
    box = _bbox(coverage or {})
    if box is None:
        return _from_bbox(*WORLD), "unknown"
    geom = _from_bbox(*box)
    return geom, "coverage-point" if geom.geom_type == "Point" else "coverage-bbox"


def trackline(control: dict | None):
    """A cruise's control-point trackline (GeoJSON LineString or MultiLineString, a part per side of the
    antimeridian, as apps.navigation stores it) as a shapely geometry; None when it is not a usable line."""
    if not isinstance(control, dict) or control.get("type") not in ("LineString", "MultiLineString"):
        return None
    try:
        line = shapely.geometry.shape(control)
    except (TypeError, ValueError, KeyError, shapely.errors.GEOSException):
        return None
    if line.is_empty:
        return None
    x0, y0, x1, y1 = line.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return None
    return line


def item_geometries(coverages: list[dict]) -> tuple[list, list[str]]:
    """``item_geometry`` for a batch, with the plain boxes made in one vectorised call (a million rows)."""
    import numpy as np

    boxes, shapes, sources = [], [], []
    for i, coverage in enumerate(coverages):
        box = _bbox(coverage or {})
        if box is not None and box[0] < box[2] and box[1] < box[3] and not (coverage or {}).get("sites"):
            boxes.append((i, box))
            shapes.append(None)
            sources.append("coverage-bbox")
        else:
            shape, source = item_geometry(coverage)
            shapes.append(shape)
            sources.append(source)
    if boxes:
        coords = np.array([b for _, b in boxes], dtype=float)
        made = shapely.box(coords[:, 0], coords[:, 1], coords[:, 2], coords[:, 3])
        for (i, _), shape in zip(boxes, made, strict=True):
            shapes[i] = shape
    return shapes, sources
