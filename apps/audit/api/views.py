from rest_framework import generics

from apps.access.permissions import IsDataManager

from ..filters import attach_details, filter_actions
from .serializers import AuditActionSerializer


class AuditEventList(generics.ListAPIView):
    """The audit log by action, newest first: each item is a service event with the web request it came
    in on (``request``) and the other events of that request (``also``); a request no service recorded
    anything in is an item of its own. Filter with service, category, method, resource, user, since,
    until, status: an action matches when any of its rows does."""

    serializer_class = AuditActionSerializer
    permission_classes = [IsDataManager]

    def get_queryset(self):
        heads, _ = filter_actions(self.request.query_params)
        return heads.select_related("user")

    def paginate_queryset(self, queryset):
        # Pagination is always on (settings.REST_FRAMEWORK): the details are fetched for one page only.
        page = super().paginate_queryset(queryset)
        return None if page is None else attach_details(page)
