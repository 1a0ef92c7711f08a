"""PASTA-compatible ingest endpoints under /package/: create, update, evaluate, and what a transaction
left behind (its error, its evaluation report). The read side is apps.packages.pasta.

Answers follow PASTA: create/update/evaluate answer 202 with the transaction id as text/plain; the
error of a failed transaction is at /package/error/eml/{transaction} (404 while there is none).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions

from apps import access
from apps.packages import pasta as read
from apps.packages.pasta import BYTES, TEXT, PastaView, text
from portal.errors import QuaysideError

from . import services
from .models import Submission
from .payload import AuthorisesBeforeBody, read_payload

SUBMIT = extend_schema(
    request={"application/xml": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
    responses={(202, "text/plain"): OpenApiTypes.STR},
    tags=["pasta"],
)


class IngestView(AuthorisesBeforeBody):
    """Create, update and evaluate: the Gatekeeper decides before the body is read (``payload``), and
    every refusal or bad body answers in PASTA's text/plain with its status, never a 500."""

    def handle_exception(self, exc):
        if isinstance(exc, services.NotAllowed):
            return refusal(exc)
        if isinstance(exc, QuaysideError):
            return text(exc.message + "\n", exc.status)
        if isinstance(exc, exceptions.ParseError):
            return text(f"{exc.detail}\n", exc.status_code)
        return super().handle_exception(exc)


def _submit(request, kind: str) -> HttpResponse:
    """Create or evaluate: the Gatekeeper, then the body, then 202 with the transaction id."""
    services.gatekeeper(request.user, method=f"{kind}DataPackage", request=request)
    eml, files = read_payload(request)
    sub = services.submit(request.user, eml, kind=kind, files=files, request=request)
    return text(sub.transaction, 202)


def refusal(exc: services.NotAllowed) -> HttpResponse:
    response = text(str(exc) + "\n", exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


class CreatePackage(IngestView, PastaView):
    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.CREATE)


class PackageIdentifier(IngestView, read.PackageIdentifier):
    """GET lists the package's revision numbers; PUT submits its next revision (the Gatekeeper decides)."""

    @SUBMIT
    def put(self, request, scope: str, identifier: int):
        services.update_gate(request.user, scope, identifier, request=request)
        eml, files = read_payload(request)
        sub = services.submit(
            request.user,
            eml,
            kind=Submission.Kind.UPDATE,
            files=files,
            scope=scope,
            identifier=identifier,
            request=request,
        )
        return text(sub.transaction, 202)


class Error(PastaView):
    @TEXT
    def get(self, request, transaction: str):
        sub = access.get_submission_for_user(request.user, transaction)
        if sub.state != Submission.State.FAILED:
            raise Http404("No error for this transaction (yet).")
        return text(sub.error + "\n")


class Evaluate(IngestView, PastaView):
    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.EVALUATE)


class EvaluateReport(PastaView):
    @BYTES
    def get(self, request, transaction: str):
        sub = access.get_submission_for_user(request.user, transaction)
        if not sub.report_xml:
            raise Http404("The evaluation has not finished.")
        return HttpResponse(sub.report_xml, content_type="application/xml")
