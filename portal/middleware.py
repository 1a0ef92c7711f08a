"""Request-size limits and storage outages, answered as clear errors."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve

from apps.storage import scratch
from apps.storage.services import StorageUnavailable
from portal.errors import UserError

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


class RequestTooLarge(UserError):
    """A body past a limit, refused with 413 and a message that names the limit."""

    status = 413
    title = "Upload too large"


def too_large_message(what: str, size: int | None = None) -> str:
    limit = settings.MAX_UPLOAD_SIZE
    said = (
        f"{what} is {filesizeformat(size)} ({size:,} bytes)" if size is not None else f"{what} is too large"
    )
    return (
        f"{said}; the largest file accepted is {filesizeformat(limit)} ({limit:,} bytes). "
        "Split the data into several files, or ask a data manager about a bulk transfer."
    )


def too_large(request, what: str, size: int | None = None):
    return error_response(request, 413, RequestTooLarge.title, too_large_message(what, size))


def scratch_full(request, message: str):
    return error_response(request, 507, "Insufficient storage", message)


def authorises_before_body(request) -> bool:
    """Does the view of this path decide who is asking before it reads the body (``authorises_before_body``
    on its class)? Such a view calls ``spool_deferred_body`` once the requester may send one."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    return bool(getattr(view_class, "authorises_before_body", False))


def spool_deferred_body(request) -> None:
    """Read the chunked body that RequestLimitsMiddleware left unread for a view that authorises first.

    Call after the access check; does nothing for any other request. Raises ``RequestTooLarge`` when
    the body passes the limit, ``scratch.ScratchFull`` when the scratch disk cannot hold it (507)."""
    if not getattr(request, "_chunked_body_deferred", False):
        return
    request._chunked_body_deferred = False
    _spool_chunked_body(request)
    # A CSRF check may have parsed the (then empty) form already; parse it again from the spool.
    for cached in ("_post", "_files"):
        request.__dict__.pop(cached, None)


def _spool_chunked_body(request) -> None:
    """Django's WSGI request reads no body without a Content-Length; give it one, bounded. Raises
    ``RequestTooLarge`` past the limit and ``scratch.ScratchFull`` on a full scratch disk (nothing kept)."""
    limit = request_limit()
    source = request.META["wsgi.input"]
    scratch.check_free_space(0, "this upload")
    spool = tempfile.TemporaryFile(dir=settings.SCRATCH_DIR, prefix="chunked-")  # unlinked already
    total = 0
    try:
        while block := source.read(SPOOL_CHUNK):
            total += len(block)
            if total > limit:
                spool.close()
                raise RequestTooLarge(too_large_message("This request"))
            spool.write(block)
    except OSError as exc:
        spool.close()
        if scratch.is_disk_full(exc):
            raise scratch.ScratchFull(scratch.full_message("this upload")) from exc
        raise
    spool.seek(0)
    request.META["CONTENT_LENGTH"] = str(total)
    request._stream = LimitedStream(spool, total)
    request._chunked_spool = spool  # closed (and gone) with the request


class RequestLimitsMiddleware:
    """Refuse oversized requests with 413, requests the scratch disk cannot hold with 507, and map
    storage outages to 503.

    Three checks, from cheapest to last resort: a declared Content-Length over the limit is refused
    before any byte is read; a chunked body (no Content-Length; gunicorn de-chunks it and says so
    with ``wsgi.input_terminated``) is spooled to a temporary file and refused as soon as it passes the
    limit — except for a view that decides who is asking first (``authorises_before_body``: the ingest
    paths), which spools it after that check, so nobody's body is read before they may send one; and
    the upload handler (``portal.uploads``) stops any single file over MAX_UPLOAD_SIZE as it
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
            # A server that does not end the input for us (runserver) gives nothing to read safely.
            if request.META.get("wsgi.input_terminated"):
                if authorises_before_body(request):
                    request._chunked_body_deferred = True
                else:
                    try:
                        _spool_chunked_body(request)
                    except RequestTooLarge:
                        return too_large(request, "This request", None)
                    except scratch.ScratchFull as exc:
                        return scratch_full(request, str(exc))
        response = self.get_response(request)
        refused_upload = getattr(request, "upload_refused", None)
        if refused_upload is not None:
            return too_large(request, refused_upload)
        refused_storage = getattr(request, "upload_refused_storage", None)
        if refused_storage is not None:
            return scratch_full(request, refused_storage)
        return response

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
