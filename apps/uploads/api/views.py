"""The tus 1.0.0 endpoint: ``/api/uploads/`` (OPTIONS, POST creates, GET lists your uploads) and
``/api/uploads/<id>`` (HEAD, PATCH, DELETE; GET answers its state as JSON).

Two DRF ``APIView`` classes rather than function views: tus dispatches by method on one URL, answers
OPTIONS itself (DRF's would describe a serializer), and honours ``X-HTTP-Method-Override`` (POST sent as
PATCH/DELETE through proxies that allow only GET and POST), which is a change to ``dispatch``. DRF gives
both the API token and the browser session (with its CSRF check) and the shared error handling.

What the protocol asks of every answer is done in ``TusView.finalize_response``: ``Tus-Resumable`` on
every response, ``Tus-Version`` on a 412, no body for HEAD, ``Cache-Control: no-store``. Refusals are
``tus.TusError`` (400, 409, 410, 412, 413, 415, 423, 460) and the shared errors (403, 404), all answered
``{"detail": message}``. Left out of the OpenAPI schema: the tus specification (tus.io) describes it, in
headers that OpenAPI cannot express, and docs/uploads.md documents it.
"""

from __future__ import annotations

import base64

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.storage import scratch
from portal.errors import SIGN_IN
from portal.middleware import scratch_full

from .. import services, tus
from ..models import Upload

REASONS = {460: "Checksum Mismatch", 423: "Locked"}


class OffsetOctetStream(BaseParser):
    """Lets a PATCH (or a POST with creation-with-upload) through DRF without reading its body: the view
    streams it to disk itself. Without a parser for this type DRF's CSRF check of a session request
    (which looks at ``request.POST``) would answer 415."""

    media_type = tus.CONTENT_TYPE

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class SignedInExceptOptions(BasePermission):
    message = SIGN_IN

    def has_permission(self, request, view):
        # tus clients (and browsers' CORS preflight) ask OPTIONS before they authenticate.
        return request.method == "OPTIONS" or bool(request.user and request.user.is_authenticated)


def _absolute(request, upload: Upload) -> str:
    return request.build_absolute_uri(reverse("api-upload", kwargs={"pk": upload.pk}))


def _as_json(request, upload: Upload) -> dict:
    return {
        "id": str(upload.pk),
        "url": _absolute(request, upload),
        "filename": upload.filename,
        "relative_path": upload.relative_path,
        "target": upload.target,
        "length": upload.length,
        "offset": upload.offset,
        "state": "expired" if upload.is_expired else upload.state,
        "state_label": "Expired" if upload.is_expired else upload.get_state_display(),
        "error": upload.error,
        "result": upload.result,
        "blob": upload.blob_id,
        "created_at": upload.created_at,
        "expires_at": upload.expires_at,
        "finished_at": upload.finished_at,
    }


def _offset_headers(response: HttpResponse, upload: Upload) -> HttpResponse:
    response["Upload-Offset"] = str(upload.offset)
    if upload.state == Upload.State.RECEIVING:
        response["Upload-Expires"] = tus.expires_header(upload.expires_at)
    return response


def _body(request) -> tuple[object, int | None]:
    """The body stream and its length; a chunked body (gunicorn de-chunks it and ends the input) is read
    until its end. ``RequestLimitsMiddleware`` leaves such a body to this view (``authorises_before_body``)."""
    django_request = request._request
    declared = django_request.META.get("CONTENT_LENGTH")
    if declared:
        return django_request, int(declared)
    if django_request.META.get("wsgi.input_terminated") and "chunked" in django_request.headers.get(
        "Transfer-Encoding", ""
    ):
        return django_request.META["wsgi.input"], None
    return django_request, 0


def _receive(request, upload: Upload, offset: int) -> Upload:
    if request.content_type.split(";")[0].strip() != tus.CONTENT_TYPE:
        raise tus.TusError(f"Send the bytes with Content-Type: {tus.CONTENT_TYPE}.", 415)
    header = request.headers.get("Upload-Checksum")
    checksum = tus.parse_checksum(header) if header else None
    stream, length = _body(request)
    return services.receive(upload, offset=offset, stream=stream, length=length, checksum=checksum)


