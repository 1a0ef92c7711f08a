"""What a request tells the audit trail about itself: how its user was authenticated.

Whatever authenticates a request (the API token class, the session) marks it here; ``record_event`` and
the audit middleware read the mark. This is the one public way to do either, so services and
authentication never reach into the middleware or into each other's private request attributes.

Every function takes a Django ``HttpRequest`` or a DRF ``Request``: the mark lives on the Django request
underneath, where the middleware (which only ever sees the Django request) finds it too.
"""

from __future__ import annotations

from typing import Any

# One attribute name, known only to this module.
_AUTH_SYSTEM = "_audit_auth_system"


def _django_request(request: Any) -> Any:
    # A DRF Request wraps the Django one as ``_request``; attributes set on the wrapper stay on it.
    return getattr(request, "_request", request)


def mark_auth_system(request: Any, system: str) -> None:
    """Record how this request's user was authenticated (``"token"``, ``"session"`` …)."""
    setattr(_django_request(request), _AUTH_SYSTEM, system)


def auth_system(request: Any) -> str:
    """How this request was authenticated: the mark when one was made, else ``"session"`` for a
    signed-in user and ``"anonymous"`` for everyone else; ``""`` without a request (a worker, a command)."""
    if request is None:
        return ""
    marked = getattr(_django_request(request), _AUTH_SYSTEM, "")
    if marked:
        return marked
    user = getattr(request, "user", None)
    return "session" if getattr(user, "is_authenticated", False) else "anonymous"
