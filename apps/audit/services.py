"""Recording audit events. Every write in Quayside calls ``record_event`` once."""

from __future__ import annotations

import logging
from typing import Any

from .models import AuditEvent

log = logging.getLogger(__name__)


def _auth_system(request) -> str:
    if request is None:
        return ""
    explicit = getattr(request, "_quayside_auth_system", None)
    if explicit:
        return explicit
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return "session"
    return "anonymous"


def record_event(
    *,
    service: str,
    method: str,
    text: str = "",
    category: str = AuditEvent.Category.INFO,
    resource_id: str = "",
    status: int | None = None,
    user: Any = None,
    request: Any = None,
    auth_system: str = "",
) -> AuditEvent:
    """Append one audit event.

    ``request`` (a Django or DRF request) supplies the user, user agent and auth system when given.
    Runs in the caller's transaction: an event for a change rolled back is rolled back with it. Call
    it outside a failing transaction to keep a record of a refusal.
    """
    if request is not None and user is None:
        candidate = getattr(request, "user", None)
        if candidate is not None and getattr(candidate, "is_authenticated", False):
            user = candidate
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    agent = ""
    if request is not None:
        agent = request.META.get("HTTP_USER_AGENT", "")[:500]
    groups = ",".join(user.group_names) if user is not None else ""
    event = AuditEvent(
        service=service[:40],
        category=category,
        service_method=method[:120],
        entry_text=text,
        resource_id=str(resource_id)[:500],
        status_code=status,
        user=user,
        user_id_text=(user.email if user is not None else "public")[:254],
        user_agent=agent,
        groups=groups[:500],
        auth_system=auth_system or _auth_system(request) if request is not None else auth_system,
    )
    event.save(force_insert=True)
    return event
