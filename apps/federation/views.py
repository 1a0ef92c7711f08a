"""Federation pages: a data manager's harvest sources (register, edit, pause, harvest now, runs with
progress and errors) and everyone's remote-record page. Harvested text is untrusted: the templates
escape it (autoescape, no ``|safe``), and only http(s) URLs were kept as links."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.access import get_remote_record_for_user, roles
from apps.access.decorators import data_manager_required

from . import services
from .models import HarvestSource, LocalMirror


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@require_http_methods(["GET", "POST"])
@data_manager_required
def sources(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        source = services.register_source(
            base_url=request.POST.get("base_url", ""),
            metadata_prefix=request.POST.get("metadata_prefix", "oai_dc"),
            set_spec=request.POST.get("set_spec", "").strip(),
            name=request.POST.get("name", "").strip(),
            interval_minutes=_int(request.POST.get("interval_minutes"), 60),
            user=request.user,
            request=request,
        )
        messages.success(request, f"{source.base_url} registered; its first harvest is queued.")
        return redirect("federation:source", pk=source.pk)
    return render(
        request,
        "federation/sources.html",
        {"sources": HarvestSource.objects.all(), "prefixes": HarvestSource.Prefix.choices},
    )


@require_http_methods(["GET", "POST"])
@data_manager_required
def source(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(HarvestSource, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "harvest":
            services.request_harvest(item, user=request.user, request=request)
            messages.success(request, "Harvest queued.")
        elif action in ("pause", "resume"):
            state = HarvestSource.State.PAUSED if action == "pause" else HarvestSource.State.ACTIVE
            services.update_source(item, state=state, user=request.user, request=request)
            messages.success(request, f"Source {state}.")
        elif action == "edit":
            services.update_source(
                item,
                name=request.POST.get("name", item.name).strip()[:200],
                set_spec=request.POST.get("set_spec", item.set_spec).strip()[:200],
                interval_minutes=max(1, _int(request.POST.get("interval_minutes"), item.interval_minutes)),
                user=request.user,
                request=request,
            )
            messages.success(request, "Source saved.")
        else:
            from portal.errors import UserError

            raise UserError("Choose an action: harvest, pause, resume or edit.")
        return redirect("federation:source", pk=item.pk)
    records = Paginator(
        item.records.order_by("-pk").only("pk", "title", "identifier", "datestamp", "deleted"), 50
    )
    return render(
        request,
        "federation/source.html",
        {"source": item, "runs": item.runs.all()[:20], "page": records.get_page(request.GET.get("page"))},
    )


def remote_record(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_remote_record_for_user(request.user, pk)
    mirror = LocalMirror.objects.filter(record=record).prefetch_related("files__blob").first()
    return render(
        request,
        "federation/remote.html",
        {
            "record": record,
            "mirror": mirror,
            "mirror_magnet": services.mirror_magnet(mirror),
            "is_data_manager": roles.is_data_manager(request.user),
        },
        status=410 if record.deleted else 200,
    )


@require_POST
@data_manager_required
def mirror(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_remote_record_for_user(request.user, pk)
    services.request_mirror(record, user=request.user, request=request)
    messages.success(request, "Mirroring queued: the files are downloaded and verified in the background.")
    return redirect("federation:remote", pk=record.pk)
