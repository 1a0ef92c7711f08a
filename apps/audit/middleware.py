"""One audit event for every write request (POST, PUT, PATCH, DELETE) through the web and the API.

Services record events that say what changed; this records that the request happened and how it
ended (status), as PASTA's audit manager does for every call, including refusals.
"""

from django.urls import resolve
from django.urls.exceptions import Resolver404

from .context import auth_system
from .services import record_event

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def request_service(request) -> str:
    return "api" if request.path_info.startswith(("/api/", "/package/")) else "web"


def request_method(request) -> str:
    """``POST api-eventlog-entries``: the HTTP method and the view's URL name."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return f"{request.method} unresolved"
    return f"{request.method} {match.view_name or match.func.__name__}"


class AuditWritesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in WRITE_METHODS:
            try:
                self._record(request, response)
            except Exception:  # auditing must never turn a good answer into a 500
                import logging

                logging.getLogger(__name__).exception("could not record audit event")
        return response

    def _record(self, request, response) -> None:
        status = response.status_code
        category = "info" if status < 400 else ("warn" if status < 500 else "error")
        # DRF puts the authenticated user on its own request; Django's may still be anonymous.
        drf_request = (getattr(response, "renderer_context", None) or {}).get("request")
        user = getattr(drf_request, "user", None) or getattr(request, "user", None)
        # One INSERT in autocommit: a transaction around a single statement only adds two round trips.
        record_event(
            service=request_service(request),
            method=request_method(request),
            text=request.path_info,
            category=category,
            status=status,
            user=user if getattr(user, "is_authenticated", False) else None,
            request=request,
            auth_system=auth_system(drf_request if drf_request is not None else request),
        )
