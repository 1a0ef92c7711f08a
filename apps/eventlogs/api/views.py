"""Event-log API for science software: the same validation as the web form, idempotent POST."""

import datetime

from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from apps import access
from apps.access import can_see

from .. import services
from ..models import EventLog


class EntryIn(serializers.Serializer):
    """What science software sends (validated by apps.eventlogs.services.validate_entry)."""

    instrument = serializers.CharField(help_text="An instrument code of the vocabulary, e.g. CTD")
    action = serializers.CharField(help_text="One of the instrument's actions, or 'amendment'")
    idempotency_key = serializers.CharField(
        required=False,
        max_length=64,
        help_text="Unique per log; a retry with the same key returns the first entry",
    )
    time = serializers.DateTimeField(required=False, help_text="UTC, ISO 8601; default now")
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    station = serializers.CharField(required=False, allow_blank=True)
    cast = serializers.CharField(required=False, allow_blank=True)
    comment = serializers.CharField(required=False, allow_blank=True)
    amends = serializers.CharField(
        required=False, help_text="Event id an amendment corrects, e.g. RR2401-0007"
    )


class EntryOut(serializers.Serializer):
    event_id = serializers.CharField()
    number = serializers.IntegerField()
    idempotency_key = serializers.CharField()
    time = serializers.DateTimeField()
    latitude = serializers.FloatField(allow_null=True)
    longitude = serializers.FloatField(allow_null=True)
    station = serializers.CharField()
    cast = serializers.CharField()
    instrument = serializers.CharField()
    action = serializers.CharField()
    author = serializers.CharField()
    comment = serializers.CharField()
    amendment = serializers.BooleanField()


FIELDS = (
    "idempotency_key",
    "time",
    "latitude",
    "longitude",
    "station",
    "cast",
    "instrument",
    "action",
    "comment",
    "amends",
)


def event_json(e) -> dict:
    return {
        "event_id": e.event_id,
        "number": e.number,
        "idempotency_key": e.idempotency_key,
        "time": e.time.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "latitude": e.latitude,
        "longitude": e.longitude,
        "station": e.station,
        "cast": e.cast,
        "instrument": e.instrument,
        "action": e.action,
        "author": e.author_name,
        "comment": e.comment,
        "amendment": e.is_amendment,
    }


@extend_schema(
    methods=["GET"],
    responses=inline_serializer(  # a page, as PageNumberPagination answers it
        name="PaginatedEntryOutList",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": EntryOut(many=True),
        },
    ),
)
@extend_schema(
    methods=["POST"],
    request=PolymorphicProxySerializer(
        component_name="EntryOrEntries",
        serializers=[EntryIn, EntryIn(many=True)],
        resource_type_field_name=None,
        many=False,
    ),
    responses={
        201: EntryOut,
        200: OpenApiResponse(
            EntryOut,
            description="repeated idempotency key: the first entry; "
            "for an array, {created, repeated, refused, results: [{status, entry | errors}]}",
        ),
        400: OpenApiResponse(description="{errors: {field: [messages]}}"),
    },
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def entries(request, cruise_pk: int):
    """GET: entries (oldest first, paginated). POST: one entry; ``idempotency_key`` makes retries safe
    (201 for a new entry, 200 with the first entry for a repeated key). POST a JSON array of entries
    (at most 500) to send many at once: 200 with ``results``, one ``{status, entry | errors}`` each, in
    order, and the counts ``created``, ``repeated``, ``refused``."""
    cruise = access.get_cruise_for_user(
        request.user, cruise_pk, joined=False, eventlog_writer=request.method == "POST"
    )
    if request.method == "GET":
        log = EventLog.objects.filter(cruise=cruise).first()
        if log is None:
            raise NotFound("This cruise has no event log yet.")
        if not can_see(request.user, log):
            raise PermissionDenied("The event log is readable by the cruise's people until it is closed.")
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(log.events.order_by("number"), request)
        return paginator.get_paginated_response([event_json(e) for e in page])
    data = request.data
    if isinstance(data, list):
        return _post_batch(request, cruise, data)
    if not hasattr(data, "get"):
        return Response(
            {"errors": {"__all__": ["Send a JSON object (one entry) or a JSON array of them."]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    try:
        event, created = services.add_entry(
            cruise, request.user, {k: data.get(k) for k in FIELDS}, request=request
        )
    except services.EventLogError as exc:
        return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    return Response(event_json(event), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


MAX_BATCH = 500


def _post_batch(request, cruise, items: list):
    """Many entries in one request — a ship's logger or the page's offline queue flushing what it kept
    while the link was down: one round trip on a satellite link instead of one per entry. Each entry
    stands alone (its own idempotency key and answer, in order); the request is refused as a whole
    only for a writer who may not write or for too many entries."""
    if len(items) > MAX_BATCH:
        return Response(
            {"errors": {"__all__": [f"At most {MAX_BATCH} entries a request; send the rest in another."]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    fields = [{k: item.get(k) for k in FIELDS} if isinstance(item, dict) else item for item in items]
    answers = services.add_entries(cruise, request.user, fields, request=request)  # Forbidden → 403
    results = [
        {"status": 400, "errors": a.errors}
        if isinstance(a, services.EventLogError)
        else {"status": 201 if a[1] else 200, "entry": event_json(a[0])}
        for a in answers
    ]
    counts = {
        "created": sum(r["status"] == 201 for r in results),
        "repeated": sum(r["status"] == 200 for r in results),
    }
    counts["refused"] = len(results) - counts["created"] - counts["repeated"]
    return Response({**counts, "results": results}, status=status.HTTP_200_OK)
