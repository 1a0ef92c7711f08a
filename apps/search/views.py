"""The search page (the same query as /api/search/), and /robots.txt, which keeps crawlers off its
endless facet combinations."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from apps.publishing.crosswalks import metadata

from . import creators, services
from .models import FacetKind

FACET_TITLES = {
    FacetKind.KEYWORD: "Keyword",
    FacetKind.CREATOR: "Creator",
    FacetKind.SCOPE: "Scope",
    FacetKind.VESSEL: "Vessel",
    FacetKind.YEAR: "Year of the data",
    FacetKind.FORMAT: "Format",
}

# The other filters, shown with the facets as removable filters.
RANGE_TITLES = {"begin": "Data from", "end": "Data to", "bbox": "Area"}


def _url(params: QueryDict) -> str:
    return f"?{params.urlencode()}" if params else "?"


def _without(params: QueryDict, kind: str, value: str) -> str:
    """The current search without one selected facet value (and back on page 1)."""
    kept = params.copy()
    kept.pop("page", None)
    kept.setlist(kind, [v for v in params.getlist(kind) if v != value])
    return _url(kept)


def _replace(params: QueryDict, kind: str, value: str) -> QueryDict:
    changed = params.copy()
    changed.pop("page", None)
    changed[kind] = value
    return changed


def _with(params: QueryDict, kind: str, value: str) -> str:
    added = params.copy()
    added.pop("page", None)
    added.appendlist(kind, value)
    return _url(added)


def _row(doc) -> dict:
    revision = doc.revision
    return {
        "revision": revision,
        "url": metadata.version_path(revision),
        "creators": [metadata.display_name(c) for c in metadata.creators_of(revision)],
        "coverage": revision.coverage or {},
    }


def _remote_row(doc) -> dict:
    return {"doc": doc, "url": f"/remote/{doc.record_id}/"}


def _regions():
    from apps.gazetteer.models import Region

    return Region.objects.only("pk", "name", "gazetteer")


def search_page(request: HttpRequest) -> HttpResponse:
    origin = request.GET.get("origin") or "all"
    if origin not in services.ORIGINS:
        origin = "all"
    if origin == "remote":
        # Remote records only: harvested from other repositories, each linking to its home.
        remote_page, remote_total, remote_capped = services.search_remote(request.GET)
        params = request.GET.copy()
        params.pop("page", None)
        return render(
            request,
            "search/search.html",
            {
                "origin": origin,
                "origins": services.ORIGINS,
                "remote_only": True,
                "page": remote_page,
                "remote_rows": [_remote_row(d) for d in remote_page.object_list],
                "remote_total": remote_total,
                "remote_capped": remote_capped,
                "query": params.urlencode(),
                "params": request.GET,
                "sorts": services.SORTS,
                "result": {"sort": "newest", "errors": []},
            },
        )
    result = services.search(request.user, request.GET)
    remote_rows, remote_total, remote_capped = [], 0, False
    if origin == "all" and request.GET.get("page", "1") in ("", "1"):
        remote_page, remote_total, remote_capped = services.search_remote(
            request.GET, page_size=services.REMOTE_SHOWN_WITH_LOCAL, page=1
        )
        remote_rows = [_remote_row(d) for d in remote_page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    selected: dict[str, set[str]] = {}
    active = []
    for kind in services.FACET_KINDS:
        for value in request.GET.getlist(kind):
            if not value:
                continue
            key = creators.key_for_filter(value) if kind == FacetKind.CREATOR else value
            selected.setdefault(kind, set()).update({value, key})
            active.append(
                {
                    "title": FACET_TITLES[kind],
                    "label": result.label(kind, key),
                    "remove_url": _without(request.GET, kind, value),
                }
            )
    for name, title in RANGE_TITLES.items():
        value = request.GET.get(name, "")
        if value:
            active.append({"title": title, "label": value, "remove_url": _without(request.GET, name, value)})
    facet_groups = []
    for kind, values in result.facets.items():
        if not values:
            continue
        facet_groups.append(
            {
                "kind": kind,
                "title": FACET_TITLES[kind],
                "values": [
                    {
                        "label": result.label(kind, value),
                        "count": n,
                        "selected": value in selected.get(kind, ()),
                        "add_url": _with(request.GET, kind, value),
                        "remove_url": _without(request.GET, kind, value),
                    }
                    for value, n in values
                ],
            }
        )
    return render(
        request,
        "search/search.html",
        {
            "result": result,
            "page": result.page,
            "rows": [_row(doc) for doc in result.page.object_list],
            "query": params.urlencode(),
            "params": request.GET,
            "facet_groups": facet_groups,
            "active_facets": [(k, v) for k in services.FACET_KINDS for v in request.GET.getlist(k) if v],
            "active": active,
            "sorts": services.SORTS,
            "facet_sample": services.FACET_SAMPLE,
            "origin": origin,
            "origins": services.ORIGINS,
            "remote_rows": remote_rows,
            "remote_total": remote_total,
            "remote_capped": remote_capped,
            "remote_url": _url(_replace(request.GET, "origin", "remote")),
            # Search by place: the gazetteer's regions (apps.gazetteer), crossed by the datasets' cruises' tracks
            "regions": _regions(),
        },
    )


ROBOTS = """\
# Landing pages and the latest-version URLs are for everyone; the search page's filter combinations
# are endless (each facet link adds one), so crawlers get the plain search page only.
User-agent: *
Allow: /dataset/
Allow: /search/$
Disallow: /search/?
Disallow: /search/*?
Disallow: /dataset/*/files
Disallow: /api/
Disallow: /accounts/
Disallow: /admin/
Disallow: /package/

# Harvest the metadata through OAI-PMH instead: {oai}
"""


@require_GET
@cache_control(public=True, max_age=86400)
def robots_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        ROBOTS.format(oai=metadata.absolute("/oai?verb=Identify")), content_type="text/plain; charset=utf-8"
    )
