"""Deliveries: register one (a drop folder, an S3 prefix, or an upload), inventory it in the worker, check
it against its own manifest, compare it with the previous shipment, and let its reviewers flag what is
missing or wrong.

Verbs that change state own their transaction and write the audit event; the inventory itself runs in the
worker (``tasks.inventory_delivery`` → ``run_inventory``) under a lease, so a killed worker's inventory is
taken over and resumes where its last checkpoint left it.

For the upload server (apps.uploads): ``upload_root(delivery)`` is the folder whose relative paths an
upload places files under, and ``start_inventory(delivery)`` queues the inventory of what is there.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps import access
from apps.access import roles
from apps.audit.services import record_event
from apps.cruises import mail
from portal.errors import Conflict, NotFound, UserError
from portal.tasks import claim, dispatch, owner_died_here

from . import inventory, manifests, sources
from .models import Delivery, Flag, InventoryFile

log = logging.getLogger(__name__)

SERVICE = "deliveries"


# --- registering ---------------------------------------------------------------------------------


def next_shipment(cruise) -> str:
    """The next free shipment id of ``cruise``: "1", "2", … (an operator may give its own instead)."""
    taken = set(Delivery.objects.filter(cruise=cruise).values_list("shipment", flat=True))
    n = len(taken) + 1
    while str(n) in taken:
        n += 1
    return str(n)


def _check_shipment(cruise, shipment: str) -> str:
    shipment = (shipment or "").strip() or next_shipment(cruise)
    if len(shipment) > 100 or any(ord(c) < 32 for c in shipment):
        raise UserError("The shipment id must be at most 100 printable characters.")
    if Delivery.objects.filter(cruise=cruise, shipment=shipment).exists():
        raise Conflict(f"Cruise {cruise.cruise_id} already has a shipment {shipment!r}.")
    return shipment


def register_delivery(user, cruise, source: str, *, shipment: str = "", request=None) -> Delivery:
    """Register a drop folder (absolute path) or an S3 prefix (``s3://bucket/prefix``) as a shipment of
    ``cruise`` and queue its inventory. Only the cruise's operator or a data manager; the source must lie
    under ``settings.DELIVERY_ALLOWED_ROOTS`` (UserError otherwise, and for a folder that does not exist).
    ``user`` None is the command line (``manage.py deliver``): the server's own operators."""
    if user is not None:
        access.require_delivery_registrar(user, cruise)
    source = sources.check_allowed((source or "").strip())
    method = Delivery.Method.S3 if source.startswith("s3://") else Delivery.Method.FOLDER
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.create(
            cruise=cruise,
            shipment=_check_shipment(cruise, shipment),
            method=method,
            source=source,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        record_event(
            service=SERVICE,
            method="registerDelivery",
            text=f"{cruise.cruise_id} shipment {delivery.shipment}: {method} {source}",
            resource_id=f"delivery/{delivery.pk}",
            user=user,
            request=request,
            auth_system="" if user is not None or request is not None else "manage.py",
        )
        start_inventory(delivery)
    return delivery


def register_upload(user, cruise, *, shipment: str = "", request=None) -> Delivery:
    """Register a shipment that arrives by upload (tus): files go under ``upload_root(delivery)``; the
    upload server calls ``start_inventory`` once they are all there."""
    access.require_delivery_registrar(user, cruise)
    with transaction.atomic(durable=True):
        delivery = Delivery.objects.create(
            cruise=cruise,
            shipment=_check_shipment(cruise, shipment),
            method=Delivery.Method.UPLOAD,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        delivery.source = str(upload_root(delivery))
        delivery.save(update_fields=["source"])
        record_event(
            service=SERVICE,
            method="registerUpload",
            text=f"{cruise.cruise_id} shipment {delivery.shipment}: upload",
            resource_id=f"delivery/{delivery.pk}",
            user=user,
            request=request,
        )
    return delivery


def upload_root(delivery: Delivery) -> Path:
    """The folder an upload places the files of ``delivery`` (method upload) in, by their relative paths
    (check each with ``portal.paths.check_relative_path``): ``<DELIVERY_UPLOAD_ROOT>/<delivery id>``. Made
    if missing. The inventory reads it like a drop folder."""
    if delivery.method != Delivery.Method.UPLOAD:
        raise Conflict(f"Shipment {delivery.shipment} is not delivered by upload.")
    root = Path(settings.DELIVERY_UPLOAD_ROOT) / str(delivery.pk)
    root.mkdir(parents=True, exist_ok=True)
    return root


def start_inventory(delivery: Delivery) -> None:
    """Queue the inventory of what is at the delivery's source (or upload root) after the current
    transaction commits. Calling it again for a delivery being inventoried is harmless (its lease decides);
    for one inventoried already it starts over (the files are listed and hashed again)."""
    from . import tasks

    with transaction.atomic():
        Delivery.objects.filter(
            pk=delivery.pk, state__in=[Delivery.State.INVENTORIED, Delivery.State.FAILED]
        ).update(state=Delivery.State.REGISTERED, scanned=False, finished_at=None, notified_at=None)
        # The sweep sends it again if the message is lost (broker down) and no worker takes it.
        Delivery.objects.filter(pk=delivery.pk).update(requested_at=timezone.now())
    dispatch(tasks.inventory_delivery, delivery.pk)


# --- the inventory (worker) ----------------------------------------------------------------------


def lease_duration() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def run_inventory(delivery_id: int, *, owner: str | None = None) -> str:
    """List, hash and check one delivery; idempotent and resumable. Returns "done", "failed" or
    "skipped" (finished already, or another worker holds its lease).

    Claimed with a lease (``portal.tasks.claim``) renewed by a heartbeat; progress is checkpointed in the
    database (each hashed file's row and the delivery's counters, in one transaction) so a worker killed
    halfway is followed by one that hashes only the files not yet written. ``owner`` is this execution's
    name (``portal.tasks.execution_owner``): the same message re-delivered after its pool child was
    killed takes over at once."""
    holder = Delivery.objects.filter(pk=delivery_id).values_list("lease_owner", flat=True).first()
    if holder is None:
        return "skipped"
    if owner and holder and owner_died_here(holder, owner.split(":", 1)[0]):
        Delivery.objects.filter(pk=delivery_id, lease_owner=holder).update(lease_until=None)
    lease = claim(
        Delivery.objects.filter(state__in=[Delivery.State.REGISTERED, Delivery.State.INVENTORYING]),
        delivery_id,
        duration=lease_duration(),
        owner=owner,
        state=Delivery.State.INVENTORYING,
    )
    if lease is None:
        return "skipped"
    delivery = Delivery.objects.select_related("cruise").get(pk=delivery_id)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id).update(
        started_at=delivery.started_at or now, run_started_at=now, run_bytes_start=delivery.bytes_done
    )
    with lease.heartbeat(settings.DELIVERY_HEARTBEAT_SECONDS):
        try:
            source = sources.source_for(delivery)
            started = time.perf_counter()
            finished = inventory.inventory(delivery, source, lease)
            log.info("delivery %s: listed and hashed in %.2f s", delivery_id, time.perf_counter() - started)
        except inventory.LeaseLost:
            return "skipped"
        except Exception as exc:
            log.exception("inventory of delivery %s failed", delivery_id)
            _finish(delivery, lease, failed=f"{type(exc).__name__}: {exc}")
            return "failed"
    if not finished:
        return "skipped"  # the lease was lost: someone else goes on
    manifests.check_delivery(delivery)
    _finish(delivery, lease)
    return "done"


def _finish(delivery: Delivery, lease, *, failed: str = "") -> None:
    with transaction.atomic(durable=True):
        updates = {"finished_at": timezone.now()}
        if failed:
            # The report is public: the server's own path of the drop folder stays out of it.
            if delivery.source and delivery.method != Delivery.Method.S3:
                failed = failed.replace(delivery.source, "<drop folder>")
            updates["state"] = Delivery.State.FAILED
            updates["errors"] = [*delivery.errors, failed][-50:]
        else:
            errors = InventoryFile.objects.filter(
                delivery=delivery, status=InventoryFile.Status.ERROR
            ).count()
            updates["state"] = Delivery.State.INVENTORIED
            if errors:
                updates["errors"] = [*delivery.errors, f"{errors} file(s) could not be read"][-50:]
        if not lease.release(**updates):
            return
        delivery.refresh_from_db()
        record_event(
            service=SERVICE,
            method="inventoryDelivery",
            text=(
                f"{delivery}: {delivery.state}, {delivery.files_done} files, {delivery.bytes_done} bytes, "
                f"{len(delivery.refused)} refused" + (f"; {failed}" if failed else "")
            ),
            category="error" if failed else "info",
            resource_id=f"delivery/{delivery.pk}",
            auth_system="worker",
        )
        if not failed:
            _invite_review(delivery)


def sweep() -> int:
    """Queue the inventories that wait (registered, a lost message) or whose worker died (lease lapsed)."""
    from portal.tasks import send

    from . import tasks

    now = timezone.now()
    due = Delivery.objects.filter(
        Q(state=Delivery.State.INVENTORYING, lease_until__lt=now)
        | Q(
            state=Delivery.State.REGISTERED,
            requested_at__lt=now - datetime.timedelta(minutes=2),
            lease_until__isnull=True,
        )
    )
    return sum(send(tasks.inventory_delivery, pk) for pk in due.values_list("pk", flat=True)[:100])


# --- reading the inventory -----------------------------------------------------------------------


def checksums_visible(user, delivery: Delivery) -> bool:
    """Checksums (and the hashdeep export) are hidden from the public while a hold covers the cruise."""
    return access.can_see(user, delivery, "checksums")


def files(delivery: Delivery, *, folder: str = "", instrument_class: str = "") -> QuerySet:
    """The inventory, filtered by folder (a path prefix) and instrument class ("-" = unclassified)."""
    qs = InventoryFile.objects.filter(delivery=delivery)
    folder = folder.strip("/")
    if folder:
        qs = qs.filter(path__startswith=folder + "/")
    if instrument_class == "-":
        qs = qs.filter(instrument_class="")
    elif instrument_class:
        qs = qs.filter(instrument_class=instrument_class)
    return qs.order_by("path")


def folders(delivery: Delivery) -> list[str]:
    """The top-level folders of a delivery (for the folder filter), computed in the database."""
    from django.db.models import Value
    from django.db.models.functions import StrIndex, Substr

    tops = (
        InventoryFile.objects.filter(delivery=delivery, path__contains="/")
        .annotate(top=Substr("path", 1, StrIndex("path", Value("/")) - 1))
        .order_by("top")
        .values_list("top", flat=True)
        .distinct()
    )
    return list(tops)


def instrument_classes(delivery: Delivery) -> list[str]:
    """The instrument classes the files of a delivery were given (apps.distributions classifies them)."""
    return sorted(
        set(
            InventoryFile.objects.filter(delivery=delivery)
            .exclude(instrument_class="")
            .values_list("instrument_class", flat=True)
            .distinct()
        )
    )


def previous_delivery(delivery: Delivery) -> Delivery | None:
    """The shipment of the same cruise inventoried before this one (the diff's base)."""
    return (
        Delivery.objects.filter(
            cruise_id=delivery.cruise_id, state=Delivery.State.INVENTORIED, created_at__lt=delivery.created_at
        )
        .exclude(pk=delivery.pk)
        .order_by("-created_at")
        .first()
    )


@dataclass
class Diff:
    base: Delivery | None
    added: QuerySet
    removed: QuerySet
    changed: QuerySet

    def counts(self) -> dict:
        if self.base is None:
            return {"added": 0, "removed": 0, "changed": 0}
        return {"added": self.added.count(), "removed": self.removed.count(), "changed": self.changed.count()}


def diff(delivery: Delivery, base: Delivery | None = None) -> Diff:
    """What changed from ``base`` (the previous shipment by default) to ``delivery``: files added, removed,
    and changed (size or SHA-256 differ). Querysets, joined in the database on (delivery, path)."""
    base = base or previous_delivery(delivery)
    if base is None:
        none = InventoryFile.objects.none()
        return Diff(None, none, none, none)
    new = InventoryFile.objects.filter(delivery=delivery)
    old = InventoryFile.objects.filter(delivery=base)
    same_path = old.filter(path=OuterRef("path"))
    added = new.exclude(path__in=old.values("path")).order_by("path")
    removed = old.exclude(path__in=new.values("path")).order_by("path")
    changed = (
        new.annotate(
            old_size=Subquery(same_path.values("size")[:1]),
            old_sha256=Subquery(same_path.values("sha256")[:1]),
        )
        .filter(old_size__isnull=False)
        .filter(~Q(old_size=F("size")) | ~Q(old_sha256=F("sha256")))
        .order_by("path")
    )
    return Diff(base, added, removed, changed)


def hashdeep_lines(delivery: Delivery):
    """The inventory in hashdeep's audit format (``hashdeep -a -k FILE -r -l .`` run from the delivery's
    root accepts it): size, MD5, SHA-256 and the name as the file system holds it, prefixed "./" as
    hashdeep itself writes names given as ".". Files that could not be read are left out."""
    yield "%%%% HASHDEEP-1.0\n"
    yield "%%%% size,md5,sha256,filename\n"
    yield f"## Quayside inventory of {delivery.cruise.cruise_id} shipment {delivery.shipment}\n"
    yield "## Invoked from: the delivery's root; audit with: hashdeep -a -k THIS_FILE -r -l .\n"
    yield "## \n"
    rows = (
        InventoryFile.objects.filter(delivery=delivery, status=InventoryFile.Status.HASHED)
        .order_by("path")
        .values_list("size", "md5", "sha256", "path", "source_path")
    )
    for size, md5, sha256, path, source_path in rows.iterator(chunk_size=5000):
        yield f"{size},{md5},{sha256},./{source_path or path}\n"


CSV_HEADER = [
    "operator",
    "vessel",
    "cruise",
    "shipment",
    "path",
    "size",
    "modified",
    "md5",
    "sha1",
    "sha256",
    "instrument_class",
]


def csv_rows(delivery: Delivery, *, with_checksums: bool):
    """The inventory as CSV rows (header first); without checksums during a hold, for the public."""
    cruise = delivery.cruise
    fixed = [cruise.operator.name, cruise.vessel.name, cruise.cruise_id, delivery.shipment]
    yield CSV_HEADER
    rows = (
        InventoryFile.objects.filter(delivery=delivery)
        .order_by("path")
        .values_list("path", "size", "modified_at", "md5", "sha1", "sha256", "instrument_class")
    )
    for path, size, modified, md5, sha1, sha256, klass in rows.iterator(chunk_size=5000):
        sums = [md5, sha1, sha256] if with_checksums else ["", "", ""]
        yield [*fixed, path, size, modified.isoformat() if modified else "", *sums, klass]


# --- review: notices and flags -------------------------------------------------------------------


def _reviewer_addresses(cruise) -> list[str]:
    from apps.cruises.models import CruiseMember, OrganisationMember

    addresses = [cruise.operator.email]
    addresses += OrganisationMember.objects.filter(
        organisation_id=cruise.operator_id, role=OrganisationMember.Role.OPERATOR
    ).values_list("user__email", flat=True)
    addresses += CruiseMember.objects.filter(
        cruise=cruise, role=CruiseMember.Role.CHIEF_SCIENTIST
    ).values_list("email", flat=True)
    return [a for a in addresses if a]


def _data_manager_addresses() -> list[str]:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return list(
        User.objects.filter(Q(groups__name=roles.DATA_MANAGER) | Q(is_superuser=True), is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )


def delivery_path(delivery: Delivery) -> str:
    from django.urls import reverse

    return reverse("deliveries:detail", args=[delivery.pk])


def _invite_review(delivery: Delivery) -> None:
    """E-mail the operator and the chief scientist: the inventory is posted, please flag what is missing."""
    if delivery.notified_at is not None:
        return
    Delivery.objects.filter(pk=delivery.pk).update(notified_at=timezone.now())
    cruise = delivery.cruise
    problems = len(delivery.refused) + sum(
        len(m.get("mismatched", ())) + len(m.get("missing", ())) for m in delivery.manifests
    )
    mail.notify(
        _reviewer_addresses(cruise),
        f"Inventory of {cruise.cruise_id} shipment {delivery.shipment} posted — please review",
        (
            f"The inventory of {cruise.cruise_id} shipment {delivery.shipment} is posted: "
            f"{delivery.files_done} files, {delivery.bytes_done} bytes"
            + (f", {problems} problem(s) listed in its report" if problems else "")
            + ".\n\nPlease check it and flag any file, folder or instrument class that is missing or wrong:\n"
            + mail.absolute(delivery_path(delivery))
            + "\n"
        ),
    )


def raise_flag(user, delivery: Delivery, *, kind: str, target: str, comment: str, request=None) -> Flag:
    """A reviewer (the operator's staff, the chief scientist, or a data manager) flags missing or wrong
    data: a file, a folder or an instrument class, with a comment. The data managers are e-mailed."""
    access.require_delivery_reviewer(user, delivery.cruise)
    if kind not in Flag.Kind.values:
        raise UserError(
            f"Flag a file, a folder or an instrument class (kind one of {', '.join(Flag.Kind.values)})."
        )
    target = (
        (target or "").strip().strip("/") if kind != Flag.Kind.INSTRUMENT_CLASS else (target or "").strip()
    )
    comment = (comment or "").strip()
    if not target:
        raise UserError("Say which file, folder or instrument class is missing or wrong.")
    if not comment:
        raise UserError("Say what is missing or wrong in the comment.")
    with transaction.atomic(durable=True):
        flag = Flag.objects.create(
            delivery=delivery, kind=kind, target=target[:1000], comment=comment, raised_by=user
        )
        record_event(
            service=SERVICE,
            method="raiseFlag",
            text=f"{delivery}: {kind} {target}: {comment[:500]}",
            resource_id=f"delivery/{delivery.pk}/flag/{flag.pk}",
            user=user,
            request=request,
        )
        mail.notify(
            _data_manager_addresses(),
            f"Flag on {delivery}: {flag.get_kind_display().lower()} {target}",
            f"{user.email} flagged {flag.get_kind_display().lower()} {target} of {delivery}:\n\n{comment}\n\n"
            f"Answer and close it at {mail.absolute(delivery_path(delivery))}\n",
        )
    return flag


def answer_flag(user, flag: Flag, answer: str, *, close: bool = False, request=None) -> Flag:
    """A data manager answers a flag (and may close it at once); its raiser and the reviewers are e-mailed."""
    access.require_data_manager(user)
    answer = (answer or "").strip()
    if not answer:
        raise UserError("Write an answer.")
    return _settle_flag(
        user,
        flag,
        lambda now: {
            "answer": answer,
            "answered_by": user,
            "answered_at": now,
            "state": Flag.State.CLOSED if close else Flag.State.ANSWERED,
            "closed_at": now if close else None,
        },
        method="answerFlag",
        already_closed="This flag is closed.",
        event=f"{'closed' if close else 'answered'}: {answer[:500]}",
        told="answered and closed" if close else "answered",
        request=request,
    )


def close_flag(user, flag: Flag, request=None) -> Flag:
    """A data manager closes a flag; its raiser and the reviewers are e-mailed."""
    access.require_data_manager(user)
    return _settle_flag(
        user,
        flag,
        lambda now: {"state": Flag.State.CLOSED, "closed_at": now},
        method="closeFlag",
        already_closed="This flag is closed already.",
        event="closed",
        told="closed",
        request=request,
    )


def _settle_flag(
    user,
    flag: Flag,
    changes: Callable[[datetime.datetime], dict],
    *,
    method: str,
    already_closed: str,
    event: str,
    told: str,
    request,
) -> Flag:
    """The body of a data manager's verb on an open flag: lock it (Conflict ``already_closed`` when it is
    closed), save ``changes(now)`` (field → value), record ``method`` with ``event`` in the audit log and
    tell the raiser and the reviewers it was ``told``. The caller checks the user's role first."""
    with transaction.atomic(durable=True):
        flag = (
            Flag.objects.select_for_update(of=("self",))
            .select_related("delivery__cruise", "raised_by")
            .get(pk=flag.pk)
        )
        if flag.state == Flag.State.CLOSED:
            raise Conflict(already_closed)
        fields = changes(timezone.now())
        for name, value in fields.items():
            setattr(flag, name, value)
        flag.save(update_fields=list(fields))
        record_event(
            service=SERVICE,
            method=method,
            text=f"{flag.delivery}: flag {flag.pk} {event}",
            resource_id=f"delivery/{flag.delivery_id}/flag/{flag.pk}",
            user=user,
            request=request,
        )
        _tell_reviewers(flag, told)
    return flag


def _tell_reviewers(flag: Flag, what: str) -> None:
    delivery = flag.delivery
    recipients = _reviewer_addresses(delivery.cruise)
    if flag.raised_by is not None:
        recipients.append(flag.raised_by.email)
    mail.notify(
        recipients,
        f"Flag {what}: {flag.get_kind_display().lower()} {flag.target} of {delivery}",
        f"Your flag on {flag.get_kind_display().lower()} {flag.target} of {delivery} was {what}.\n\n"
        f"Flag: {flag.comment}\n\nAnswer: {flag.answer or '(none)'}\n\n{mail.absolute(delivery_path(delivery))}\n",
    )


def get_flag(pk: int) -> Flag:
    flag = Flag.objects.select_related("delivery__cruise").filter(pk=pk).first()
    if flag is None:
        raise NotFound("No such flag.")
    return flag
