"""DRF-style package API: the same life cycle as the PASTA paths, with JSON answers."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.submissions import services
from apps.submissions.models import Submission

from .serializers import RevisionDetailSerializer, RevisionSerializer

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


def _payload(request) -> tuple[bytes, list]:
    if request.content_type.startswith("multipart/"):
        upload = request.FILES.get("eml")
        eml = upload.read() if upload is not None else b""
        return eml, [(f.name, f) for f in request.FILES.getlist("data")]
    return request.body, []


class PackageList(ListAPIView):
    """GET: the newest visible revision of each package. POST: create a package (EML body or multipart
    ``eml`` + ``data`` files); answers 202 with the transaction and its status URL."""

    serializer_class = RevisionSerializer
    permission_classes = [AllowAny]  # the Gatekeeper below decides, with an audit event

    def get_queryset(self):
        return access.newest_revisions(self.request.user)

    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.CREATE, "createDataPackage")


def _submit(request, kind: str, method: str) -> Response:
    """The Gatekeeper (with its audit event), then the submission; 202 with the transaction."""
    try:
        services.gatekeeper(request.user, method=method, request=request)
        eml, files = _payload(request)
        sub = services.submit(request.user, eml, kind=kind, files=files, request=request)
    except services.NotAllowed as exc:
        return _refused(exc)
    return _accepted(request, sub)


class Evaluate(APIView):
    permission_classes = [AllowAny]

    @SUBMIT
    def post(self, request):
        return _submit(request, Submission.Kind.EVALUATE, "evaluateDataPackage")


class PackageRevisions(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=RevisionSerializer(many=True), operation_id="api_packages_revisions")
    def get(self, request, scope: str, identifier: int):
        _, revisions = access.get_package_for_user(request.user, scope, identifier)
        return Response(RevisionSerializer(revisions.select_related("package"), many=True).data)

    @SUBMIT
    def put(self, request, scope: str, identifier: int):
        try:
            services.update_gate(request.user, scope, identifier, request=request)
        except services.NotAllowed as exc:
            return _refused(exc)
        eml, files = _payload(request)
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


class RevisionDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=RevisionDetailSerializer)
    def get(self, request, scope: str, identifier: int, revision: int):
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        return Response(RevisionDetailSerializer(rev).data)
