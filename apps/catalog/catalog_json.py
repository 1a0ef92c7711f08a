"""The STAC API-lite JSON beside the GeoParquet file: a root catalog, one collection per scope, and items.

    /catalog/                                  root catalog (links to the collections, stac.parquet and
                                               its build manifest)
    /catalog/collections                       the collections
    /catalog/collections/{scope}               one collection
    /catalog/collections/{scope}/items         its published versions' items (``limit``, ``offset``)
    /catalog/collections/{scope}/items/{id}    one version's item

Items come from the same records as the Parquet rows (``items.to_item``).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Min

from apps.packages.models import Revision

from . import items


def collection_documents() -> list[dict]:
    rows = (
        Revision.objects.filter(state=Revision.State.PUBLISHED)
        .order_by()
        .values("package__scope")
        .annotate(first=Min("published_at"), last=Max("published_at"))
        .order_by("package__scope")
    )
    return [collection_document(r["package__scope"], r["first"], r["last"]) for r in rows]


def collection_document(scope: str, first=None, last=None) -> dict:
    def iso(v):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ") if v else None

    return {
        "type": "Collection",
        "stac_version": items.STAC_VERSION,
        "id": scope,
        "title": f"{settings.SITE_NAME}: {scope} datasets",
        "description": f"Every public version of the {scope} datasets held by {settings.SITE_NAME}; one item per version.",
        "license": "other",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[iso(first), iso(last)]]},
        },
        "links": [
            {"rel": "root", "href": items.catalog_url(), "type": "application/json"},
            {"rel": "parent", "href": items.catalog_url(), "type": "application/json"},
            {"rel": "self", "href": items.collection_url(scope), "type": "application/json"},
            {"rel": "items", "href": items.collection_url(scope) + "/items", "type": "application/geo+json"},
        ],
    }


def root_document() -> dict:
    scopes = (
        Revision.objects.filter(state=Revision.State.PUBLISHED)
        .order_by("package__scope")
        .values_list("package__scope", flat=True)
        .distinct()
    )
    return {
        "type": "Catalog",
        "stac_version": items.STAC_VERSION,
        "id": "quayside",
        "title": settings.SITE_NAME,
        "description": f"Every public dataset version held by {settings.SITE_NAME}.",
        "conformsTo": ["https://api.stacspec.org/v1.0.0/core"],
        "links": [
            {"rel": "root", "href": items.catalog_url(), "type": "application/json"},
            {"rel": "self", "href": items.catalog_url(), "type": "application/json"},
            {"rel": "data", "href": items.catalog_url("collections"), "type": "application/json"},
            {
                "rel": "alternate",
                "href": items.catalog_url("stac.parquet"),
                "type": "application/vnd.apache.parquet",
                "title": "Every version as one STAC GeoParquet file",
            },
            {
                "rel": "build-manifest",
                "href": items.catalog_url("manifests/stac.parquet.json"),
                "type": "application/json",
                "title": "Build manifest of stac.parquet (its inputs, configuration and libraries)",
            },
            *[
                {"rel": "child", "href": items.collection_url(s), "type": "application/json", "title": s}
                for s in scopes
            ],
        ],
    }
