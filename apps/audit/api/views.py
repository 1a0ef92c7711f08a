from rest_framework import generics

from apps.access.permissions import IsDataManager

from ..filters import filter_events
from .serializers import AuditEventSerializer


class AuditEventList(generics.ListAPIView):
    """The audit log, newest first; filter with service, category, method, resource, user, since, until."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsDataManager]

    def get_queryset(self):
        events, _ = filter_events(self.request.query_params)
        return events
