"""DRF permission classes for the site-wide roles (beside ``decorators``, for the same reason)."""

from rest_framework.permissions import BasePermission

from portal.errors import ONLY_DATA_MANAGERS, ONLY_VETTED

from . import roles


class IsDataManager(BasePermission):
    message = ONLY_DATA_MANAGERS

    def has_permission(self, request, view) -> bool:
        return roles.is_data_manager(request.user)


class IsVetted(BasePermission):
    message = ONLY_VETTED

    def has_permission(self, request, view) -> bool:
        return roles.is_vetted(request.user)
