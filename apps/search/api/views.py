"""GET /api/search/: the search page's query as JSON (anonymous allowed; results access-filtered)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.publishing.crosswalks import metadata

from .. import services


def _result(doc) -> dict:
    revision = doc.revision
    package = revision.package
    return {
        "package_id": revision.package_id_text,
        "title": revision.title,
        "state": revision.state,
        "version": revision.number,
        "doi": revision.doi,
        "creators": [
            c.get("name") or c.get("family", "") for c in revision.creators or [] if isinstance(c, dict)
        ],
        "keywords": revision.keywords,
        "published_at": revision.published_at,
        "coverage": revision.coverage,
        "cruise": package.cruise.cruise_id if package.cruise_id else None,
        "url": metadata.absolute(metadata.version_path(revision)),
        "latest_url": metadata.absolute(metadata.dataset_path(package)),
        "origin": "local",
    }


def _remote(doc) -> dict:
    return {
        "origin": "remote",
        "home": doc.home,
        "title": doc.title,
        "creators": doc.creators,
        "date": doc.published,
        "url": metadata.absolute(f"/remote/{doc.record_id}/"),
        "home_url": doc.home_url,
        "torrent_url": doc.torrent_url or None,
        "magnet": doc.magnet or None,
        "home_mirrors": doc.mirrors,
    }


class SearchApi(APIView):
    """Full-text search with facets. Parameters: q, keyword, creator, scope, vessel, year, format (each
    repeatable), begin, end (YYYY-MM-DD), bbox (w,s,e,n), sort (relevance|newest|oldest|title),
    all_versions, page, facets=0 to skip facet counts; origin=all|local|remote (records harvested from
    other portals: with ``all`` the first few come in ``remote``, with ``remote`` they are the results)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiResponse(description="{errors: [messages]}")},
        description="count, count_capped, page, pages, sort, results [{package_id, title, state, version, doi, creators, "
        "keywords, published_at, coverage, cruise, url, latest_url}], facets_sampled, facets {kind: [{value, label, count}]} (a creator's value is the key "
        "to filter by; its label is the name to show)",
    )
    def get(self, request):
        origin = request.query_params.get("origin") or "all"
        if origin not in services.ORIGINS:
            return Response({"errors": ["origin must be all, local or remote."]}, status=400)
        if origin == "remote":
            page, total, capped = services.search_remote(request.query_params)
            return Response(
                {
                    "count": total,
                    "count_capped": capped,
                    "page": page.number,
                    "pages": page.paginator.num_pages,
                    "origin": origin,
                    "results": [_remote(d) for d in page.object_list],
                }
            )
        with_facets = request.query_params.get("facets", "1") not in ("0", "false")
        result = services.search(request.user, request.query_params, with_facets=with_facets)
        if result.errors:
            return Response({"errors": result.errors}, status=400)
        page = result.page
        remote = None
        if origin == "all":
            remote_page, remote_total, remote_capped = services.search_remote(
                request.query_params, page_size=services.REMOTE_SHOWN_WITH_LOCAL, page=1
            )
            remote = {
                "count": remote_total,
                "count_capped": remote_capped,
                "results": [_remote(d) for d in remote_page.object_list],
            }
        return Response(
            {
                "origin": origin,
                "remote": remote,
                "count": result.total,
                "count_capped": result.total_capped,
                "page": page.number,
                "pages": page.paginator.num_pages,
                "sort": result.sort,
                "results": [_result(d) for d in page.object_list],
                "facets_sampled": result.facets_sampled,
                "facets": {
                    k: [{"value": v, "label": result.label(k, v), "count": n} for v, n in values]
                    for k, values in result.facets.items()
                },
            }
        )
