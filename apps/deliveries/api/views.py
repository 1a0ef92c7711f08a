"""Delivery API (token auth): register a drop folder or S3 prefix, follow the inventory's progress, read the
inventory, raise flags."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from apps import access
from portal.errors import Forbidden, UserError
from portal.parsers import json_object

from .. import services
from ..models import Delivery, Flag


def delivery_json(delivery: Delivery, user) -> dict:
    """The shape ``manage.py deliver --wait`` prints too (``shipment``, ``files``, ``bytes``, ``state``,
    ``inventory_url``, ``hashdeep_url``, ``errors``), plus progress and the reports."""
    cruise = delivery.cruise
    base = settings.SITE_BASE_URL
    progress = delivery.progress()
    return {
        "id": delivery.pk,
        "cruise": cruise.pk,
        "cruise_id": cruise.cruise_id,
        "operator": cruise.operator.name,
        "vessel": cruise.vessel.name,
        "shipment": delivery.shipment,
        "method": delivery.method,
        "state": delivery.state,
        "files": delivery.files_done,
        "bytes": delivery.bytes_done,
        "progress": progress,
        "inventory_url": base + reverse("deliveries:detail", args=[delivery.pk]),
        "csv_url": base + reverse("deliveries:csv", args=[delivery.pk]),
        "hashdeep_url": base + reverse("deliveries:hashdeep", args=[delivery.pk]),
        "errors": delivery.errors,
        "refused": delivery.refused,
        "manifests": delivery.manifests,
        "checksums_visible": services.checksums_visible(user, delivery),
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
    }


@extend_schema(responses=OpenApiTypes.OBJECT, request=OpenApiTypes.OBJECT)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def deliveries(request):
    """GET: deliveries (``?cruise=<number>``). POST ``{"cruise": number or cruise id, "source": "/path or s3://bucket/prefix",
    "shipment": "optional id"}``: register one (the cruise's operator or a data manager) and queue its
    inventory; 201 with the delivery."""
    if request.method == "GET":
        qs = Delivery.objects.select_related("cruise__vessel", "cruise__operator")
        if request.query_params.get("cruise"):
            qs = qs.filter(cruise_id=_int(request.query_params["cruise"], "cruise"))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request)
        return paginator.get_paginated_response([delivery_json(d, request.user) for d in page])
    cruise = _cruise(request.user, json_object(request).get("cruise"))
    delivery = services.register_delivery(
        request.user,
        cruise,
        str(json_object(request).get("source") or ""),
        shipment=str(json_object(request).get("shipment") or ""),
        request=request,
    )
    return Response(
        delivery_json(delivery, request.user),
        status=status.HTTP_201_CREATED,
        headers={"Location": reverse("api-delivery", args=[delivery.pk])},
    )


def _cruise(user, value):
    """The cruise by its number in Quayside or its cruise id (``RR2401``, the newest of that id)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return access.get_cruise_for_user(user, int(value))
    from apps.cruises.models import Cruise

    pk = (
        Cruise.objects.filter(cruise_id=str(value or ""))
        .order_by("-created_at")
        .values_list("pk", flat=True)
        .first()
    )
    if pk is None:
        raise UserError("'cruise' must name a cruise: its number or its cruise id.")
    return access.get_cruise_for_user(user, pk)


def _int(value, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UserError(f"'{name}' must be a number.") from None


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def delivery_detail(request, pk: int):
    """One delivery with its live progress (files and bytes done, rate, time left)."""
    return Response(delivery_json(access.get_delivery_for_user(request.user, pk), request.user))


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def delivery_files(request, pk: int):
    """The inventory, paginated (``?folder=&instrument_class=&page=``); checksums empty during a hold."""
    delivery = access.get_delivery_for_user(request.user, pk)
    sums = services.checksums_visible(request.user, delivery)
    qs = services.files(
        delivery,
        folder=request.query_params.get("folder", ""),
        instrument_class=request.query_params.get("instrument_class", ""),
    )
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(qs, request)
    return paginator.get_paginated_response(
        [
            {
                "path": f.path,
                "size": f.size,
                "modified": f.modified_at,
                "md5": f.md5 if sums else None,
                "sha1": (f.sha1 or None) if sums else None,  # computed only for SHA-1 manifests
                "sha256": f.sha256 if sums else None,
                "status": f.status,
                "instrument_class": f.instrument_class,
                "manifest_check": f.manifest_check,
            }
            for f in page
        ]
    )


def flag_json(flag: Flag) -> dict:
    return {
        "id": flag.pk,
        "kind": flag.kind,
        "target": flag.target,
        "comment": flag.comment,
        "state": flag.state,
        "answer": flag.answer,
        "raised_at": flag.raised_at,
        "answered_at": flag.answered_at,
        "closed_at": flag.closed_at,
    }


@extend_schema(responses=OpenApiTypes.OBJECT, request=OpenApiTypes.OBJECT)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def delivery_flags(request, pk: int):
    """GET: the flags of a delivery. POST ``{"kind": "file|folder|instrument_class", "target": …,
    "comment": …}``: flag missing or wrong data (the operator, the chief scientist, a data manager)."""
    delivery = access.get_delivery_for_user(request.user, pk)
    if request.method == "GET":
        # Reviewers' notes are the cruise's people's business (they may talk about held data).
        if not access.is_cruise_party(request.user, delivery.cruise):
            raise Forbidden("Only the cruise's people and data managers read its flags.")
        return Response([flag_json(f) for f in delivery.flags.all()])
    flag = services.raise_flag(
        request.user,
        delivery,
        kind=str(json_object(request).get("kind") or ""),
        target=str(json_object(request).get("target") or ""),
        comment=str(json_object(request).get("comment") or ""),
        request=request,
    )
    return Response(flag_json(flag), status=status.HTTP_201_CREATED)
