"""Recording audit events. Every write in Quayside calls ``record_event`` once (``record_events`` for a
verb that writes many things at once)."""

from __future__ import annotations

import logging
from typing import Any

from portal import sqlrows

from . import context
from .models import AuditEvent

log = logging.getLogger(__name__)


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

    ``request`` (a Django or DRF request) supplies the user, user agent and auth system
    (``apps.audit.context``) when given. The event carries the id of the request being answered
    (``context.request_id``), given or not, which links it to the middleware's row for that request.
    Runs in the caller's transaction: an event for a change rolled back is rolled back with it. Call
    it outside a failing transaction to keep a record of a refusal.
    """
    (event,) = _events(
        [(text, resource_id)],
        service=service,
        method=method,
        category=category,
        status=status,
        user=user,
        request=request,
        auth_system=auth_system,
    )
    sqlrows.insert([event])  # every write request records one: SQL written once, no query to build
    return event


def record_events(
    items: list[tuple[str, str]],
    *,
    service: str,
    method: str,
    category: str = AuditEvent.Category.INFO,
    status: int | None = None,
    user: Any = None,
    request: Any = None,
) -> list[AuditEvent]:
    """Append one audit event per ``(text, resource_id)`` in ``items``, all else shared, in one INSERT.

    For a verb that changes many things at once (a batch of event-log entries); the same contract as
    ``record_event`` otherwise: the caller's transaction, the request's user, agent and auth system.
    """
    events = _events(
        items, service=service, method=method, category=category, status=status, user=user, request=request
    )
    sqlrows.insert(events)
    return events


def _events(items, *, service, method, category, status, user, request, auth_system="") -> list[AuditEvent]:
    if request is not None and user is None:
        candidate = getattr(request, "user", None)
        if candidate is not None and getattr(candidate, "is_authenticated", False):
            user = candidate
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    agent = ""
    if request is not None:
        agent = request.META.get("HTTP_USER_AGENT", "")[:500]
    shared = {
        "service": service[:40],
        "category": category,
        "service_method": method[:120],
        "status_code": status,
        "user": user,
        "user_id_text": (user.email if user is not None else "public")[:254],
        "user_agent": agent,
        "groups": (",".join(user.group_names) if user is not None else "")[:500],
        "auth_system": auth_system or context.auth_system(request),
        "request_id": context.request_id(request),
    }
    return [AuditEvent(entry_text=text, resource_id=str(rid)[:500], **shared) for text, rid in items]
