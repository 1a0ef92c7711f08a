"""DRF-style package API, the read side: packages, their revisions, a revision's detail. Creating,
updating and evaluating (the same life cycle as the PASTA paths, with JSON answers) is
apps.submissions.api.packages, which extends these views and routes their URLs."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access

from .serializers import RevisionDetailSerializer, RevisionSerializer


class PackageList(ListAPIView):
    """GET: the newest visible revision of each package."""

    serializer_class = RevisionSerializer
    permission_classes = [AllowAny]  # what each user may see is access.newest_revisions's rule

    def get_queryset(self):
        return access.newest_revisions(self.request.user)


class PackageRevisions(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=RevisionSerializer(many=True), operation_id="api_packages_revisions")
    def get(self, request, scope: str, identifier: int):
        _, revisions = access.get_package_for_user(request.user, scope, identifier)
        return Response(RevisionSerializer(revisions.select_related("package"), many=True).data)


class RevisionDetail(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses=RevisionDetailSerializer)
    def get(self, request, scope: str, identifier: int, revision: int):
        rev = access.get_revision_for_user(request.user, scope, identifier, revision)
        return Response(RevisionDetailSerializer(rev).data)
