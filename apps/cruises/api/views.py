"""Cruise API: list and read cruise records, file sailing orders as XML (token auth)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from apps import access
from apps.access import can_see
from apps.audit.services import record_event

from .. import sailing_orders, services
from ..models import Cruise


def cruise_json(c: Cruise) -> dict:
    return {
        "id": c.pk,
        "cruise_id": c.cruise_id,
        "vessel": {"code": c.vessel.code, "name": c.vessel.name},
        "operator": c.operator.name,
        "state": c.state,
        "departure": {
            "port": str(c.departure_port or ""),
            "date": c.departure_date.isoformat() if c.departure_date else None,
        },
        "arrival": {
            "port": str(c.arrival_port or ""),
            "date": c.arrival_date.isoformat() if c.arrival_date else None,
        },
        "mission_summary": c.mission_summary,
        "survey_targets": c.survey_targets,
        "instruments": c.instruments,
        "party": [
            {"name": m.name, "role": m.role, "affiliation": m.affiliation, "orcid": m.orcid}
            for m in c.members.all()
        ],
        "awards": [{"funder": a.funder, "number": a.number, "title": a.title} for a in c.awards.all()],
        "sailing_orders": f"/api/cruises/{c.pk}/sailing-orders.xml",
    }


@extend_schema(methods=["GET"], responses=OpenApiTypes.OBJECT)
@extend_schema(
    methods=["POST"],
    request={"application/xml": OpenApiTypes.STR},
    responses={
        201: OpenApiTypes.OBJECT,
        400: OpenApiResponse(description='{"errors": ["line N: message", ...]}'),
    },
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def cruises(request):
    """GET: cruise records. POST: a sailing-orders XML document as the body (Content-Type application/xml)."""
    if request.method == "GET":
        qs = Cruise.objects.select_related(
            "vessel", "operator", "departure_port", "arrival_port"
        ).prefetch_related("members", "awards")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request)
        return paginator.get_paginated_response([cruise_json(c) for c in page])
    try:
        cruise = services.ingest_sailing_orders(request.body, request.user, source="api", request=request)
    except sailing_orders.SailingOrdersError as exc:
        record_event(
            service="cruises",
            method="ingestSailingOrders",
            text="; ".join(exc.errors)[:2000],
            category="warn",
            status=400,
            request=request,
        )
        return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response(
        cruise_json(cruise),
        status=status.HTTP_201_CREATED,
        headers={"Location": f"/api/cruises/{cruise.pk}/"},
    )


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def cruise_detail(request, pk: int):
    return Response(cruise_json(access.get_cruise_for_user(request.user, pk)))


@extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR})
@api_view(["GET"])
def cruise_xml(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk)
    return HttpResponse(
        sailing_orders.build(cruise, with_emails=can_see(request.user, cruise, "party")),
        content_type="application/xml; charset=utf-8",
    )
