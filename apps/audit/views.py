from django.core.paginator import Paginator
from django.shortcuts import render

from apps.access.decorators import data_manager_required

from .filters import filter_events


@data_manager_required
def event_list(request):
    events, form = filter_events(request.GET)
    page = Paginator(events.select_related("user"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/event_list.html", {"page": page, "form": form, "query": query.urlencode()})
