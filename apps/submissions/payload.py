"""The body of an ingest request (PASTA create/update/evaluate and /api/packages/): the EML document and
the data files sent with it.

The ingest views read it only after the Gatekeeper has let the requester in: DRF parses ``request.data``
lazily, the views mark themselves ``authorises_before_body`` so ``RequestLimitsMiddleware`` leaves a
chunked body unread, and no other middleware touches the body of these (CSRF-exempt) views. So an
anonymous or refused request is answered before its body is read, and nothing lands in SCRATCH_DIR.
(One exception, by design of DRF: a browser session's POST is CSRF-checked while it is authenticated, and
that check reads a form body's ``csrfmiddlewaretoken`` — so only a signed-in person's body, never an
anonymous one; token clients are not CSRF-checked.)
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.template.defaultfilters import filesizeformat

from portal.errors import UserError
from portal.middleware import RequestTooLarge, spool_deferred_body

NO_EML_PART = (
    "The multipart body has no part named 'eml': send the EML document as the file part 'eml' "
    "(and data files as parts named 'data'), or send the EML alone as an application/xml body."
)


class AuthorisesBeforeBody:
    """Mixin for the ingest views: RequestLimitsMiddleware defers a chunked body to ``read_payload``."""

    authorises_before_body = True


def eml_limit() -> int:
    """The largest EML document: it is held in memory and stored as text, so Django's in-memory limit."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large_eml(size: int) -> RequestTooLarge:
    limit = eml_limit()
    return RequestTooLarge(
        f"The EML document is {filesizeformat(size)} ({size:,} bytes); the largest EML document accepted "
        f"is {filesizeformat(limit)} ({limit:,} bytes, DATA_UPLOAD_MAX_MEMORY_SIZE). Keep data out of "
        "the EML: describe each table there and send it as a data file or a URL."
    )


def read_payload(request) -> tuple[bytes, list]:
    """``(eml bytes, [(filename, file), ...])`` of an ingest request; call only after the access check.

    ``request`` is DRF's request. A multipart body needs an ``eml`` part (any ``data`` parts are data
    files); any other body is the EML itself. Raises ``UserError`` (400: no ``eml`` part, a malformed
    form) or ``RequestTooLarge`` (413: the EML or the request past its limit), never a 500.
    """
    spool_deferred_body(getattr(request, "_request", request))
    if not request.content_type.startswith("multipart/"):
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > eml_limit():
            raise _too_large_eml(declared)
        return request.body, []
    try:
        upload = request.FILES.get("eml")
        data = [(f.name, f) for f in request.FILES.getlist("data")]
    except RequestDataTooBig as exc:
        raise RequestTooLarge(
            f"The form fields of this request pass {filesizeformat(eml_limit())} "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE); send the EML as the file part 'eml'."
        ) from exc
    except SuspiciousOperation as exc:  # too many fields or files
        raise UserError(f"The multipart body cannot be read: {exc}") from exc
    if upload is None:
        raise UserError(NO_EML_PART)
    if upload.size > eml_limit():
        raise _too_large_eml(upload.size)
    return upload.read(), data
