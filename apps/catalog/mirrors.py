"""Verifying mirrors: every file the mirror claims to hold must have the right size and bytes.

A *sample* check (hourly by default): HEAD for the size (a server that refuses HEAD is asked by GET
alone, and each piece's ``Content-Range`` total is checked too), then Range requests for a few pieces of
``MIRROR_SAMPLE_BYTES`` (the first, the last, and one that moves with every check, chosen from the
check count so that a sequence of checks walks the whole file), compared with our own copy; a file no
larger than the samples together is read whole and its SHA-256 compared, as is a file whose server
ignores Range (200 with the whole body: read once, not once per piece). A *full* check (daily by
default) streams every file and compares its SHA-256. Each check is a ``MirrorCheck``; the mirror's
``health`` is ok or bad after it; a change to bad mails the data managers, and a change either way
marks the catalog dirty (``quayside:verified_mirrors``).
"""

from __future__ import annotations

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.publishing.files import VersionFile, version_files
from apps.storage.services import iter_range
from portal.tasks import claim

from . import http
from .models import Mirror, MirrorCheck

log = logging.getLogger(__name__)
LEASE = datetime.timedelta(minutes=30)


class Mismatch(Exception):
    pass


def due_mirrors(*, full: bool = False, now=None) -> QuerySet:
    now = now or timezone.now()
    if full:
        cutoff = now - datetime.timedelta(seconds=settings.MIRROR_FULL_CHECK_SECONDS)
        field = "last_full_check_at"
    else:
        cutoff = now - datetime.timedelta(seconds=settings.MIRROR_CHECK_SECONDS)
        field = "last_checked_at"
    return (
        Mirror.objects.filter(revision__state="published")
        .filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": cutoff}))
        .order_by(f"{field}", "pk")
    )


def _local(f: VersionFile, start: int, end: int) -> bytes:
    return b"".join(iter_range(f.blob, start, end))


def _get(url: str, start: int | None = None, end: int | None = None) -> http.Response:
    """GET the file, or bytes start–end of it. A server without Range support answers a Range GET with
    200 and the whole file: that response is returned as it is (the caller reads it whole)."""
    headers = {"Range": f"bytes={start}-{end}"} if start is not None else {}
    response = http.request("GET", url, headers=headers)
    expected = (206, 200) if start is not None else (200,)
    if response.status not in expected:
        response.close()
        if response.status == 416:
            raise Mismatch(
                f"{url} has no bytes {start}–{end}: the mirror's file is shorter than the archive's"
            )
        raise Mismatch(
            f"{url} answered HTTP {response.status} to a {'Range ' if start is not None else ''}GET"
        )
    return response


def _content_range_total(response: http.Response) -> int | None:
    """The full size a 206 response names (``Content-Range: bytes a-b/total``), when it names one."""
    value = response.headers.get("Content-Range") or ""
    total = value.rpartition("/")[2].strip()
    return int(total) if total.isdigit() else None


def _whole(url: str, f: VersionFile, response: http.Response | None = None) -> int:
    """Stream the mirror's whole file (or the 200 response already open) and compare size and SHA-256."""
    response = response or _get(url)
    digest, size = hashlib.sha256(), 0
    try:
        while block := response.read(1 << 20):
            digest.update(block)
            size += len(block)
    finally:
        response.close()
    if size != f.size or digest.hexdigest() != f.sha256:
        raise Mismatch(
            f"{f.path}: the mirror's copy differs (SHA-256 {digest.hexdigest()[:16]}…, {size} bytes)"
        )
    return size


def _sampled(url: str, f: VersionFile, turn: int) -> int:
    piece = settings.MIRROR_SAMPLE_BYTES
    if f.size <= 3 * piece:
        return _whole(url, f)
    pieces = f.size // piece
    starts = sorted({0, (f.size - piece), ((turn * 7919) % pieces) * piece})
    read = 0
    for start in starts:
        end = min(start + piece, f.size) - 1
        response = _get(url, start, end)
        if response.status == 200:  # no Range support: the bytes are checked whole instead
            return read + _whole(url, f, response)
        try:
            total = _content_range_total(response)
            if total is not None and total != f.size:
                raise Mismatch(f"{f.path}: the mirror has {total} bytes, the archive {f.size}")
            body = response.read()
        finally:
            response.close()
        read += len(body)
        if body != _local(f, start, end):
            raise Mismatch(f"{f.path}: bytes {start}–{end} differ from the archived file")
    return read


