"""Delivery pages: register a shipment, the public inventory (paginated, filtered, CSV and hashdeep
downloads), what changed since the previous shipment, flags, and the Atom feeds of new inventories."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_POST

from apps import access
from apps.access import roles
from apps.cruises.models import Organisation
from portal.errors import Forbidden

from . import services
from .models import Delivery, Flag

PAGE_SIZE = 100


@login_required
def register(request, cruise_pk: int):
    """The cruise's operator or a data manager registers a drop folder or S3 prefix."""
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    access.require_delivery_registrar(request.user, cruise)
    if request.method == "POST":
        delivery = services.register_delivery(
            request.user,
            cruise,
            request.POST.get("source", ""),
            shipment=request.POST.get("shipment", ""),
            request=request,
        )
        messages.success(
            request, f"Shipment {delivery.shipment} registered; the inventory starts in the worker."
        )
        return redirect("deliveries:detail", pk=delivery.pk)
    return render(
        request,
        "deliveries/register.html",
        {"cruise": cruise, "next_shipment": services.next_shipment(cruise)},
    )


def detail(request, pk: int):
    """The inventory, public; checksums only where the hold allows (``access.can_see(..., "checksums")``)."""
    delivery = access.get_delivery_for_user(request.user, pk)
    cruise = delivery.cruise
    folder = request.GET.get("folder", "")
    klass = request.GET.get("class", "")
    page = Paginator(services.files(delivery, folder=folder, instrument_class=klass), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    diff = services.diff(delivery)
    my_roles = access.cruise_roles(request.user, cruise)
    flags = delivery.flags.select_related("raised_by", "answered_by")
    context = {
        "delivery": delivery,
        "cruise": cruise,
        "page": page,
        "folder": folder,
        "klass": klass,
        "folders": services.folders(delivery),
        "classes": services.instrument_classes(delivery),
        "progress": delivery.progress(),
        "checksums": services.checksums_visible(request.user, delivery),
        "is_party": access.is_cruise_party(request.user, cruise),
        "diff": diff,
        "diff_counts": diff.counts(),
        "flags": flags,
        "can_flag": access.can_flag_delivery(request.user, cruise),
        "is_data_manager": roles.is_data_manager(request.user),
        "my_roles": my_roles,
        "flag_kinds": Flag.Kind.choices,
        "query": _query(request, exclude="page"),
    }
    return render(request, "deliveries/detail.html", context)


def _query(request, exclude: str) -> str:
    params = request.GET.copy()
    params.pop(exclude, None)
    return params.urlencode()


def changes(request, pk: int):
    """Files added, removed and changed since the previous shipment of the cruise, paginated per kind."""
    delivery = access.get_delivery_for_user(request.user, pk)
    diff = services.diff(delivery)
    kind = request.GET.get("kind", "added")
    if kind not in ("added", "removed", "changed"):
        kind = "added"
    page = Paginator(getattr(diff, kind), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "deliveries/changes.html",
        {"delivery": delivery, "diff": diff, "counts": diff.counts(), "kind": kind, "page": page},
    )


class _Echo:
    def write(self, value):
        return value


def inventory_csv(request, pk: int):
    """The whole inventory as CSV, streamed; without checksums while a hold covers the cruise."""
    delivery = access.get_delivery_for_user(request.user, pk)
    writer = csv.writer(_Echo())
    rows = services.csv_rows(delivery, with_checksums=services.checksums_visible(request.user, delivery))
    response = StreamingHttpResponse(
        (writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(delivery)}.csv"'
    return response


def inventory_hashdeep(request, pk: int):
    """The inventory in hashdeep's audit format (checksums: refused while a hold covers the cruise)."""
    delivery = access.get_delivery_for_user(request.user, pk)
    if not services.checksums_visible(request.user, delivery):
        raise Forbidden("Checksums of this inventory are public when the cruise's hold ends.")
    response = StreamingHttpResponse(
        services.hashdeep_lines(delivery), content_type="text/plain; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(delivery)}.hashdeep.txt"'
    return response


def _filename(delivery: Delivery) -> str:
    safe = "".join(
        c if c.isalnum() or c in "-_." else "_" for c in f"{delivery.cruise.cruise_id}_{delivery.shipment}"
    )
    return f"{safe}_inventory"


@login_required
@require_POST
def raise_flag(request, pk: int):
    delivery = access.get_delivery_for_user(request.user, pk)
    services.raise_flag(
        request.user,
        delivery,
        kind=request.POST.get("kind", ""),
        target=request.POST.get("target", ""),
        comment=request.POST.get("comment", ""),
        request=request,
    )
    messages.success(request, "Flag raised; the data managers are told by e-mail.")
    return redirect(reverse("deliveries:detail", args=[delivery.pk]) + "#flags")


@login_required
@require_POST
def answer_flag(request, pk: int):
    flag = services.get_flag(pk)
    services.answer_flag(
        request.user,
        flag,
        request.POST.get("answer", ""),
        close=bool(request.POST.get("close")),
        request=request,
    )
    return redirect(reverse("deliveries:detail", args=[flag.delivery_id]) + "#flags")


@login_required
@require_POST
def close_flag(request, pk: int):
    flag = services.get_flag(pk)
    services.close_flag(request.user, flag, request=request)
    return redirect(reverse("deliveries:detail", args=[flag.delivery_id]) + "#flags")


class InventoryFeed(Feed):
    """New inventories (overall, or of one operator): what R2R announces by RSS for review."""

    feed_type = Atom1Feed
    limit = 50

    def get_object(self, request, org_pk: int | None = None):
        self.request = request
        if org_pk is None:
            return None
        return get_object_or_404(Organisation, pk=org_pk)

    def title(self, obj):
        return f"New cruise inventories{f' of {obj.name}' if obj else ''}"

    def link(self, obj):
        return (
            reverse("deliveries:feed") if obj is None else reverse("deliveries:operator-feed", args=[obj.pk])
        )

    def subtitle(self, obj):
        return "Each entry is a shipment's file-level inventory, posted for review."

    def items(self, obj):
        qs = Delivery.objects.filter(state=Delivery.State.INVENTORIED).select_related(
            "cruise__vessel", "cruise__operator"
        )
        if obj is not None:
            qs = qs.filter(cruise__operator=obj)
        return qs.order_by("-finished_at")[: self.limit]

    def item_title(self, item):
        return f"{item.cruise.cruise_id} shipment {item.shipment}: {item.files_done} files"

    def item_description(self, item):
        c = item.cruise
        return (
            f"Operator {c.operator.name}, vessel {c.vessel.name}, cruise {c.cruise_id}, shipment {item.shipment}: "
            f"{item.files_done} files, {item.bytes_done} bytes."
        )

    def item_link(self, item):
        return reverse("deliveries:detail", args=[item.pk])

    def item_pubdate(self, item):
        return item.finished_at

    def item_updateddate(self, item):
        return item.finished_at


def feed(request, org_pk: int | None = None):
    if org_pk is not None and not Organisation.objects.filter(pk=org_pk).exists():
        raise Http404("No such operator.")
    return InventoryFeed()(request, org_pk=org_pk) if org_pk is not None else InventoryFeed()(request)
