"""Submission status API: a submitter's own submissions (data managers see all)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from apps import access
from apps.submissions import services
from apps.submissions.models import Submission
from apps.submissions.status import status_payload


@extend_schema_view(get=extend_schema(responses=OpenApiTypes.OBJECT, operation_id="api_submissions_list"))
class SubmissionList(ListAPIView):
    permission_classes = [IsAuthenticated]

    queryset = Submission.objects.none()  # for the schema; get_queryset decides

    def get_serializer_class(self):
        return None

    def get_queryset(self):
        qs = Submission.objects.select_related("revision").prefetch_related("steps")
        return access.visible_submissions(self.request.user, qs)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([status_payload(s) for s in page])


class SubmissionDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, transaction: str):
        return Response(status_payload(access.get_submission_for_user(request.user, transaction)))


class SubmissionRetry(APIView):
    """POST: a data manager's "retry from the failed step" (202 with the submission's status)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, transaction: str):
        sub = access.get_submission_for_user(request.user, transaction)
        access.require_data_manager(request.user)
        try:
            sub = services.retry_from_failed_step(sub, user=request.user, request=request)
        except services.PolicyError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(status_payload(sub), status=202)
