"""Errors every app raises, and the one place that turns them into HTTP answers.

Services raise these; views do not catch them by hand:

- ``UserError`` (400): the request cannot be done as asked; the message says what to fix.
- ``Forbidden`` (403): this person may not do this. A ``PermissionDenied``, so Django's 403 page and DRF
  answer it wherever it is raised.
- ``NotFound`` (404): nothing here, or nothing this person may see. An ``Http404`` for the same reason.
- ``Conflict`` (409): the thing is in a state that does not allow this (approved, already closed, …).

API views (DRF) answer through ``api_exception_handler`` (settings ``REST_FRAMEWORK["EXCEPTION_HANDLER"]``):
``{"detail": message}`` with the status. HTML views answer through ``ErrorPagesMiddleware``: a POST from a
page of this site goes back to that page with the message shown on it; anything else gets the error page
with the message and the status.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme


class QuaysideError(Exception):
    """Base of the shared error types; ``status`` is the HTTP status the error answers with."""

    status = 400
    title = "Cannot do that"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UserError(QuaysideError):
    status = 400
    title = "Please check your request"


class Conflict(QuaysideError):
    status = 409
    title = "Not possible now"


class Forbidden(QuaysideError, PermissionDenied):
    status = 403
    title = "Not allowed"


class NotFound(QuaysideError, Http404):
    status = 404
    title = "Not found"


class Gone(QuaysideError):
    """The thing existed and was removed on purpose (a tainted version's bytes): 410."""

    status = 410
    title = "Gone"


# The permission messages every app shows; one wording each.
ONLY_DATA_MANAGERS = "Only data managers may do this."
ONLY_VETTED = "Only members of the vetted group may create or update data packages."
ONLY_NODE_OPERATORS = "Only node operators may do this."
SIGN_IN = "Authentication required: sign in or send 'Authorization: Token <key>'."


def api_exception_handler(exc, context):
    """DRF's handler, plus the shared error types: ``{"detail": message}`` with their status."""
    # Imported here: apps.access imports this module while the app registry loads, and DRF's views
    # module reads the authentication settings, which import the accounts models.
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, (UserError, Conflict, Gone)):
        return Response({"detail": exc.message}, status=exc.status)
    return exception_handler(exc, context)


class ErrorPagesMiddleware:
    """Turns a ``UserError`` or ``Conflict`` escaping an HTML view into a page message (``Forbidden`` and
    ``NotFound`` go to Django's 403/404 pages, with their message, as any ``PermissionDenied``/``Http404``).

    A POST sent from a page of this site goes back to that page with the message on it (the usual
    "form → service → redirect" flow); anything else gets the error page with the status."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        if isinstance(exc, Gone):  # removed on purpose: the page says so, whatever the method
            return render(
                request, "error.html", {"status": 410, "title": exc.title, "message": exc.message}, status=410
            )
        if not isinstance(exc, (UserError, Conflict)):
            return None
        back = request.META.get("HTTP_REFERER", "")
        if request.method == "POST" and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            messages.error(request, exc.message)
            return HttpResponseRedirect(back)
        return render(
            request,
            "error.html",
            {"status": exc.status, "title": exc.title, "message": exc.message},
            status=exc.status,
        )
