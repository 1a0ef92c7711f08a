"""Deep storage of a delivery: the copy made during the proprietary hold, its verification, and restores.

Objects go to the deep tier (``apps.storage.services.deep()``, a folder or an S3 bucket) under the same
content-addressed keys as blobs (``sha256/ab/cd/abcd…``), so a file that is also an archived blob is kept
once. Each copy is read back and its SHA-256 compared with the inventory's; a copy that reads back wrong
is removed and reported. The worker copies under a lease (portal.tasks.claim) renewed by a heartbeat, and
records its progress (``cursor`` = the last inventory row done) as it goes, so a killed worker's copy is
taken over and resumed, not restarted.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps import access
from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.deliveries import sources
from apps.deliveries.models import Delivery, InventoryFile
from apps.storage import services as storage
from apps.storage.hashing import CHUNK
from apps.storage.models import blob_key
from portal.errors import Conflict, UserError
from portal.tasks import claim, dispatch

from .models import DeepCopy, RestoreRequest

log = logging.getLogger(__name__)
LEASE = datetime.timedelta(minutes=10)
BATCH = 500  # inventory rows per progress update


class DeepCopyError(RuntimeError):
    pass


def hashed(rows):
    """Only rows with digests: a file the inventory could not read has nothing to verify a copy against."""
    return rows.exclude(sha256="")


def _sha256_of(handle) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while block := handle.read(CHUNK):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def read_back(sha256: str) -> tuple[str, int] | None:
    """The SHA-256 and size of the deep copy stored under ``sha256``; None when there is none."""
    target = storage.deep()
    key = blob_key(sha256)
    if not target.exists(key):
        return None
    with target.open(key, "rb") as fh:
        return _sha256_of(fh)


def _copy_one(row: InventoryFile, delivery: Delivery) -> None:
    """Copy one file (unless its object is there already) and verify it against the inventory."""
    target = storage.deep()
    key = blob_key(row.sha256)
    if not target.exists(key):
        with sources.open_delivered(delivery, row.disk_path) as fh:
            target.save(key, File(fh, name=key))
    got = read_back(row.sha256)
    if got != (row.sha256, row.size):
        target.delete(key)
        raise DeepCopyError(f"the deep copy reads back as {got[0] if got else 'nothing'}")


# --- the copy ---------------------------------------------------------------------------------------


def deep_state(delivery: Delivery) -> DeepCopy | None:
    return DeepCopy.objects.filter(delivery=delivery).first()


@transaction.atomic(durable=True)
def request_copy(delivery: Delivery, *, user=None, request=None) -> DeepCopy:
    """Ask for the deep copy of an inventoried delivery (a data manager's button, or the hold sweep with
    ``user`` None). Queues the copy after commit; asking again for a failed copy starts it over."""
    if user is not None:
        access.require_data_manager(user)
    if delivery.state != Delivery.State.INVENTORIED:
        raise Conflict(
            "Only an inventoried delivery can be copied to deep storage (its checksums are needed)."
        )
    copy, created = DeepCopy.objects.get_or_create(delivery=delivery)
    if not created and copy.state == DeepCopy.State.FAILED:
        DeepCopy.objects.filter(pk=copy.pk).update(
            state=DeepCopy.State.PENDING,
            errors=[],
            cursor=0,
            files_copied=0,
            files_verified=0,
            bytes_copied=0,
        )
    record_event(
        service="distributions",
        method="requestDeepCopy",
        resource_id=str(delivery),
        user=user,
        request=request,
        auth_system="" if user else "worker",
        text=f"deep copy of {delivery} requested",
    )
    from . import tasks

    dispatch(tasks.copy_delivery, copy.pk)
    return copy


def copy_delivery(copy_pk: int) -> str:
    """Copy (or go on copying) one delivery to deep storage; returns the state. Claims the DeepCopy row;
    another worker holding it means this call does nothing."""
    lease = claim(
        DeepCopy.objects.filter(state__in=[DeepCopy.State.PENDING, DeepCopy.State.COPYING]),
        copy_pk,
        duration=LEASE,
        state=DeepCopy.State.COPYING,
    )
    if lease is None:
        return "taken"
    copy = DeepCopy.objects.select_related("delivery__cruise").get(pk=copy_pk)
    delivery = copy.delivery
    rows = hashed(InventoryFile.objects.filter(delivery=delivery)).order_by("pk")
    total = rows.count()
    DeepCopy.objects.filter(pk=copy_pk).update(files_total=total)
    errors = list(copy.errors)  # a resumed copy keeps what the first run found
    try:
        with lease.heartbeat(LEASE.total_seconds() / 3):
            cursor = copy.cursor
            while True:
                batch = list(rows.filter(pk__gt=cursor)[:BATCH])
                if not batch:
                    break
                done = copied = 0
                for row in batch:
                    try:
                        _copy_one(row, delivery)
                        done += 1
                        copied += row.size
                    except (OSError, DeepCopyError, UserError) as exc:
                        errors.append(f"{row.path}: {exc}")
                cursor = batch[-1].pk
                DeepCopy.objects.filter(pk=copy_pk, lease_owner=lease.owner).update(
                    cursor=cursor,
                    errors=errors[:200],
                    files_copied=F("files_copied") + done,
                    files_verified=F("files_verified") + done,
                    bytes_copied=F("bytes_copied") + copied,
                )
                if lease.lost:
                    return "lost"
    except BaseException:
        # Deep storage unreachable (a temporary error: the task retries) or the worker stopping: the
        # progress so far is saved; the next run, or the sweep once the lease is free, goes on from it.
        lease.release()
        raise
    state = DeepCopy.State.FAILED if errors else DeepCopy.State.VERIFIED
    now = timezone.now()
    lease.release(
        state=state, errors=errors[:200], finished_at=now, last_check_at=now, last_check_ok=not errors
    )
    record_event(
        service="distributions",
        method="deepCopy",
        resource_id=str(delivery),
        auth_system="worker",
        category=AuditEvent.Category.ERROR if errors else AuditEvent.Category.INFO,
        text=f"deep copy of {delivery}: {total - len(errors)} of {total} files copied and verified"
        + (f"; {len(errors)} failed, first: {errors[0]}" if errors else ""),
    )
    return state


def verify_copy(delivery: Delivery, *, user=None) -> list[str]:
    """Read every deep object of ``delivery`` back and compare it with the inventory's SHA-256 and size;
    records the result on the DeepCopy (and an error event when something is wrong). Returns the problems."""
    problems = []
    for row in (
        hashed(InventoryFile.objects.filter(delivery=delivery)).order_by("pk").iterator(chunk_size=BATCH)
    ):
        got = read_back(row.sha256)
        if got is None:
            problems.append(f"{row.path}: missing from deep storage")
        elif got != (row.sha256, row.size):
            problems.append(f"{row.path}: reads back as SHA-256 {got[0]} ({got[1]} bytes)")
    ok = not problems
    updates = {"last_check_at": timezone.now(), "last_check_ok": ok}
    if not ok:
        updates.update(state=DeepCopy.State.FAILED, errors=problems[:200])
    DeepCopy.objects.filter(delivery=delivery).update(**updates)
    record_event(
        service="distributions",
        method="verifyDeepCopy",
        resource_id=str(delivery),
        user=user,
        auth_system="" if user else "worker",
        category=AuditEvent.Category.INFO if ok else AuditEvent.Category.ERROR,
        text="deep copy verified"
        if ok
        else f"deep copy damaged: {len(problems)} files, first: {problems[0]}",
    )
    return problems


def copies_due():
    """Inventoried deliveries of cruises under a hold in force, without a deep copy yet (the sweep's work)."""
    from apps.holds.models import Hold

    held_cruises = Hold.objects.active().values("cruise_id")
    return Delivery.objects.filter(
        state=Delivery.State.INVENTORIED, cruise_id__in=held_cruises, deep_copy__isnull=True
    )


# --- restores ---------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def request_restore(
    delivery: Delivery,
    user,
    *,
    scope: str,
    path: str = "",
    reason: str = "",
    target: str = "folder",
    request=None,
) -> RestoreRequest:
    """The operator or the chief scientist (or a data manager) asks for a restore of the whole delivery,
    a folder or one file. A data manager carries it out (``approve_restore``)."""
    access.require_restore_requester(user, delivery.cruise)
    if scope not in RestoreRequest.Scope.values or target not in RestoreRequest.Target.values:
        raise UserError("Choose what to restore (delivery, folder or file) and where (folder or primary).")
    path = path.strip().strip("/")
    if scope != RestoreRequest.Scope.DELIVERY:
        if not path:
            raise UserError("Name the folder or file to restore.")
        if not _restore_rows(delivery, scope, path).exists():
            raise UserError(f"Nothing in shipment {delivery.shipment} matches {path!r}.")
    restore = RestoreRequest.objects.create(
        delivery=delivery, scope=scope, path=path, reason=reason.strip(), target=target, requested_by=user
    )
    record_event(
        service="distributions",
        method="requestRestore",
        resource_id=str(delivery),
        user=user,
        request=request,
        text=f"restore {restore.pk} requested: {scope} {path or '(all)'} to {target}",
    )
    return restore


