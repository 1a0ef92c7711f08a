from django.core.paginator import Paginator
from django.shortcuts import render

from apps.access.decorators import data_manager_required

from .filters import attach_details, filter_actions


@data_manager_required
def event_list(request):
    """The audit log by action: one line per service event (or per request no service recorded anything
    in), with the web request it came in on — method, path, status, agent — as its details."""
    heads, form = filter_actions(request.GET)
    page = Paginator(heads.select_related("user"), 50).get_page(request.GET.get("page"))
    page.object_list = attach_details(page.object_list)
    rows = [row for head in page for row in (head, *head.also)]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {"page": page, "rows": rows, "form": form, "query": query.urlencode()},
    )
