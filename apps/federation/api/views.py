"""The federation API: harvest sources for data managers (list, register, edit/pause), and remote
records for everyone (the search API finds them: /api/search/?origin=remote)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.access import get_remote_record_for_user
from apps.access.permissions import IsDataManager
from portal.errors import UserError

from .. import services
from ..models import HarvestSource

SOURCE_FIELDS = (
    "id",
    "name",
    "base_url",
    "metadata_prefix",
    "set_spec",
    "interval_minutes",
    "state",
    "repository_name",
    "granularity",
    "last_response_date",
    "last_harvest_at",
    "next_harvest_at",
    "last_error",
    "record_count",
    "deleted_count",
    "error_count",
)


def _source(source: HarvestSource) -> dict:
    data = {f: getattr(source, f) for f in SOURCE_FIELDS}
    data["runs"] = [
        {
            "started_at": r.started_at,
            "finished_at": r.finished_at,
            "state": r.state,
            "from": r.from_date,
            "pages": r.pages,
            "records": r.records,
            "deleted": r.deleted,
            "refused": r.rejected,
            "message": r.message,
            "errors": r.errors.splitlines(),
        }
        for r in source.runs.all()[:5]
    ]
    return data


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _minutes(value, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        minutes = int(value)
    except (TypeError, ValueError):
        raise UserError("interval_minutes must be a whole number of minutes.") from None
    if not 1 <= minutes <= 525_600:
        raise UserError("interval_minutes must be between 1 and 525,600 (a year).")
    return minutes


@extend_schema(
    request=OpenApiTypes.OBJECT,
    responses=OpenApiTypes.OBJECT,
    description="GET: the harvest sources. POST {base_url, metadata_prefix, set_spec, name, interval_minutes}: register one (its first harvest is queued).",
)
@api_view(["GET", "POST"])
@permission_classes([IsDataManager])
def sources(request):
    if request.method == "POST":
        data = request.data if isinstance(request.data, dict) else {}
        source = services.register_source(
            base_url=_text(data.get("base_url")),
            metadata_prefix=_text(data.get("metadata_prefix")) or "oai_dc",
            set_spec=_text(data.get("set_spec")),
            name=_text(data.get("name")),
            interval_minutes=_minutes(data.get("interval_minutes"), 60),
            user=request.user,
            request=request,
        )
        return Response(_source(source), status=201)
    return Response({"results": [_source(s) for s in HarvestSource.objects.all()]})


@extend_schema(
    request=OpenApiTypes.OBJECT,
    responses=OpenApiTypes.OBJECT,
    description="GET: one source with its last runs. PATCH {name, set_spec, interval_minutes, state (active|paused)}. POST {action: harvest}: harvest now.",
)
@api_view(["GET", "PATCH", "POST"])
@permission_classes([IsDataManager])
def source(request, pk: int):
    item = get_object_or_404(HarvestSource, pk=pk)
    if request.method == "PATCH":
        data = request.data if isinstance(request.data, dict) else {}
        fields = {k: _text(data[k])[:200] for k in ("name", "set_spec", "state") if k in data}
        if "interval_minutes" in data:
            fields["interval_minutes"] = _minutes(data["interval_minutes"], item.interval_minutes)
        item = services.update_source(item, user=request.user, request=request, **fields)
    elif request.method == "POST":
        if not isinstance(request.data, dict) or request.data.get("action") != "harvest":
            return Response({"errors": ["action must be harvest."]}, status=400)
        services.request_harvest(item, user=request.user, request=request)
        return Response(_source(item), status=202)
    return Response(_source(item))


@extend_schema(
    responses=OpenApiTypes.OBJECT,
    description="One harvested record, with its home, the torrent, magnet link and mirrors its home names, "
    "and its local mirror.",
)
@api_view(["GET"])
@permission_classes([AllowAny])
def remote_record(request, pk: int):
    r = get_remote_record_for_user(request.user, pk)
    mirror = getattr(r, "mirror", None) if hasattr(r, "mirror") else None
    return Response(
        {
            "id": r.pk,
            "home": r.source.home_name,
            "source": r.source.base_url,
            "identifier": r.identifier,
            "datestamp": r.datestamp,
            "deleted": r.deleted,
            "title": r.title,
            "creators": r.creators,
            "dates": r.dates,
            "description": r.description,
            "subjects": r.subjects,
            "identifiers": r.identifiers,
            "doi": r.doi,
            "home_url": r.home_url,
            "rights": r.rights,
            "files": r.files,
            "torrent_url": r.torrent_url or None,
            "magnet": r.magnet or None,
            "home_mirrors": r.home_mirrors,
            "mirror": None
            if mirror is None
            else {
                "state": mirror.state,
                "error": mirror.error,
                "via": mirror.via,
                "infohash": mirror.infohash or None,
                "torrent_url": mirror.torrent_url or None,
                "files": [{"name": f.name, "sha256": f.blob_id, "url": f.url} for f in mirror.files.all()],
            },
        }
    )
