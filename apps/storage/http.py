"""Serving blobs over HTTP with Range support (RFC 9110 §14), as BitTorrent web seeds need.

Every download path in Quayside checks access first, then calls ``blob_response``.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

from portal.csp import SANDBOX
from portal.errors import Gone

from . import services
from .models import Blob

logger = logging.getLogger(__name__)

# At most 19 digits (a 64-bit offset): a longer number is no satisfiable range, and int() of a
# 4,300-digit string raises ValueError (Python's int-conversion limit), which used to be a 500.
_RANGE_RE = re.compile(r"^\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$")


class RangeNotSatisfiable(ValueError):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """Return (start, end) inclusive for a single byte range, None to serve the whole body.

    Raises RangeNotSatisfiable for a malformed or unsatisfiable range. Several ranges are answered
    with the whole body (a server may ignore Range; web seeds send one range at a time).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None  # unknown unit: ignore, as RFC 9110 says
    if "," in spec:
        return None
    match = _RANGE_RE.match(spec)
    if not match or (not match.group(1) and not match.group(2)):
        raise RangeNotSatisfiable(header)
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or (last and end < start):
        raise RangeNotSatisfiable(header)
    return start, min(end, size - 1)


def _disposition(filename: str, inline: bool) -> str:
    kind = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def blob_response(
    request: HttpRequest,
    blob: Blob,
    *,
    filename: str | None = None,
    content_type: str = "application/octet-stream",
    inline: bool = False,
) -> HttpResponse:
    """The blob's bytes, honouring Range/If-Range; ETag is the SHA-256 (content never changes).
    Bytes removed on purpose (a tainted version's) answer 410 Gone, Range or not."""
    if blob.removed_at:
        raise Gone("This file was removed.")
    etag = f'"{blob.sha256}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
        response["ETag"] = etag
        return response

    mode = settings.DOWNLOAD_MODE
    if mode == "redirect":
        return HttpResponseRedirect(services.url_for(blob, filename))

    try:
        byte_range = parse_range(request.headers.get("Range", ""), blob.size)
    except RangeNotSatisfiable:
        response = HttpResponse(
            f"Requested range not satisfiable; the object has {blob.size} bytes.\n",
            status=416,
            content_type="text/plain",
        )
        response["Content-Range"] = f"bytes */{blob.size}"
        return response
    if_range = request.headers.get("If-Range")
    if byte_range and if_range and if_range != etag:
        byte_range = None  # the client's copy is of something else: send it all

    if mode == "accel":
        # nginx serves the bytes (and the Range) from its internal location.
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.ACCEL_REDIRECT_PREFIX + blob.key
    else:
        start, end = byte_range if byte_range else (0, blob.size - 1)
        try:
            body = services.iter_range(blob, start, end) if blob.size else iter(())
        except services.BlobNotFound as exc:
            # A row without its object: a fixity incident for the data managers, a 503 for the reader
            # (portal.middleware), never a half-sent 200.
            logger.error("blob %s has a row but no object in the primary tier", blob.sha256)
            raise services.StorageUnavailable(
                "The stored copy of this file cannot be read right now; the data managers have been alerted."
            ) from exc
        response = StreamingHttpResponse(body, content_type=content_type, status=206 if byte_range else 200)
        response["Content-Length"] = str(end - start + 1 if blob.size else 0)
        if byte_range:
            response["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    response["Accept-Ranges"] = "bytes"
    # User-supplied bytes: inert even when declared text/html or image/svg+xml (portal/csp.py).
    response["Content-Security-Policy"] = SANDBOX
    response["X-Content-Type-Options"] = "nosniff"
    response["ETag"] = etag
    response["Digest"] = f"md5={blob.md5}"
    response["Cache-Control"] = "private, max-age=3600" if mode != "accel" else "private"
    if filename:
        response["Content-Disposition"] = _disposition(filename, inline)
    return response


def _span(fh, start: int, length: int, chunk: int = 256 * 1024):
    fh.seek(start)
    try:
        while length > 0:
            block = fh.read(min(chunk, length))
            if not block:
                return
            length -= len(block)
            yield block
    finally:
        fh.close()


def local_file_response(
    request: HttpRequest, path, *, content_type: str, filename: str
) -> HttpResponse | None:
    """A local file with ETag (mtime and size), Last-Modified, single-range Range and HEAD. The open
    descriptor keeps reading the same file even if a new one is renamed over it meanwhile. None when there is no such file
    (the caller decides: 404, or 503 while a first build runs). Used for the files the portal writes and
    serves whole: /catalog/stac.parquet, /swarm/health.parquet, the local mirror."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 (closed by the response or below)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    st = os.fstat(fh.fileno())
    size = st.st_size
    etag = f'"{st.st_mtime_ns:x}-{size:x}"'
    last_modified = http_date(st.st_mtime)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if request.headers.get("If-None-Match") == etag or (
        since is not None and "If-None-Match" not in request.headers and int(st.st_mtime) <= since
    ):
        fh.close()
        response = HttpResponse(status=304)
        response["ETag"], response["Last-Modified"] = etag, last_modified
        return response
    try:
        byte_range = parse_range(request.headers.get("Range", ""), size)
    except RangeNotSatisfiable:
        fh.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range and request.headers.get("If-Range") not in (None, etag):
        byte_range = None
    start, end = byte_range if byte_range else (0, size - 1)
    length = end - start + 1 if size else 0
    if request.method == "HEAD":
        fh.close()
        response = HttpResponse(status=206 if byte_range else 200, content_type=content_type)
    else:
        response = FileResponse(
            _span(fh, start, length), status=206 if byte_range else 200, content_type=content_type
        )
    response["Content-Length"] = str(length)
    if byte_range:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "Content-Range, Content-Length, ETag, Accept-Ranges"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX
    return response
