"""The search page (the same query as /api/search/)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import services


def search_page(request: HttpRequest) -> HttpResponse:
    result = services.search(request.user, request.GET)
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "search/search.html",
        {
            "result": result,
            "page": result.page,
            "query": params.urlencode(),
            "params": request.GET,
            "facet_kinds": services.FACET_KINDS,
            "active_facets": [(k, v) for k in services.FACET_KINDS for v in request.GET.getlist(k)],
            "sorts": services.SORTS,
            "facet_sample": services.FACET_SAMPLE,
        },
    )
