"""The verbs of a resumable upload: create, receive bytes, cancel, place (worker), expire (beat).

Contracts:
- Bytes go to ``SCRATCH_DIR/uploads/<id>``, appended at the upload's offset and flushed (fsync) before the
  new offset is written to the database, so ``Upload.offset`` never counts a byte that is not on disk.
  A PATCH checkpoints every ``CHECKPOINT`` bytes (without a per-chunk checksum), so a killed process
  loses at most that much; bytes past the recorded offset are unconfirmed and cut off at the next PATCH.
- A PATCH whose connection drops keeps what arrived (unless it carried an Upload-Checksum, which cannot
  be checked on part of a chunk: then the chunk is discarded). A client resumes from HEAD's offset.
- One PATCH at a time per upload: an exclusive ``flock`` on the file, taken without waiting (a second
  one is answered 423, which tus clients retry). A lock on the open file, not a lease row, because the
  kernel releases it the moment a killed web worker's process is gone.
- Complete uploads are placed by the worker (``place_upload``), never in the request: a content-addressed
  blob, or the registered target's handler (``targets.py``). Partial uploads never become blobs.
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import hmac
import logging
import os
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps import access
from apps.audit.services import record_event
from apps.storage import scratch
from apps.storage import services as storage
from portal.errors import Conflict, UserError
from portal.paths import check_relative_path, collision_key
from portal.tasks import TemporaryError, claim, dispatch

from . import targets, tus
from .models import Upload

log = logging.getLogger(__name__)

BLOCK = 1024 * 1024
CHECKPOINT = 64 * 1024 * 1024
PLACE_LEASE = datetime.timedelta(minutes=10)


def _expiry() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=settings.UPLOADS_EXPIRE_HOURS)


def _target_of(metadata: dict[str, str]) -> tuple[str, str]:
    """The one registered target kind named in the metadata, and its value; ("", "") for none."""
    named = [kind for kind in targets.kinds() if kind in metadata]
    if len(named) > 1:
        raise UserError(f"Upload-Metadata names several targets ({', '.join(named)}); name one.")
    if not named:
        return "", ""
    value = metadata[named[0]].strip()
    if not value:
        raise UserError(f"Upload-Metadata: the target {named[0]!r} has no value.")
    return named[0], value


def _relative_path(metadata: dict[str, str]) -> tuple[str, str]:
    filename = metadata.get("filename") or metadata.get("name") or ""
    relative = metadata.get("relativePath") or ""
    if relative in ("null", "undefined"):  # tus-js-client sends String(null) for a file outside a folder
        relative = ""
    return filename, check_relative_path(relative or filename or "upload")


@transaction.atomic(durable=True)
def create_upload(user, *, length: int, metadata: dict[str, str], request=None) -> Upload:
    """A new upload of ``length`` bytes (tus POST). Refuses, before a byte is sent: a length past
    UPLOADS_MAX_SIZE (413), a scratch disk that cannot hold it (ScratchFull, 507), a bad path (400), a
    target this person may not upload to (403/404, the target's ``check``), and a path another live
    upload to the same target is sending (409)."""
    if length > settings.UPLOADS_MAX_SIZE:
        raise tus.TusError(
            f"The file is {length:,} bytes; the largest upload accepted is {settings.UPLOADS_MAX_SIZE:,} "
            "bytes (UPLOADS_MAX_SIZE). Ask a data manager about a drop-folder delivery for larger files.",
            413,
        )
    filename, relative = _relative_path(metadata)
    kind, target_id = _target_of(metadata)
    algorithm, checksum = tus.file_checksum(metadata)
    if kind:
        targets.get(kind).check(user, target_id, {"relative_path": relative, "length": length})
        clash = Upload.objects.filter(
            target_kind=kind,
            target_id=target_id,
            path_key=collision_key(relative),
            state__in=Upload.LIVE_STATES,
        ).first()
        if clash is not None:
            raise Conflict(
                f"{relative!r} is being uploaded to this {kind} already ({clash.relative_path!r})."
            )
    else:
        access.require_blob_uploader(user)
    scratch.check_free_space(length, f"an upload of {length:,} bytes")
    upload = Upload.objects.create(
        user=user,
        length=length,
        filename=filename[:255],
        relative_path=relative,
        path_key=collision_key(relative),
        filetype=(metadata.get("filetype") or metadata.get("type") or "")[:255],
        metadata=metadata,
        target_kind=kind,
        target_id=target_id,
        checksum_algorithm=algorithm,
        checksum=checksum,
        expires_at=_expiry(),
    )
    upload.path.parent.mkdir(parents=True, exist_ok=True)
    upload.path.touch(exist_ok=False)
    record_event(
        service="uploads",
        method="create_upload",
        resource_id=f"upload/{upload.pk}",
        user=user,
        request=request,
        text=f"{relative!r}, {length:,} bytes" + (f", to {kind} {target_id}" if kind else ""),
    )
    if length == 0:
        _mark_received(upload)
    return upload


def _mark_received(upload: Upload) -> None:
    """All bytes are in: hand the upload to the worker (after commit)."""
    from .tasks import finish_upload

    now = timezone.now()
    Upload.objects.filter(pk=upload.pk).update(state=Upload.State.RECEIVED, received_at=now, updated_at=now)
    upload.state, upload.received_at = Upload.State.RECEIVED, now
    dispatch(finish_upload, str(upload.pk))


def _gone(upload: Upload) -> tus.TusError:
    if upload.state == Upload.State.CANCELLED:
        return tus.TusError("This upload was cancelled; start a new one.", 410)
    return tus.TusError(
        f"This upload expired (no bytes for {settings.UPLOADS_EXPIRE_HOURS} hours) and its bytes were "
        "removed; start a new one.",
        410,
    )


def _hasher(algorithm: str | None):
    return tus.CHECKSUM_ALGORITHMS[algorithm]() if algorithm else None


def receive(
    upload: Upload,
    *,
    offset: int,
    stream: BinaryIO,
    length: int | None,
    checksum: tuple[str, bytes] | None = None,
) -> Upload:
    """Append the body of one PATCH (``length`` bytes, None = until the stream ends) at ``offset``.

    Raises TusError: 409 when ``offset`` is not the upload's offset, 410 when it was cancelled or expired,
    413 when the bytes would pass Upload-Length, 423 while another PATCH is writing, 460 when the bytes
    do not match ``checksum`` (they are discarded); ScratchFull (507) when the disk is full (the bytes of
    this request are discarded, the upload stays resumable). Returns the upload with its new offset."""
    if upload.is_gone:
        raise _gone(upload)
    if upload.state != Upload.State.RECEIVING:
        if offset == upload.length and not length:
            return upload  # a repeated last PATCH after a lost answer
        raise tus.TusError(
            f"This upload is complete ({upload.length:,} bytes); nothing more can be added.", 409
        )
    if length:
        scratch.check_free_space(length, "this part of the upload")
    try:
        fd = os.open(upload.path, os.O_WRONLY)
    except FileNotFoundError:
        raise _gone(upload) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise tus.TusError(
                "Another request is sending bytes to this upload; try again shortly.", 423
            ) from None
        upload.refresh_from_db()
        if upload.is_gone:
            raise _gone(upload)
        upload.offset = _reconcile(fd, upload)
        if offset != upload.offset:
            raise tus.TusError(
                f"Upload-Offset {offset:,} does not match the server's offset {upload.offset:,}: ask with HEAD "
                "and resume from there.",
                409,
            )
        if length is not None and offset + length > upload.length:
            raise tus.TusError(
                f"{length:,} bytes at offset {offset:,} pass Upload-Length {upload.length:,}.", 413
            )
        _append(fd, upload, stream, length, checksum)
    finally:
        os.close(fd)  # releases the lock
    return upload


def _reconcile(fd: int, upload: Upload) -> int:
    """The offset to continue from: bytes past the recorded offset were never confirmed (a process
    killed mid-write) and are cut off; a file shorter than the record (scratch lost) lowers it."""
    size = os.fstat(fd).st_size
    if size > upload.offset:
        os.ftruncate(fd, upload.offset)
        return upload.offset
    if size < upload.offset:
        log.warning(
            "upload %s: %d bytes on disk, %d recorded; resuming from the disk", upload.pk, size, upload.offset
        )
        Upload.objects.filter(pk=upload.pk).update(offset=size)
        return size
    return upload.offset


def _append(fd: int, upload: Upload, stream: BinaryIO, length: int | None, checksum) -> None:
    start = upload.offset
    os.lseek(fd, start, os.SEEK_SET)
    hasher = _hasher(checksum[0] if checksum else None)
    written, since_checkpoint, dropped, limit = 0, 0, False, upload.length - start
    try:
        while length is None or written < length:
            want = BLOCK if length is None else min(BLOCK, length - written)
            block, dropped = _read(stream, want)
            if not block:
                dropped = dropped or (length is not None and written < length)
                break
            if written + len(block) > limit:
                raise tus.TusError(f"The body passes Upload-Length {upload.length:,}.", 413)
            _write_all(fd, block)
            written += len(block)
            since_checkpoint += len(block)
            if hasher is not None:
                hasher.update(block)
            elif since_checkpoint >= CHECKPOINT:
                _checkpoint(fd, upload, start + written)
                since_checkpoint = 0
            if dropped:
                break
    except OSError as exc:
        os.ftruncate(fd, upload.offset)
        if scratch.is_disk_full(exc):
            raise scratch.ScratchFull(scratch.full_message("this part of the upload")) from exc
        raise
    except BaseException:
        os.ftruncate(fd, upload.offset)
        raise
    if hasher is not None:
        if dropped or not hmac.compare_digest(hasher.digest(), checksum[1]):
            os.ftruncate(fd, start)
            raise tus.ChecksumMismatch(
                "The bytes received do not match Upload-Checksum; they were discarded. Send them again."
                if not dropped
                else "The connection dropped before the whole chunk arrived; it was discarded."
            )
    if dropped:
        log.info(
            "upload %s: connection dropped, keeping %d bytes (offset %d)", upload.pk, written, start + written
        )
    _checkpoint(fd, upload, start + written)


def _read(stream: BinaryIO, want: int) -> tuple[bytes, bool]:
    """The next block of the body and whether the client went away (reset, timeout) while it came.

    After a reset the stream is asked once more: gunicorn's reader keeps what it had received of the
    block when the reset interrupts it, and hands it over at the next read (which then sees the end)."""
    try:
        return stream.read(want), False
    except OSError:
        try:
            return stream.read(want), True
        except OSError:
            return b"", True


def _write_all(fd: int, block: bytes) -> None:
    view = memoryview(block)
    while view:
        view = view[os.write(fd, view) :]


def _checkpoint(fd: int, upload: Upload, offset: int) -> None:
    """Make the bytes durable, then record the offset (and, at the end, hand the upload on)."""
    if settings.STORAGE_FSYNC:
        os.fsync(fd)
    now = timezone.now()
    with transaction.atomic():
        updated = Upload.objects.filter(pk=upload.pk, state=Upload.State.RECEIVING).update(
            offset=offset, updated_at=now, expires_at=_expiry()
        )
        if not updated:  # cancelled or expired meanwhile
            upload.refresh_from_db()
            raise _gone(upload)
        upload.offset, upload.updated_at = offset, now
        upload.expires_at = _expiry()
        if offset == upload.length:
            _mark_received(upload)
            record_event(
                service="uploads",
                method="receive_upload",
                resource_id=f"upload/{upload.pk}",
                user=upload.user,
                text=f"all {upload.length:,} bytes received; waiting for the worker",
            )


@transaction.atomic(durable=True)
def cancel_upload(upload: Upload, *, request=None) -> None:
    """tus DELETE: an upload still receiving is cancelled and its bytes removed (a PATCH writing at
    that moment finds it gone). A complete upload is the worker's: 409."""
    locked = Upload.objects.select_for_update().get(pk=upload.pk)
    if locked.is_gone:
        raise _gone(locked)
    if locked.state != Upload.State.RECEIVING:
        raise Conflict("This upload is complete and is being stored, or was; it cannot be cancelled.")
    Upload.objects.filter(pk=locked.pk).update(state=Upload.State.CANCELLED, updated_at=timezone.now())
    locked.path.unlink(missing_ok=True)
    record_event(
        service="uploads",
        method="cancel_upload",
        resource_id=f"upload/{locked.pk}",
        user=locked.user,
        request=request,
        text=f"{locked.relative_path!r} cancelled at {locked.offset:,} of {locked.length:,} bytes",
    )


# --- the worker -----------------------------------------------------------------------------------


def _hash_file(path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


def place_upload(pk) -> Upload | None:
    """Place a complete upload (worker): verify the whole-file checksum declared in its metadata, then
    store it as a blob or hand it to its target's handler. Claimed with a lease, so a re-delivered task
    or a second worker does nothing while one works, and a killed worker's upload is taken over.
    Returns the upload, or None when there was nothing to do."""
    due = Upload.objects.filter(state__in=[Upload.State.RECEIVED, Upload.State.PLACING])
    before = due.filter(pk=pk).values_list("state", flat=True).first()
    lease = claim(due, pk, duration=PLACE_LEASE, state=Upload.State.PLACING)
    if lease is None:
        return None
    upload = Upload.objects.select_related("user").get(pk=pk)
    try:
        with lease.heartbeat(interval=PLACE_LEASE.total_seconds() / 4):
            blob, result = _place(upload, taken_over=before == Upload.State.PLACING)
    except (UserError, Conflict) as exc:
        _finish(lease, upload, Upload.State.FAILED, error=exc.message)
        return upload
    except TemporaryError:
        lease.release(state=Upload.State.RECEIVED)  # the task retries (storage down, …)
        raise
    except Exception as exc:  # a bug or a broken disk: say so on the upload instead of retrying for ever
        log.exception("upload %s could not be placed", upload.pk)
        _finish(
            lease,
            upload,
            Upload.State.FAILED,
            error=f"The file could not be stored ({type(exc).__name__}); tell the data managers.",
        )
        return upload
    _finish(lease, upload, Upload.State.DONE, result=result, blob=blob)
    return upload


def _place(upload: Upload, *, taken_over: bool):
    """``taken_over``: a previous worker was placing this upload and died; a target's file that is gone
    from scratch was moved by it (a handler's move is a rename, or a copy that removes the source last)."""
    path = upload.path
    target = targets.get(upload.target_kind) if upload.target_kind else None
    if upload.target_kind and target is None:
        raise UserError(f"Nobody handles uploads to {upload.target_kind!r} any more.")
    if not path.exists():
        if target is not None and taken_over:
            return None, "placed (the worker was restarted after moving the file)"
        raise UserError("The bytes of this upload are gone from the scratch disk; upload the file again.")
    size = path.stat().st_size
    if size != upload.length:
        raise UserError(f"{size:,} bytes on disk, {upload.length:,} announced: upload the file again.")
    if target is None:
        blob = storage.store_file(path)
        if upload.checksum and getattr(blob, upload.checksum_algorithm) != upload.checksum:
            raise UserError(_mismatch(upload, getattr(blob, upload.checksum_algorithm)))
        return blob, f"blob {blob.sha256}"
    if upload.checksum:
        found = _hash_file(path, upload.checksum_algorithm)
        if found != upload.checksum:
            raise UserError(_mismatch(upload, found))
    return None, target.place(upload, path)


def _mismatch(upload: Upload, found: str) -> str:
    return (
        f"The file's {upload.checksum_algorithm} is {found}, not {upload.checksum} as declared: it was "
        "changed or damaged on the way. Upload it again."
    )


def _finish(lease, upload: Upload, state: str, *, error: str = "", result: str = "", blob=None) -> None:
    now = timezone.now()
    with transaction.atomic():
        lease.release(state=state, error=error, result=result, blob=blob, finished_at=now, updated_at=now)
        record_event(
            service="uploads",
            method="place_upload",
            resource_id=f"upload/{upload.pk}",
            user=upload.user,
            category="info" if state == Upload.State.DONE else "warn",
            auth_system="worker",
            text=f"{upload.relative_path!r}: {result or error}",
        )
    upload.state, upload.error, upload.result, upload.blob, upload.finished_at = (
        state,
        error,
        result,
        blob,
        now,
    )
    upload.path.unlink(missing_ok=True)


def live_uploads_to(kind: str, target_id: str, *, besides: Upload | None = None):
    """Uploads to one target still receiving or waiting for the worker (a handler asks before it starts
    the next step, e.g. a delivery's inventory)."""
    qs = Upload.objects.filter(target_kind=kind, target_id=str(target_id), state__in=Upload.LIVE_STATES)
    return qs.exclude(pk=besides.pk) if besides is not None else qs


# --- beat -----------------------------------------------------------------------------------------


def expire_uploads(now: datetime.datetime | None = None) -> int:
    """Mark uploads that received nothing for UPLOADS_EXPIRE_HOURS expired and remove their bytes; also
    remove the bytes of cancelled, failed and finished uploads a crash left behind. Returns how many expired."""
    now = now or timezone.now()
    expired = 0
    for upload in Upload.objects.filter(state=Upload.State.RECEIVING, expires_at__lte=now).only("pk"):
        if Upload.objects.filter(pk=upload.pk, state=Upload.State.RECEIVING, expires_at__lte=now).update(
            state=Upload.State.EXPIRED, updated_at=now
        ):
            upload.path.unlink(missing_ok=True)
            expired += 1
    done = Upload.objects.exclude(state__in=Upload.LIVE_STATES).filter(
        updated_at__gte=now - datetime.timedelta(days=2)
    )
    for upload in done.only("pk"):
        upload.path.unlink(missing_ok=True)
    if expired:
        record_event(
            service="uploads",
            method="expire_uploads",
            auth_system="worker",
            text=f"{expired} uploads expired",
        )
    return expired


def due_for_placing(now: datetime.datetime | None = None):
    """Complete uploads the worker should be placing and is not (a lost message, a killed worker)."""
    now = now or timezone.now()
    waiting = Q(state=Upload.State.RECEIVED, received_at__lt=now - datetime.timedelta(minutes=1))
    lapsed = Q(state=Upload.State.PLACING, lease_until__lt=now)
    return Upload.objects.filter(waiting | lapsed)
