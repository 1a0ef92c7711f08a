"""The package API's ingest side: create (POST /api/packages/), update (PUT /api/packages/{scope}/{id}/)
and evaluate, with JSON answers. The read side is apps.packages.api.views; the views here extend it so
each URL keeps one view."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.packages.api import views as read

from .. import services
from ..models import Submission
from ..payload import AuthorisesBeforeBody, read_payload

SUBMIT = extend_schema(
    request={"application/xml": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
    responses={202: OpenApiTypes.OBJECT},
)


def _accepted(request, sub: Submission) -> Response:
    return Response(
        {
            "transaction": sub.transaction,
            "state": sub.state,
            "status": request.build_absolute_uri(reverse("submissions-api-detail", args=[sub.transaction])),
        },
        status=http.HTTP_202_ACCEPTED,
    )


def _refused(exc: services.NotAllowed) -> Response:
    response = Response({"detail": str(exc)}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


def _submit(request, kind: str, method: str) -> Response:
    """The Gatekeeper (with its audit event), then the body, then the submission; 202 with the transaction."""
    try:
        services.gatekeeper(request.user, method=method, request=request)
    except services.NotAllowed as exc:
        return _refused(exc)
    eml, files = read_payload(request)
    sub = services.submit(request.user, eml, kind=kind, files=files, request=request)
    return _accepted(request, sub)


class PackageList(AuthorisesBeforeBody, read.PackageList):
    """GET: the newest visible revision of each package. POST: create a package (EML body or multipart
    ``eml`` + ``data`` files); answers 202 with the transaction and its status URL."""

    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.CREATE, "createDataPackage")


class Evaluate(AuthorisesBeforeBody, APIView):
    permission_classes = [AllowAny]

    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.EVALUATE, "evaluateDataPackage")


class PackageRevisions(AuthorisesBeforeBody, read.PackageRevisions):
    """GET: a package's visible revisions. PUT: submit its next revision (202 with the transaction)."""

    @SUBMIT
    def put(self, request, scope: str, identifier: int):
        try:
            services.update_gate(request.user, scope, identifier, request=request)
        except services.NotAllowed as exc:
            return _refused(exc)
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
        return _accepted(request, sub)