def _check(mirror: Mirror, *, full: bool) -> tuple[int, int]:
    """(files checked, bytes read); raises Mismatch or http.HttpError."""
    files = version_files(mirror.revision)
    checked = read = 0
    for f in files:
        url = mirror.url_for(f.path)
        if url is None:
            continue
        head = http.request("HEAD", url)
        head.close()
        # A server that knows no HEAD (405, 501) is asked by GET alone: Content-Range gives the size.
        if head.status not in (200, 405, 501):
            raise Mismatch(f"{f.path}: {url} answered HTTP {head.status}")
        length = head.headers.get("Content-Length") if head.status == 200 else None
        if length is not None and length.isdigit() and int(length) != f.size:
            raise Mismatch(f"{f.path}: the mirror has {length} bytes, the archive {f.size}")
        read += _whole(url, f) if full else _sampled(url, f, mirror.checks_run)
        checked += 1
    if not checked:
        raise Mismatch("the mirror holds none of the version's files")
    return checked, read


def verify(mirror_id: int, *, full: bool = False) -> str:
    """Check one mirror now (claimed with a lease, so two workers never check the same one at once)."""
    lease = claim(Mirror.objects.all(), mirror_id, duration=LEASE)
    if lease is None:
        return "busy"
    mirror = Mirror.objects.select_related("revision__package").get(pk=mirror_id)
    if mirror.revision.state != "published":
        lease.release()
        return "not published"
    now = timezone.now()
    try:
        checked, read = _check(mirror, full=full)
        ok, message = True, f"{checked} file{'s' if checked != 1 else ''} intact"
    except (Mismatch, http.HttpError) as exc:
        checked, read, ok, message = 0, 0, False, str(exc)
    before = mirror.health
    health = Mirror.Health.OK if ok else Mirror.Health.BAD
    with transaction.atomic():
        MirrorCheck.objects.create(
            mirror=mirror,
            at=now,
            kind=MirrorCheck.Kind.FULL if full else MirrorCheck.Kind.SAMPLE,
            ok=ok,
            files_checked=checked,
            bytes_read=read,
            message=message,
        )
        updates = {"health": health, "health_message": "" if ok else message, "last_checked_at": now}
        if full:
            updates["last_full_check_at"] = now
        if ok:
            updates["verified_at"] = now
        lease.release(checks_run=mirror.checks_run + 1, **updates)
        if health != before:
            from apps.publishing.services import record_changed

            from .services import mark_dirty

            mark_dirty(mirror.revision.package_id)
            record_changed([mirror.revision_id])  # its OAI-PMH record names verified mirrors only
        if health == Mirror.Health.BAD and before != Mirror.Health.BAD:
            _alert(mirror, message)
    return f"{health}: {message}"


def _alert(mirror: Mirror, message: str) -> None:
    from apps.accounts.models import User
    from apps.accounts.roles import DATA_MANAGER
    from apps.audit.models import AuditEvent
    from apps.audit.services import record_event

    record_event(
        service="catalog",
        method="mirrorBad",
        resource_id=mirror.revision.package_id_text,
        category=AuditEvent.Category.WARN,
        text=f"mirror {mirror.pk} ({mirror.get_kind_display()}) failed its check: {message}",
        auth_system="worker",
    )
    recipients = list(
        User.objects.filter(Q(groups__name=DATA_MANAGER) | Q(is_superuser=True), is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )
    subject = f"[{settings.SITE_NAME}] Mirror of {mirror.revision.package_id_text} failed its check"
    body = (
        f"The {mirror.get_kind_display()} mirror {mirror.record_url or mirror.base_url} of "
        f"{mirror.revision.package_id_text} no longer matches the archive:\n\n{message}\n\n"
        f"{settings.SITE_BASE_URL}/catalog/mirrors/{mirror.pk}/\n"
    )

    def _send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            log.exception("could not mail the data managers about mirror %s", mirror.pk)

    if recipients:
        transaction.on_commit(_send)


def datacite_copies(revision_ids: list[int]) -> dict[int, dict]:
    """The verified mirrors of each published version among ``revision_ids`` for its OAI-PMH and DataCite
    records (``apps.publishing.extensions.copies``): each a relatedIdentifier of type URL (the mirror's
    record page, else its base) with relationType ``IsIdenticalTo`` ("the same resource in another
    repository", as the national archive's accession is written). Only a mirror whose last check passed:
    a harvesting portal shows them as copies its home vouches for. One query."""
    rows = Mirror.objects.filter(
        revision_id__in=revision_ids, revision__state="published", health=Mirror.Health.OK
    ).order_by("revision_id", "pk")
    out: dict[int, dict] = {}
    for revision_id, record_url, base_url in rows.values_list("revision_id", "record_url", "base_url"):
        url = record_url or base_url
        if url:
            related = out.setdefault(revision_id, {"relatedIdentifiers": []})["relatedIdentifiers"]
            related.append(
                {"relatedIdentifier": url, "relatedIdentifierType": "URL", "relationType": "IsIdenticalTo"}
            )
    return out
