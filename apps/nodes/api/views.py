"""The node API (docs/nodes.md, the contract in issue 15 §3): a node registers and reports, with its own
token (``Authorization: Bearer qn_…``), never a person's session or API token."""

from __future__ import annotations

import json

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.response import Response

from apps.access.permissions import IsNodeOperator
from portal.errors import UserError
from portal.parsers import json_object

from .. import services
from ..authentication import NodeTokenAuthentication

NODE_API = {"request": OpenApiTypes.OBJECT, "responses": OpenApiTypes.OBJECT}


def _absolute(request, path: str) -> str:
    # The URL the node reached the portal by (a node behind the same proxy as everyone else).
    return request.build_absolute_uri(path)


@extend_schema(**NODE_API)
@api_view(["POST"])
@authentication_classes([NodeTokenAuthentication])
@permission_classes([IsNodeOperator])
def register(request):
    """A node says who it is and what it will hold; the answer says where to read and report."""
    node = services.register(request.auth, json_object(request), request=request)
    sample = "0" * 40  # the template's placeholder goes in after the URL is made absolute (no quoting)
    torrent = _absolute(request, reverse("swarm:by-infohash", kwargs={"infohash": sample}))
    return Response(
        {
            "node": node.pk,
            "name": node.name,
            "catalog_url": _absolute(request, reverse("catalog:stac-parquet")),
            "health_url": _absolute(request, reverse("nodes:health-parquet")),
            "report_url": _absolute(request, reverse("api-nodes-report")),
            "torrent_url": torrent.replace(sample, "{infohash}"),
            "poll_seconds": settings.NODES_POLL_SECONDS,
        }
    )


# A holding is about 110 bytes of JSON; this leaves room for indentation and spaces.
REPORT_BYTES_PER_HOLDING = 256


def _report_body(request) -> dict:
    """The report's JSON object, read here rather than through ``request.data``: DRF reads JSON bodies
    under DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB by default, for forms), and a report of
    NODES_REPORT_MAX_HOLDINGS holdings is larger. Its own bound instead; the node was authenticated first."""
    limit = REPORT_BYTES_PER_HOLDING * settings.NODES_REPORT_MAX_HOLDINGS + 64 * 1024
    stream = request.stream
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise UserError(
            f"holdings: the report is larger than {limit} bytes; send at most "
            f"{settings.NODES_REPORT_MAX_HOLDINGS} holdings."
        )
    try:
        data = json.loads(raw or b"null")
    except (ValueError, RecursionError) as exc:
        raise UserError(f"The report is not JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise UserError("Send a JSON object.")
    return data


@extend_schema(**NODE_API)
@api_view(["POST"])
@authentication_classes([NodeTokenAuthentication])
@permission_classes([IsNodeOperator])
def report(request):
    """A node's holdings replace its last report; ``drop`` lists what it must delete at once."""
    accepted, drop = services.report(request.auth, _report_body(request))
    return Response({"accepted": accepted, "drop": drop})
