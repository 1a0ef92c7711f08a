"""A data manager's DOI queue: what is out of step with DataCite, each DOI's attempts, "retry now"."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.access.decorators import data_manager_required

from .. import services
from ..models import Doi


@data_manager_required
def doi_queue(request: HttpRequest) -> HttpResponse:
    from django.conf import settings
    from django.core.paginator import Paginator
    from django.db.models import F, Q

    show = request.GET.get("show", "open")
    qs = Doi.objects.select_related("package", "revision").order_by("next_try_at", "-created_at")
    if show == "open":
        qs = qs.filter(~Q(state=F("target_state")) | Q(needs_update=True))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "publishing/doi_queue.html",
        {
            "page": page,
            "show": show,
            "configured": bool(settings.DATACITE_API_URL),
            "query": f"show={show}",
        },
    )


@require_POST
@data_manager_required
def doi_retry(request: HttpRequest, pk: int) -> HttpResponse:
    doi = get_object_or_404(Doi, pk=pk)
    services.retry_now(doi, user=request.user, request=request)
    messages.success(request, f"{doi.doi}: retry queued.")
    return redirect(reverse("publishing:doi-queue"))


@data_manager_required
def doi_detail(request: HttpRequest, pk: int) -> HttpResponse:
    doi = get_object_or_404(Doi.objects.select_related("package", "revision"), pk=pk)
    return render(
        request, "publishing/doi_detail.html", {"doi": doi, "attempts": doi.attempt_log.all()[:100]}
    )
