"""DRF permission classes for the site-wide roles (beside ``decorators``, for the same reason)."""

from rest_framework.permissions import BasePermission

from portal.errors import ONLY_DATA_MANAGERS, ONLY_NODE_OPERATORS, ONLY_VETTED

from . import roles


class IsDataManager(BasePermission):
    message = ONLY_DATA_MANAGERS

    def has_permission(self, request, view) -> bool:
        return roles.is_data_manager(request.user)


class IsVetted(BasePermission):
    message = ONLY_VETTED

    def has_permission(self, request, view) -> bool:
        return roles.is_vetted(request.user)


class IsNodeOperator(BasePermission):
    """The node API: the token's node belongs to a user who is (still) a node operator."""

    message = ONLY_NODE_OPERATORS

    def has_permission(self, request, view) -> bool:
        return roles.is_node_operator(request.user)
