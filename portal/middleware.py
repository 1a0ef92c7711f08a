"""Request-size limits and storage outages, answered as clear errors."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat

from apps.storage import scratch
from apps.storage.services import StorageUnavailable

SPOOL_CHUNK = 1024 * 1024


def _wants_json(request) -> bool:
    return request.path_info.startswith(
        ("/api/", "/package/", "/oai")
    ) or "application/json" in request.headers.get("Accept", "")


def error_response(request, status: int, title: str, message: str):
    if _wants_json(request):
        return JsonResponse({"error": title, "detail": message, "status": status}, status=status)
    return render(
        request, "error.html", {"status": status, "title": title, "message": message}, status=status
    )


def request_limit() -> int:
    """The largest request body: one file of MAX_UPLOAD_SIZE plus the form fields around it."""
    return settings.MAX_UPLOAD_SIZE + settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large(request, what: str, size: int | None = None):
    limit = settings.MAX_UPLOAD_SIZE
    said = (
        f"{what} is {filesizeformat(size)} ({size:,} bytes)" if size is not None else f"{what} is too large"
    )
    return error_response(
        request,
        413,
        "Upload too large",
        f"{said}; the largest file accepted is {filesizeformat(limit)} ({limit:,} bytes). "
        "Split the data into several files, or ask a data manager about a bulk transfer.",
    )


def scratch_full(request, message: str):
    return error_response(request, 507, "Insufficient storage", message)


class RequestLimitsMiddleware:
    """Refuse oversized requests with 413, requests the scratch disk cannot hold with 507, and map
    storage outages to 503.

    Three checks, from cheapest to last resort: a declared Content-Length over the limit is refused
    before any byte is read; a chunked body (no Content-Length; gunicorn de-chunks it and says so
    with ``wsgi.input_terminated``) is spooled to a temporary file and refused as soon as it passes the
    limit; and the upload handler (``portal.uploads``) stops any single file over MAX_UPLOAD_SIZE as it
    streams in. A StorageUnavailable raised by a service becomes a 503 page: the service raised inside
    its transaction, so nothing was half-written.

    Scratch space is checked first too: a body that would be spooled to SCRATCH_DIR (larger than
    FILE_UPLOAD_MAX_MEMORY_SIZE) and would leave less than SCRATCH_MIN_FREE_BYTES free is refused with 507
    before any byte is read; a disk that fills up anyway while the body streams in gives the same 507
    (``portal.uploads``), with the partial file closed and removed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                length = 0
            if length > request_limit():
                return too_large(request, "This request", length)
            if length > settings.FILE_UPLOAD_MAX_MEMORY_SIZE:
                try:
                    scratch.check_free_space(length, "this upload")
                except scratch.ScratchFull as exc:
                    return scratch_full(request, str(exc))
        elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            refused = self._spool_chunked_body(request)
            if refused is not None:
                return refused
        response = self.get_response(request)
        refused_upload = getattr(request, "upload_refused", None)
        if refused_upload is not None:
            return too_large(request, refused_upload)
        refused_storage = getattr(request, "upload_refused_storage", None)
        if refused_storage is not None:
            return scratch_full(request, refused_storage)
        return response

    def _spool_chunked_body(self, request):
        """Django's WSGI request reads no body without a Content-Length; give it one, bounded."""
        if not request.META.get("wsgi.input_terminated"):
            return None  # a server that does not end the input for us (runserver): nothing to read safely
        limit = request_limit()
        source = request.META["wsgi.input"]
        try:
            scratch.check_free_space(0, "this upload")
            spool = tempfile.TemporaryFile(dir=settings.SCRATCH_DIR, prefix="chunked-")  # unlinked already
        except scratch.ScratchFull as exc:
            return scratch_full(request, str(exc))
        total = 0
        try:
            while block := source.read(SPOOL_CHUNK):
                total += len(block)
                if total > limit:
                    spool.close()
                    return too_large(request, "This request", None)
                spool.write(block)
        except OSError as exc:
            spool.close()
            if scratch.is_disk_full(exc):
                return scratch_full(request, scratch.full_message("this upload"))
            raise
        spool.seek(0)
        request.META["CONTENT_LENGTH"] = str(total)
        request._stream = LimitedStream(spool, total)
        request._chunked_spool = spool  # closed (and gone) with the request
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, scratch.ScratchFull):
            return scratch_full(request, str(exception))
        if scratch.is_disk_full(exception):
            return scratch_full(request, scratch.full_message("this upload"))
        if isinstance(exception, StorageUnavailable):
            return error_response(
                request,
                503,
                "Storage unavailable",
                "Object storage cannot be reached right now; nothing was saved. Please try again in a few minutes.",
            )
        return None
