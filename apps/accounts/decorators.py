"""View decorators for role checks: anonymous users go to the login page, others get 403."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from . import roles


def role_required(check, message: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


data_manager_required = role_required(roles.is_data_manager, "Only data managers may open this page.")
vetted_required = role_required(roles.is_vetted, "Only vetted submitters may create or update data packages.")
