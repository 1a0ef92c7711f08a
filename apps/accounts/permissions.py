"""DRF permission classes for the site-wide roles."""

from rest_framework.permissions import BasePermission

from . import roles


class IsDataManager(BasePermission):
    message = "Only data managers may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return roles.is_data_manager(request.user)


class IsVetted(BasePermission):
    message = "Only members of the vetted group may create or update data packages."

    def has_permission(self, request, view) -> bool:
        return roles.is_vetted(request.user)
