"""View decorators for site-wide role checks: anonymous users go to the login page, others get 403.

They live here, not in ``apps.accounts``, so that apps which ``apps.accounts`` imports (audit, through
``record_event``) can use them without an import circle."""

from functools import wraps

from django.contrib.auth.decorators import login_required

from portal.errors import ONLY_DATA_MANAGERS, ONLY_VETTED, Forbidden

from . import roles


def role_required(check, message: str):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise Forbidden(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


data_manager_required = role_required(roles.is_data_manager, ONLY_DATA_MANAGERS)
vetted_required = role_required(roles.is_vetted, ONLY_VETTED)
