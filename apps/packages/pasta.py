"""PASTA-compatible REST endpoints under /package/, so EDI's client scripts work unchanged: the read
side (listings, metadata, data, reports). The ingest side (create, update, evaluate, a transaction's
error and evaluation report) is apps.submissions.pasta, which also holds the URL conf.

Answers follow PASTA: listings are text/plain, one item per line; metadata, data and reports are the
stored bytes (Range supported).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from apps import access
from apps.access import can_see
from apps.storage.http import blob_response
from apps.storage.services import open_blob
from portal.errors import Gone

from . import quality
from .models import Resource


def text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


TEXT = extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["pasta"])
BYTES = extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, tags=["pasta"])


class PastaView(APIView):
    """DRF for authentication (token or session); the Gatekeeper decides, with an audit event."""

    permission_classes = [AllowAny]

    def handle_exception(self, exc):
        if isinstance(exc, Http404):
            return text(str(exc) or "Not found.\n", 404)
        if isinstance(exc, PermissionDenied):
            return text(str(exc) or "Forbidden.\n", 403)
        if isinstance(exc, Gone):
            return text(f"{exc.message}\n", 410)
        return super().handle_exception(exc)


class PackageScope(PastaView):
    @TEXT
    def get(self, request, scope: str):
        ids = list(
            access.visible_qs(request.user)
            .filter(package__scope=scope)
            .order_by("package__identifier")
            .values_list("package__identifier", flat=True)
            .distinct()
        )
        if not ids:
            raise Http404("No data packages in this scope.")
        return text("".join(f"{i}\n" for i in ids))


class PackageIdentifier(PastaView):
    @TEXT
    def get(self, request, scope: str, identifier: int):
        _, revisions = access.get_package_for_user(request.user, scope, identifier)
        numbers = sorted(revisions.values_list("number", flat=True))
        flt = request.GET.get("filter")
        if flt == "newest":
            numbers = numbers[-1:]
        elif flt == "oldest":
            numbers = numbers[:1]
        return text("".join(f"{n}\n" for n in numbers))


class RevisionResources(PastaView):
    @TEXT
    def get(self, request, scope: str, identifier: int, revision: int):
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        order = {
            Resource.Type.DATA: 0,
            Resource.Type.METADATA: 1,
            Resource.Type.REPORT: 2,
            Resource.Type.DATA_PACKAGE: 3,
        }
        rows = sorted(rev.resources.all(), key=lambda r: (order[r.resource_type], r.eml_entity_id))
        return text("".join(f"{r.resource_id}\n" for r in rows))


class Metadata(PastaView):
    @BYTES
    def get(self, request, scope: str, identifier: int, revision: int):
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        resource = access.get_resource(rev, Resource.Type.METADATA)
        return blob_response(
            request, resource.blob, filename=resource.filename, content_type="application/xml", inline=True
        )


class Data(PastaView):
    @BYTES
    def get(self, request, scope: str, identifier: int, revision: int, entity_id: str):
        # The revision by its metadata; the entity lookup then applies the data rule (via the revision),
        # after answering 410 for bytes removed from storage (tainted).
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        entity = access.get_entity_for_user(request.user, rev, entity_id)
        return blob_response(
            request,
            entity.blob,
            filename=entity.object_name or entity.entity_id,
            content_type=entity.mime_type or "application/octet-stream",
        )


class Report(PastaView):
    @BYTES
    def get(self, request, scope: str, identifier: int, revision: int):
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        resource = access.get_resource(rev, Resource.Type.REPORT)
        if not can_see(request.user, resource, "metadata"):
            raise Http404("No such report.")
        if not can_see(request.user, rev, "data"):  # held: what the data checks quote stays hidden
            with open_blob(resource.blob) as fh:
                body = quality.without_data(fh.read())
            return HttpResponse(body, content_type="application/xml")
        return blob_response(
            request, resource.blob, filename=resource.filename, content_type="application/xml", inline=True
        )