def _restore_rows(delivery: Delivery, scope: str, path: str):
    rows = hashed(InventoryFile.objects.filter(delivery=delivery))
    if scope == RestoreRequest.Scope.FILE:
        return rows.filter(path=path)
    if scope == RestoreRequest.Scope.FOLDER:
        return rows.filter(path__startswith=f"{path}/")
    return rows


@transaction.atomic(durable=True)
def approve_restore(restore: RestoreRequest, user, *, approve: bool = True, request=None) -> RestoreRequest:
    """A data manager approves (the worker restores) or declines a restore request."""
    access.require_data_manager(user)
    restore = RestoreRequest.objects.select_for_update().get(pk=restore.pk)
    if restore.state != RestoreRequest.State.REQUESTED:
        raise Conflict(f"This request is {restore.get_state_display().lower()} already.")
    restore.state = RestoreRequest.State.APPROVED if approve else RestoreRequest.State.DECLINED
    restore.handled_by, restore.handled_at = user, timezone.now()
    restore.save(update_fields=["state", "handled_by", "handled_at"])
    record_event(
        service="distributions",
        method="approveRestore" if approve else "declineRestore",
        resource_id=str(restore.delivery),
        user=user,
        request=request,
        text=f"restore {restore.pk} {'approved' if approve else 'declined'}",
    )
    if approve:
        from . import tasks

        dispatch(tasks.run_restore, restore.pk)
    return restore


