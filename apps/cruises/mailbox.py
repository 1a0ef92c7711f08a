"""Sailing orders by e-mail: read new messages from a Maildir or an IMAP mailbox, ingest every XML
attachment, and answer the sender with the result.

``settings.CRUISE_MAILBOX_URL``: ``maildir:///path/to/Maildir`` or ``imaps://user:pass@host[:port]/INBOX``
(``imap://`` without TLS). Empty: the job does nothing. A Maildir message is moved to ``cur`` with
the Seen flag once handled; an IMAP message is flagged \\Seen (only UNSEEN messages are read).
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import logging
import mailbox
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmail

from apps.accounts.models import User
from apps.audit.services import record_event
from portal.errors import Forbidden

from . import sailing_orders, services

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    sender: str
    subject: str
    results: list[str]


def _xml_parts(msg: EmailMessage):
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename() or ""
        ctype = part.get_content_type()
        if name.lower().endswith(".xml") or ctype in ("application/xml", "text/xml"):
            yield name or "attachment.xml", part.get_payload(decode=True) or b""


def handle_message(raw: bytes) -> Outcome:
    """Ingest the XML attachments of one message and reply to its sender. Never raises for bad input."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sender = parseaddr(str(msg.get("From", "")))[1]
    subject = str(msg.get("Subject", ""))
    user = User.objects.filter(email__iexact=sender, is_active=True).first() if sender else None
    results: list[str] = []
    parts = list(_xml_parts(msg))
    if user is None:
        results.append(
            f"{sender or 'The sender'} is not a {settings.SITE_NAME} user; sailing orders are accepted only from operators' staff."
        )
    elif not parts:
        results.append("No XML attachment found; attach the sailing orders as a .xml file.")
    else:
        for name, data in parts:
            try:
                cruise = services.ingest_sailing_orders(data, user, source=f"mail: {name}")
            except sailing_orders.SailingOrdersError as exc:
                results.append(f"{name}: NOT accepted:\n" + "\n".join(f"  {e}" for e in exc.errors))
            except Forbidden as exc:
                results.append(f"{name}: NOT accepted: {exc}")
            else:
                results.append(
                    f"{name}: accepted as cruise {cruise.cruise_id} on {cruise.vessel.name}: "
                    f"{settings.SITE_BASE_URL}/cruises/{cruise.pk}/"
                )
    record_event(
        service="cruises",
        method="readMailbox",
        user=user,
        auth_system="mail",
        text=f"message from {sender} ({subject!r}): " + " | ".join(r.splitlines()[0] for r in results),
    )
    if sender:
        reply = DjangoEmail(
            subject=f"Re: {subject}" if subject else "Your sailing orders",
            body="\n\n".join(results) + "\n",
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[sender],
        )
        if msg.get("Message-ID"):
            reply.extra_headers = {
                "In-Reply-To": str(msg["Message-ID"]),
                "References": str(msg["Message-ID"]),
            }
        try:
            reply.send()
        except Exception:  # the ingest stands; a lost reply is logged, not retried
            log.exception("could not answer %s", sender)
    return Outcome(sender, subject, results)


def read_maildir(path: str) -> list[Outcome]:
    """Handle every message in ``new/``. Each is claimed by an atomic rename into ``cur/`` with the
    Seen flag (the Maildir way), so two overlapping runs never handle — or answer — one message twice."""
    mailbox.Maildir(path, factory=None, create=False)  # raises NoSuchMailboxError for a missing folder
    root = Path(path)
    outcomes = []
    for name in sorted(os.listdir(root / "new")):
        if name.startswith("."):
            continue
        claimed = root / "cur" / (name.split(":", 1)[0] + ":2,S")
        try:
            os.rename(root / "new" / name, claimed)
        except FileNotFoundError:
            continue  # another run claimed it first
        outcomes.append(handle_message(claimed.read_bytes()))
    return outcomes


def read_imap(url: str) -> list[Outcome]:
    parsed = urlparse(url)
    cls = imaplib.IMAP4_SSL if parsed.scheme == "imaps" else imaplib.IMAP4
    port = parsed.port or (993 if parsed.scheme == "imaps" else 143)
    folder = unquote(parsed.path.lstrip("/")) or "INBOX"
    outcomes = []
    with cls(parsed.hostname, port, timeout=30) as conn:
        conn.login(unquote(parsed.username or ""), unquote(parsed.password or ""))
        conn.select(folder)
        _, data = conn.uid("SEARCH", None, "UNSEEN")
        for uid in (data[0] or b"").split():
            _, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((part[1] for part in fetched if isinstance(part, tuple)), None)
            conn.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            if raw:
                outcomes.append(handle_message(raw))
    return outcomes


def read_configured_mailbox(url: str | None = None) -> list[Outcome]:
    url = settings.CRUISE_MAILBOX_URL if url is None else url
    if not url:
        return []
    if url.startswith("maildir://"):
        return read_maildir(unquote(urlparse(url).path))
    if url.startswith(("imap://", "imaps://")):
        return read_imap(url)
    raise ValueError(
        f"CRUISE_MAILBOX_URL must start with maildir://, imap:// or imaps://, not {url.split(':')[0]}"
    )
