"""PASTA-compatible ingest endpoints under /package/: create, update, evaluate, and what a transaction
left behind (its error, its evaluation report). The read side is apps.packages.pasta.

Answers follow PASTA: create/update/evaluate answer 202 with the transaction id as text/plain; the
error of a failed transaction is at /package/error/eml/{transaction} (404 while there is none).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema

from apps import access
from apps.packages import pasta as read
from apps.packages.pasta import BYTES, TEXT, PastaView, text

from . import services
from .models import Submission

SUBMIT = extend_schema(
    request={"application/xml": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
    responses={(202, "text/plain"): OpenApiTypes.STR},
    tags=["pasta"],
)


def _submit(request, kind: str) -> HttpResponse:
    """Create or evaluate: the Gatekeeper (inside ``submit``), then 202 with the transaction id."""
    try:
        sub = services.submit(
            request.user, _eml_body(request), kind=kind, files=_files(request), request=request
        )
    except services.NotAllowed as exc:
        return refusal(exc)
    return text(sub.transaction, 202)


def refusal(exc: services.NotAllowed) -> HttpResponse:
    response = text(str(exc) + "\n", exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


def _eml_body(request) -> bytes:
    upload = request.FILES.get("eml") if request.content_type.startswith("multipart/") else None
    return upload.read() if upload is not None else request.body


def _files(request):
    if not request.content_type.startswith("multipart/"):
        return []
    return [(f.name, f) for f in request.FILES.getlist("data")]


class CreatePackage(PastaView):
    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.CREATE)


class PackageIdentifier(read.PackageIdentifier):
    """GET lists the package's revision numbers; PUT submits its next revision (the Gatekeeper decides)."""

    @SUBMIT
    def put(self, request, scope: str, identifier: int):
        try:
            services.update_gate(request.user, scope, identifier, request=request)
        except services.NotAllowed as exc:
            return refusal(exc)
        sub = services.submit(
            request.user,
            _eml_body(request),
            kind=Submission.Kind.UPDATE,
            files=_files(request),
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


class Evaluate(PastaView):
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
