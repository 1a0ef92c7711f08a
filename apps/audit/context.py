"""What a request tells the audit trail about itself: how its user was authenticated, and which request
it was.

Whatever authenticates a request (the API token class, the session) marks it here; ``record_event`` and
the audit middleware read the mark. This is the one public way to do either, so services and
authentication never reach into the middleware or into each other's private request attributes.

Every function takes a Django ``HttpRequest`` or a DRF ``Request``: the mark lives on the Django request
underneath, where the middleware (which only ever sees the Django request) finds it too.

The request id links the audit middleware's row for a web request (method, path, status, agent) to the
service events recorded while it ran, so the audit page shows them as one action. ``begin_request`` gives
a request its id; the id is also kept in a context variable for the request's duration, so a service
that records an event without being handed the request still files it under the right request.
"""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

# One attribute name, known only to this module.
_AUTH_SYSTEM = "_audit_auth_system"
_REQUEST_ID = "_audit_request_id"

_current_request_id: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar(
    "audit_request_id", default=None
)


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


def begin_request(request: Any) -> contextvars.Token:
    """Give ``request`` a fresh request id and make it the current one; pass the token to ``end_request``
    when the request is answered."""
    rid = uuid.uuid4()
    setattr(_django_request(request), _REQUEST_ID, rid)
    return _current_request_id.set(rid)


def end_request(token: contextvars.Token) -> None:
    """Forget the current request id (the request's own mark stays on it)."""
    _current_request_id.reset(token)


def request_id(request: Any = None) -> uuid.UUID | None:
    """The id of ``request`` when it has one, else of the request being answered now; ``None`` outside
    any request (a worker, a command)."""
    if request is not None:
        marked = getattr(_django_request(request), _REQUEST_ID, None)
        if marked is not None:
            return marked
    return _current_request_id.get()