class TusView(APIView):
    parser_classes = [OffsetOctetStream]
    permission_classes = [SignedInExceptOptions]
    # RequestLimitsMiddleware leaves a chunked body unread for this view (it streams it to disk).
    authorises_before_body = True

    def dispatch(self, request, *args, **kwargs):
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if request.method == "POST" and override in tus.METHODS_OVERRIDDEN:
            request.method = override
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permission first
        if request.method not in ("OPTIONS", "GET"):
            got = request.headers.get("Tus-Resumable")
            if got != tus.VERSION:
                raise tus.version_mismatch(got)

    def handle_exception(self, exc):
        if isinstance(exc, scratch.ScratchFull):
            return scratch_full(self.request._request, str(exc))
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method == "HEAD" and isinstance(response, Response):  # an error's JSON: no body for HEAD
            bare = HttpResponse(status=response.status_code)
            for name, value in response.items():
                if name.lower() not in ("content-type", "content-length", "vary", "allow"):
                    bare[name] = value
            response = bare
        response["Tus-Resumable"] = tus.VERSION
        response["Cache-Control"] = "no-store"
        if response.status_code == 412:
            response["Tus-Version"] = tus.VERSION
        if response.status_code in REASONS:
            response.reason_phrase = REASONS[response.status_code]
        return response

    def options(self, request, *args, **kwargs):
        response = HttpResponse(status=204)
        response["Tus-Version"] = tus.VERSION
        response["Tus-Extension"] = tus.EXTENSIONS
        response["Tus-Max-Size"] = str(settings.UPLOADS_MAX_SIZE)
        response["Tus-Checksum-Algorithm"] = ",".join(tus.CHECKSUM_ALGORITHMS)
        return response


@extend_schema(exclude=True)
class UploadCollection(TusView):
    def get(self, request):
        """Your uploads, newest first (the /uploads/ page as JSON)."""
        uploads = Upload.objects.filter(user=request.user)[:200]
        return Response({"results": [_as_json(request, u) for u in uploads]})

    def post(self, request):
        """tus creation (and creation-with-upload: a body is the first bytes)."""
        if request.headers.get("Upload-Defer-Length"):
            raise tus.TusError("Upload-Defer-Length is not supported: send Upload-Length.", 400)
        length = tus.parse_length(request.headers.get("Upload-Length"), "Upload-Length")
        if length is None:
            raise tus.TusError("Upload-Length is required (the size of the whole file in bytes).", 400)
        metadata = tus.parse_metadata(request.headers.get("Upload-Metadata", ""))
        _, declared = _body(request)
        if declared and request.content_type.split(";")[0].strip() != tus.CONTENT_TYPE:
            raise tus.TusError(f"Send the first bytes with Content-Type: {tus.CONTENT_TYPE}.", 415)
        upload = services.create_upload(request.user, length=length, metadata=metadata, request=request)
        response = HttpResponse(status=201)
        response["Location"] = _absolute(request, upload)
        if declared or declared is None:
            try:
                upload = _receive(request, upload, 0)
            except tus.TusError as exc:
                response = Response({"detail": exc.message}, status=exc.status)
                response["Location"] = _absolute(request, upload)
                return response
        if upload.state == Upload.State.RECEIVING:
            response["Upload-Expires"] = tus.expires_header(upload.expires_at)
        if declared or declared is None:
            response["Upload-Offset"] = str(upload.offset)
        return response


@extend_schema(exclude=True)
class UploadDetail(TusView):
    def get(self, request, pk):
        """The upload's state as JSON (offset, length, where the worker placed it, or why it failed)."""
        return Response(_as_json(request, access.get_upload_for_user(request.user, pk)))

    def head(self, request, pk):
        upload = access.get_upload_for_user(request.user, pk)
        if upload.is_gone:
            return HttpResponse(status=410)
        response = _offset_headers(HttpResponse(status=200), upload)
        response["Upload-Length"] = str(upload.length)
        if upload.metadata:
            response["Upload-Metadata"] = ",".join(
                f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in upload.metadata.items()
            )
        return response

    def patch(self, request, pk):
        upload = access.get_upload_for_user(request.user, pk)
        offset = tus.parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
        if offset is None:
            raise tus.TusError("Upload-Offset is required (ask HEAD for it).", 400)
        upload = _receive(request, upload, offset)
        return _offset_headers(HttpResponse(status=204), upload)

    def delete(self, request, pk):
        upload = access.get_upload_for_user(request.user, pk)
        services.cancel_upload(upload, request=request)
        return HttpResponse(status=204)
