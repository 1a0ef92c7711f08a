"""OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) at /ogcapi/ — see docs/ogcapi.md.

JSON is the default answer (OWSLib sends neither ``f`` nor ``Accept``); ``f=json``/``f=geojson`` or an
``Accept`` of application/json or application/geo+json give the same. Errors are OGC exception JSON
(``{"code", "description"}``) with 400 for a bad parameter and 404 for an unknown collection or feature.
"""

from __future__ import annotations

import functools
import json
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from . import openapi, params, services

GEOJSON = "application/geo+json"
JSON = "application/json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
FORMATS = ("json", "geojson")
ITEM_PARAMS = {"f", "limit", "offset", "bbox", "bbox-crs", "datetime"}
CRS84 = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84h")


class OGCError(Exception):
    def __init__(self, status: int, code: str, description: str):
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


def _json(data, status: int = 200, content_type: str = JSON) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), status=status, content_type=content_type
    )
    # Web map clients on other origins may read it; without credentials (no cookies), so only what an
    # anonymous user sees ever crosses origins.
    response["Access-Control-Allow-Origin"] = "*"
    return response


def ogc(allowed: set[str]):
    """Check ``f`` and unknown parameters (Part 1 /req/core/query-param-unknown), answer errors as OGC
    exceptions."""

    def wrap(view):
        @functools.wraps(view)
        def inner(request, *args, **kwargs):
            try:
                unknown = sorted(set(request.GET) - allowed)
                if unknown:
                    raise OGCError(400, "InvalidParameterValue", f"Unknown parameter: {', '.join(unknown)}.")
                f = request.GET.get("f", "json")
                if f not in FORMATS:
                    raise OGCError(400, "InvalidParameterValue", f"f must be one of {', '.join(FORMATS)}.")
                return view(request, *args, **kwargs)
            except params.InvalidParameter as exc:
                return _json({"code": "InvalidParameterValue", "description": str(exc)}, 400)
            except OGCError as exc:
                return _json({"code": exc.code, "description": exc.description}, exc.status)

        return require_GET(inner)

    return wrap


def _base(request) -> str:
    return request.build_absolute_uri("/ogcapi/").rstrip("/")


def _link(href: str, rel: str, media: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": media, "title": title}


@ogc({"f"})
def landing(request):
    base = _base(request)
    return _json(
        {
            "title": f"{settings.SITE_NAME} OGC API – Features",
            "description": "Cruise tracklines and dataset footprints as GeoJSON (OGC API – Features Part 1).",
            "links": [
                _link(f"{base}/", "self", JSON, "This document"),
                _link(f"{base}/openapi", "service-desc", OPENAPI, "The API definition (OpenAPI 3.0)"),
                _link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
                _link(f"{base}/collections", "data", JSON, "The collections"),
            ],
        }
    )


@ogc({"f"})
def conformance(request):
    return _json({"conformsTo": CONFORMANCE})


@ogc({"f"})
def api_definition(request):
    return _json(openapi.document(_base(request)), content_type=OPENAPI)


def _collection(request, c: services.Collection) -> dict:
    base = f"{_base(request)}/collections/{c.id}"
    return {
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": [CRS84[0]],
        "extent": services.extent(c.id, request.user),
        "links": [
            _link(base, "self", JSON, c.title),
            _link(f"{base}/items", "items", GEOJSON, f"{c.title}: the features"),
        ],
    }


@ogc({"f"})
def collections(request):
    base = _base(request)
    return _json(
        {
            "links": [_link(f"{base}/collections", "self", JSON, "The collections")],
            "collections": [_collection(request, c) for c in services.COLLECTIONS.values()],
        }
    )


def _known(collection_id: str) -> services.Collection:
    c = services.COLLECTIONS.get(collection_id)
    if c is None:
        raise OGCError(404, "NotFound", f"No collection {collection_id!r}.")
    return c


@ogc({"f"})
def collection(request, collection_id: str):
    return _json(_collection(request, _known(collection_id)))


@ogc(ITEM_PARAMS)
def items(request, collection_id: str):
    c = _known(collection_id)
    get = request.GET
    crs = get.get("bbox-crs")
    if crs and crs not in CRS84:
        raise OGCError(400, "InvalidParameterValue", "bbox-crs: only CRS84 is supported.")
    box = params.bbox(get.get("bbox"))
    when = params.datetime_range(get.get("datetime"))
    limit = params.integer(
        get.get("limit"),
        "limit",
        default=settings.OGCAPI_LIMIT_DEFAULT,
        low=1,
        high=settings.OGCAPI_LIMIT_MAX,
    )
    offset = params.integer(get.get("offset"), "offset", default=0, low=0)
    features, matched = services.items(
        c.id,
        request.user,
        box=box,
        when=when,
        limit=limit,
        offset=offset,
        build_uri=request.build_absolute_uri,
    )
    base = f"{_base(request)}/collections/{c.id}/items"
    kept = [(k, v) for k, v in get.items() if k not in ("offset", "limit")]

    def page(at: int) -> str:
        return f"{base}?{urlencode([*kept, ('limit', limit), ('offset', at)])}"

    links = [
        _link(page(offset), "self", GEOJSON, "This page"),
        _link(f"{_base(request)}/collections/{c.id}", "collection", JSON, c.title),
    ]
    if offset + len(features) < matched:
        links.append(_link(page(offset + limit), "next", GEOJSON, "The next page"))
    if offset > 0:
        links.append(_link(page(max(offset - limit, 0)), "prev", GEOJSON, "The previous page"))
    return _json(
        {
            "type": "FeatureCollection",
            "features": features,
            "links": links,
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        },
        content_type=GEOJSON,
    )


@ogc({"f"})
def item(request, collection_id: str, fid: str):
    c = _known(collection_id)
    feature = services.item(c.id, request.user, fid, request.build_absolute_uri)
    if feature is None:
        raise OGCError(404, "NotFound", f"No feature {fid!r} in {c.id}.")
    base = f"{_base(request)}/collections/{c.id}"
    feature["links"] = [
        _link(f"{base}/items/{fid}", "self", GEOJSON, "This feature"),
        _link(base, "collection", JSON, c.title),
    ]
    return _json(feature, content_type=GEOJSON)
