"""E-mail for the cruises, event-log, review and hold work: sent after commit, failures logged."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

log = logging.getLogger(__name__)


def _send(subject: str, body: str, recipients: list[str]) -> None:
    try:
        send_mail(f"[{settings.SITE_NAME}] {subject}", body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # a mail server outage must not undo the change that was committed
        log.exception("could not send %r to %s", subject, recipients)


def notify(recipients: Iterable[str], subject: str, body: str) -> None:
    """Send one message to each distinct address after the current transaction commits."""
    addresses = sorted({r.strip().lower() for r in recipients if r and r.strip()})
    for address in addresses:
        transaction.on_commit(lambda a=address: _send(subject, body, [a]))


def absolute(path: str) -> str:
    return settings.SITE_BASE_URL + path