def restore_folder(restore: RestoreRequest) -> Path:
    delivery = restore.delivery
    return (
        Path(settings.DISTRIBUTION_RESTORE_DIR)
        / delivery.cruise.cruise_id
        / delivery.shipment
        / f"restore-{restore.pk}"
    )


def run_restore(restore_pk: int) -> str:
    """Restore the approved request's files from deep storage, each verified against the inventory's
    SHA-256: into the restore folder (the delivery's own layout) or back into primary storage as blobs."""
    lease = claim(
        RestoreRequest.objects.filter(state=RestoreRequest.State.APPROVED), restore_pk, duration=LEASE
    )
    if lease is None:
        return "taken"
    restore = RestoreRequest.objects.select_related("delivery__cruise").get(pk=restore_pk)
    rows = _restore_rows(restore.delivery, restore.scope, restore.path).order_by("path")
    folder = restore_folder(restore)
    target = storage.deep()
    problems, files, size = [], 0, 0
    with lease.heartbeat(LEASE.total_seconds() / 3):
        for row in rows.iterator(chunk_size=BATCH):
            try:
                with target.open(blob_key(row.sha256), "rb") as src:
                    if restore.target == RestoreRequest.Target.PRIMARY:
                        blob = storage.store_stream(src)
                        got = blob.sha256
                    else:
                        dest = folder / row.path
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        digest = hashlib.sha256()
                        with open(dest, "wb") as out:
                            while block := src.read(CHUNK):
                                digest.update(block)
                                out.write(block)
                        got = digest.hexdigest()
                if got != row.sha256:
                    if restore.target == RestoreRequest.Target.FOLDER:
                        os.replace(dest, dest.with_name(dest.name + ".corrupt"))
                    problems.append(
                        f"{row.path}: restored bytes have SHA-256 {got}, the inventory says {row.sha256}"
                    )
                    continue
                files += 1
                size += row.size
            except FileNotFoundError:
                problems.append(f"{row.path}: not in deep storage")
            except OSError as exc:
                problems.append(f"{row.path}: {exc}")
    state = RestoreRequest.State.FAILED if problems else RestoreRequest.State.DONE
    destination = "primary storage" if restore.target == RestoreRequest.Target.PRIMARY else str(folder)
    message = f"{files} files ({size} bytes) restored and verified to {destination}"
    if problems:
        message += f"; {len(problems)} failed: " + "; ".join(problems[:20])
    lease.release(
        state=state, files_restored=files, bytes_restored=size, destination=destination, message=message
    )
    record_event(
        service="distributions",
        method="restore",
        resource_id=str(restore.delivery),
        auth_system="worker",
        category=AuditEvent.Category.ERROR if problems else AuditEvent.Category.INFO,
        text=f"restore {restore.pk}: {message}",
    )
    return state
