"""Publishing API: the DOI queue, "retry now" and withdrawal for data managers; DOI status for everyone."""

from __future__ import annotations

from django.db.models import F, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.access.permissions import IsDataManager
from apps.packages.models import Revision

from .. import services
from ..crosswalks import metadata
from ..models import Doi


class DoiSerializer(serializers.ModelSerializer):
    package_id = serializers.SerializerMethodField()

    class Meta:
        model = Doi
        fields = [
            "id",
            "doi",
            "kind",
            "package_id",
            "state",
            "target_state",
            "needs_update",
            "attempts",
            "last_error",
            "last_attempt_at",
            "next_try_at",
            "registered_at",
        ]

    def get_package_id(self, obj) -> str:
        return obj.revision.package_id_text if obj.revision_id else str(obj.package)


class DoiQueueApi(APIView):
    """DOIs out of step with DataCite (``?show=all`` for every DOI), oldest next try first."""

    permission_classes = [IsDataManager]

    @extend_schema(responses=inline_serializer("DoiQueue", {"results": DoiSerializer(many=True)}))
    def get(self, request):
        qs = Doi.objects.select_related("package", "revision__package").order_by("next_try_at", "-created_at")
        if request.query_params.get("show") != "all":
            qs = qs.filter(~Q(state=F("target_state")) | Q(needs_update=True))
        return Response({"results": DoiSerializer(qs[:500], many=True).data})


class DoiRetryApi(APIView):
    permission_classes = [IsDataManager]

    @extend_schema(request=None, responses={202: DoiSerializer})
    def post(self, request, pk: int):
        doi = services.retry_now(get_object_or_404(Doi, pk=pk), user=request.user, request=request)
        return Response(DoiSerializer(doi).data, status=202)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    category = serializers.ChoiceField(
        choices=Revision.WithdrawalCategory.choices, default=Revision.WithdrawalCategory.OTHER
    )


class WithdrawApi(APIView):
    permission_classes = [IsDataManager]

    @extend_schema(
        request=WithdrawSerializer,
        responses={
            200: inline_serializer(
                "Withdrawn",
                {
                    "package_id": serializers.CharField(),
                    "state": serializers.CharField(),
                    "tombstone": serializers.URLField(),
                },
            ),
            409: OpenApiResponse(description="the version is not published"),
        },
    )
    def post(self, request, scope: str, identifier: int, number: int):
        form = WithdrawSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        revision, _ = access.get_dataset_version_for_user(
            request.user, scope, identifier, number, queryset=metadata.with_record_relations(Revision.objects)
        )
        try:
            revision = services.withdraw(
                revision,
                reason=form.validated_data["reason"],
                category=form.validated_data["category"],
                user=request.user,
                request=request,
            )
        except services.PublishingError as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(
            {
                "package_id": revision.package_id_text,
                "state": revision.state,
                "tombstone": metadata.absolute(metadata.version_path(revision)),
            }
        )


class TaintSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="kept in the audit log, never shown publicly")
    whole_dataset = serializers.BooleanField(default=False, help_text="taint every version of the dataset")


class TaintApi(APIView):
    """Taint a version (or, with ``whole_dataset``, every version): data managers only. The bytes are
    removed from every storage tier by the worker after the commit."""

    permission_classes = [IsDataManager]

    @extend_schema(
        request=TaintSerializer,
        responses={
            200: inline_serializer(
                "Tainted",
                {
                    "package_id": serializers.CharField(),
                    "versions": serializers.ListField(child=serializers.IntegerField()),
                    "tombstone": serializers.URLField(),
                },
            ),
            409: OpenApiResponse(description="nothing published or withdrawn to taint"),
        },
    )
    def post(self, request, scope: str, identifier: int, number: int):
        form = TaintSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        revision, _ = access.get_dataset_version_for_user(request.user, scope, identifier, number)
        reason = form.validated_data["reason"]
        try:
            if form.validated_data["whole_dataset"]:
                done = services.taint_package(
                    revision.package, reason=reason, user=request.user, request=request
                )
            else:
                done = [services.taint(revision, reason=reason, user=request.user, request=request)]
        except services.PublishingError as exc:
            return Response({"detail": str(exc)}, status=409)
        return Response(
            {
                "package_id": revision.package_id_text,
                "versions": [r.number for r in done],
                "tombstone": metadata.absolute(metadata.version_path(revision)),
            }
        )


class VersionDoiApi(APIView):
    """Where a version's DOIs stand (public: the landing page shows the same)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        description='{"version": {doi, state, url}, "concept": {doi, state, url}}',
    )
    def get(self, request, scope: str, identifier: int, number: int):
        revision, _ = access.get_dataset_version_for_user(
            request.user, scope, identifier, number, queryset=metadata.with_record_relations(Revision.objects)
        )
        dois = Doi.objects.filter(Q(revision=revision) | Q(kind=Doi.Kind.CONCEPT, package=revision.package))
        return Response({d.kind: {"doi": d.doi, "state": d.state, "url": d.url} for d in dois})
