"""The OpenAPI 3.0 document of /ogcapi/ (the landing page's ``service-desc``), written out: seven paths."""

from __future__ import annotations

from django.conf import settings


def _param(name: str, description: str, schema: dict, explode: bool | None = None) -> dict:
    p = {"name": name, "in": "query", "required": False, "description": description, "schema": schema}
    if explode is not None:
        p["style"], p["explode"] = "form", explode
    return p


def _get(summary: str, op: str, parameters: list, media: str, schema: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "operationId": op,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {media: {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                },
                "400": {"$ref": "#/components/responses/Invalid"},
                "404": {"$ref": "#/components/responses/NotFound"},
            },
        }
    }


def document(base: str) -> dict:
    f = _param("f", "The format (JSON is the default).", {"type": "string", "enum": ["json", "geojson"]})
    collection_id = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": ["tracks", "footprints"]},
    }
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    items_params = [
        collection_id,
        f,
        _param(
            "limit",
            f"Features a page (default {settings.OGCAPI_LIMIT_DEFAULT}; larger values are served as "
            f"{settings.OGCAPI_LIMIT_MAX}).",
            {"type": "integer", "minimum": 1, "default": settings.OGCAPI_LIMIT_DEFAULT},
            False,
        ),
        _param(
            "offset",
            "Features to skip (the next/prev links carry it).",
            {"type": "integer", "minimum": 0},
            False,
        ),
        _param(
            "bbox",
            "minLon,minLat,maxLon,maxLat (CRS84); minLon > maxLon crosses the antimeridian.",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
            False,
        ),
        _param("bbox-crs", "Only CRS84.", {"type": "string", "format": "uri"}, False),
        _param(
            "datetime",
            "An instant, a closed interval a/b or a half-bounded one (../b, a/..), RFC 3339.",
            {"type": "string"},
            False,
        ),
    ]
    anything = {"type": "object", "additionalProperties": True}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{settings.SITE_NAME} OGC API – Features",
            "version": "1.0.0",
            "description": "Cruise tracklines and dataset footprints (OGC API – Features Part 1: Core, GeoJSON).",
        },
        "servers": [{"url": base}],
        "paths": {
            "/": _get("Landing page", "getLandingPage", [f], "application/json", "Landing"),
            "/conformance": _get(
                "Conformance classes", "getConformance", [f], "application/json", "Conformance"
            ),
            "/collections": _get("The collections", "getCollections", [f], "application/json", "Collections"),
            "/collections/{collectionId}": _get(
                "One collection", "describeCollection", [collection_id, f], "application/json", "Collection"
            ),
            "/collections/{collectionId}/items": _get(
                "The collection's features",
                "getFeatures",
                items_params,
                "application/geo+json",
                "FeatureCollection",
            ),
            "/collections/{collectionId}/items/{featureId}": _get(
                "One feature", "getFeature", [collection_id, fid, f], "application/geo+json", "Feature"
            ),
        },
        "components": {
            "schemas": {
                "Landing": anything,
                "Conformance": {
                    "type": "object",
                    "required": ["conformsTo"],
                    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
                },
                "Collections": anything,
                "Collection": anything,
                "FeatureCollection": {
                    "type": "object",
                    "required": ["type", "features"],
                    "properties": {
                        "type": {"type": "string", "enum": ["FeatureCollection"]},
                        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
                        "numberMatched": {"type": "integer"},
                        "numberReturned": {"type": "integer"},
                        "timeStamp": {"type": "string", "format": "date-time"},
                        "links": {"type": "array", "items": anything},
                    },
                },
                "Feature": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "id": {"type": "string"},
                        "geometry": {"type": "object", "nullable": True},
                        "properties": {"type": "object", "nullable": True},
                    },
                },
                "Exception": {
                    "type": "object",
                    "required": ["code"],
                    "properties": {"code": {"type": "string"}, "description": {"type": "string"}},
                },
            },
            "responses": {
                "Invalid": {
                    "description": "A parameter is wrong.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Exception"}}},
                },
                "NotFound": {
                    "description": "No such collection or feature.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Exception"}}},
                },
            },
        },
    }
