"""Writing and reading blobs.

Contract: ``store_stream``/``store_file`` read their input once, in chunks, computing size, MD5, SHA-1 and
SHA-256 in the same pass, and never hold a whole file in memory. The object is in storage before its
``Blob`` row exists; a failure in between leaves at most an unreferenced object under its own
content address, which is harmless and is picked up by the next write of the same content.
"""

from __future__ import annotations

import datetime
import functools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, QuerySet, RestrictedError
from django.utils import timezone

from portal.errors import UserError
from portal.tasks import TemporaryError, claim, dispatch

from . import scratch
from .hashing import CHUNK, Digests, MultiHasher, copy_and_hash
from .models import Blob, blob_key

log = logging.getLogger(__name__)


class StorageUnavailable(TemporaryError, RuntimeError):
    """The storage backend cannot be reached or refused the operation. Shown to users as 503; a task
    that meets it tries again later (a temporary error)."""


class BlobNotFound(LookupError):
    pass


class BlobRemoved(BlobNotFound):
    """The blob's bytes were deleted on purpose (a tainted version's data): downloads answer 410 Gone."""


class IntegrityMismatch(ValueError):
    """Bytes read back do not match the digest they were stored under."""


def primary() -> Storage:
    return storages["blobs"]


def deep() -> Storage:
    return storages["deep"]


def _is_local(storage: Storage) -> bool:
    return isinstance(storage, FileSystemStorage)


def _backend_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        errors += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - boto3 is a dependency
        pass
    return tuple(errors)


# --- writing --------------------------------------------------------------------------------------


def _spool_and_hash(
    stream: BinaryIO, target_dir: Path, max_bytes: int | None, *, direct: bool = False, fsync: bool = True
) -> tuple[Path, Digests]:
    """Copy ``stream`` into a temporary file in ``target_dir``, hashing as it goes (one read per byte).

    ``direct``: write with O_DIRECT (STORAGE_DIRECT_IO) — for files that stay where they are written
    (the local blob root), not for spools that are read straight back for an S3 upload. ``fsync``
    (when STORAGE_FSYNC is on): flush this file now; ``store_tree`` instead flushes once per batch.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=target_dir)
    except FileNotFoundError:  # first write: make the folder (not checked on every write: syscalls add up)
        target_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=target_dir)
    try:
        try:
            digests = copy_and_hash(
                stream, fd, direct=direct and settings.STORAGE_DIRECT_IO, max_bytes=max_bytes
            )
            if direct:
                os.fchmod(fd, 0o444)  # blobs never change: read-only from the start
            if fsync and settings.STORAGE_FSYNC:
                os.fsync(fd)
        finally:
            os.close(fd)
        return Path(name), digests
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


_AT_FDCWD, _AT_SYMLINK_FOLLOW = -100, 0x400
_tmpfile_roots: dict[str, bool] = {}


@functools.cache
def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _link_unnamed(fd: int, dest: Path) -> None:
    """Give an O_TMPFILE file a name: linkat(2) through /proc/self/fd with AT_SYMLINK_FOLLOW (what
    open(2) documents; Python's os.link would link the /proc symlink itself)."""
    import ctypes

    if _libc().linkat(
        _AT_FDCWD, f"/proc/self/fd/{fd}".encode(), _AT_FDCWD, os.fsencode(dest), _AT_SYMLINK_FOLLOW
    ):
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(dest))


def _tmpfile_works(root: Path) -> bool:
    """Whether this folder's file system can create unnamed files and name them later (checked once)."""
    key = str(root)
    if key not in _tmpfile_roots:
        root.mkdir(parents=True, exist_ok=True)  # an OSError here is the storage being unusable
        probe = root / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            fd = os.open(root, os.O_TMPFILE | os.O_WRONLY, 0o600)
            try:
                _link_unnamed(fd, probe)
            finally:
                os.close(fd)
            probe.unlink()
            _tmpfile_roots[key] = True
        except (AttributeError, OSError):
            _tmpfile_roots[key] = False
    return _tmpfile_roots[key]


def _write_local(
    storage: FileSystemStorage,
    stream: BinaryIO,
    max_bytes: int | None,
    *,
    fsync: bool = True,
    expect: str | None = None,
) -> Digests:
    """Write a local object as an unnamed file (O_TMPFILE) and name it once its SHA-256 is known: no
    temporary names, no rename, nothing left behind by a crash or an error. Where the file system has no
    O_TMPFILE, a named spool file and a rename do the same. ``expect``: refuse any other content."""
    root = Path(storage.location)
    if not _tmpfile_works(root):
        spooled, digests = _spool_and_hash(stream, root / ".incoming", max_bytes, direct=True, fsync=fsync)
        if expect is not None and digests.sha256 != expect:
            spooled.unlink(missing_ok=True)
            raise IntegrityMismatch(f"blob {expect} read back as {digests.sha256}")
        _put_object(storage, blob_key(digests.sha256), spooled)
        return digests
    fd = os.open(root, os.O_TMPFILE | os.O_WRONLY, 0o444)
    try:
        digests = copy_and_hash(stream, fd, direct=settings.STORAGE_DIRECT_IO, max_bytes=max_bytes)
        if expect is not None and digests.sha256 != expect:
            raise IntegrityMismatch(f"blob {expect} read back as {digests.sha256}")
        if fsync and settings.STORAGE_FSYNC:
            os.fsync(fd)
        final = Path(storage.path(blob_key(digests.sha256)))
        try:
            _link_unnamed(fd, final)
        except FileExistsError:  # stored before: same name, same bytes
            pass
        except FileNotFoundError:  # the first object in this fan-out folder
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                _link_unnamed(fd, final)
            except FileExistsError:
                pass
        if fsync and settings.STORAGE_FSYNC:  # the new name too, not only the bytes
            _fsync_dir(final.parent)
        return digests
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _put_object(storage: Storage, key: str, spooled: Path) -> None:
    """Place a spooled file under ``key``; does nothing if the key already holds it."""
    if _is_local(storage):
        final = Path(storage.path(key))
        if final.exists():
            spooled.unlink(missing_ok=True)
            return
        try:
            os.replace(spooled, final)  # atomic within one file system
        except FileNotFoundError:  # the first object in this fan-out folder
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(spooled, final)
        if os.stat(final).st_mode & 0o222:
            os.chmod(final, 0o444)
        return
    try:
        if not storage.exists(key):
            with open(spooled, "rb") as fh:
                storage.save(key, File(fh, name=key))
    finally:
        spooled.unlink(missing_ok=True)


def _flush_file_system(folder: Path) -> None:
    """Make everything written under ``folder`` durable with one syncfs(2), not one fsync per file."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        if getattr(_libc(), "syncfs", None) is None or _libc().syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _record(d: Digests) -> Blob:
    """The Blob row for these digests, created if new; ``blob.is_new`` says which."""
    try:
        with transaction.atomic():
            blob, created = Blob.objects.get_or_create(
                sha256=d.sha256, defaults={"size": d.size, "md5": d.md5, "sha1": d.sha1}
            )
    except IntegrityError:  # a concurrent writer recorded the same content first
        blob, created = Blob.objects.get(sha256=d.sha256), False
    if blob.removed_at:
        _refuse_removed(blob)
    blob.is_new = created
    return blob


class ContentRemoved(UserError):
    """These exact bytes were removed from the repository on purpose (tainted); they are not stored again."""


def _refuse_removed(blob: Blob) -> None:
    """The bytes just placed are content a data manager removed: delete them again and refuse."""
    try:
        primary().delete(blob.key)
    except _backend_errors():
        log.warning("could not delete the re-stored bytes of removed blob %s", blob.sha256)
    raise ContentRemoved("This file's content was removed from the repository and cannot be stored again.")


def _store_object(stream: BinaryIO, max_bytes: int | None = None, *, fsync: bool = True) -> Digests:
    """Spool, hash and place the object; no database work (safe on any thread)."""
    storage = primary()
    try:
        if _is_local(storage):
            return _write_local(storage, stream, max_bytes, fsync=fsync)
        spooled, digests = _spool_and_hash(stream, settings.SCRATCH_DIR, max_bytes, fsync=fsync)
        _put_object(storage, blob_key(digests.sha256), spooled)
    except ValueError:
        raise
    except _backend_errors() as exc:
        if scratch.is_disk_full(exc) and not _is_local(storage):
            # The spool for S3 lives in SCRATCH_DIR: that disk is full, not the object store down.
            raise scratch.ScratchFull(scratch.full_message("the file")) from exc
        raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc
    return digests


def store_stream(stream: BinaryIO, *, max_bytes: int | None = None) -> Blob:
    """Store the bytes of a readable binary stream as a blob and return it (existing or new:
    ``blob.is_new``). Raises StorageUnavailable when the backend fails; no row is written then."""
    return _record(_store_object(stream, max_bytes))


def _store_file_object(path: str | os.PathLike, fsync: bool = True) -> Digests:
    with open(path, "rb", buffering=0) as fh:
        return _store_object(fh, fsync=fsync)


def store_file(path: str | os.PathLike) -> Blob:
    return _record(_store_file_object(path))


def store_upload(upload) -> Blob:
    """Store an uploaded file (Django's UploadedFile). Uploads arrive as temporary files in
    SCRATCH_DIR (``portal.uploads``); small in-memory ones are streamed the same way."""
    if hasattr(upload, "temporary_file_path"):
        return store_file(upload.temporary_file_path())
    upload.seek(0)
    return store_stream(upload)


@transaction.atomic
def upload_blob(upload, *, user, request=None) -> tuple[Blob, bool]:
    """A data manager's upload through the storage page: store it and record who did.

    Returns the blob and whether it was new. A storage outage raises StorageUnavailable before any
    row is written (the object is stored first, its row second).
    """
    from apps.audit.services import record_event

    blob = store_upload(upload)
    record_event(
        service="storage",
        method="upload_blob",
        resource_id=f"blob/{blob.sha256}",
        user=user,
        request=request,
        text=f"{upload.name!r}: {blob.size} bytes, md5 {blob.md5}"
        + ("" if blob.is_new else " (already stored)"),
    )
    return blob, blob.is_new


def store_bytes(data: bytes) -> Blob:
    """For small generated documents (EML, reports). Large content must use ``store_stream``."""
    import io

    return store_stream(io.BytesIO(data))


def store_tree(paths: Iterable[str | os.PathLike], workers: int = 2) -> list[Blob]:
    """Store many files, ``workers`` at a time, and return their blobs in the same order.

    Threads do the hashing and the object writes (hashlib and file I/O release the GIL). Local objects
    are made durable together, by one syncfs of the blob root's file system instead of an fsync per
    file (thousands of small files would otherwise wait for thousands of journal commits). Then the
    rows are written on the calling thread, in one transaction and a few bulk statements, so the
    caller's transaction and database connection are the only ones used.
    """
    storage = primary()
    batched = _is_local(storage) and settings.STORAGE_FSYNC
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store") as pool:
        digests = list(pool.map(lambda path: _store_file_object(path, fsync=not batched), paths))
    if batched:
        try:
            _flush_file_system(Path(storage.location))
        except OSError as exc:
            raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc
    return _record_many(digests)


def _record_many(digests: list[Digests], batch: int = 500) -> list[Blob]:
    unique = {d.sha256: d for d in digests}
    keys = list(unique)
    with transaction.atomic():
        existing: set[str] = set()
        for i in range(0, len(keys), batch):
            existing.update(
                Blob.objects.filter(sha256__in=keys[i : i + batch]).values_list("sha256", flat=True)
            )
        Blob.objects.bulk_create(
            [
                Blob(sha256=d.sha256, size=d.size, md5=d.md5, sha1=d.sha1)
                for k, d in unique.items()
                if k not in existing
            ],
            batch_size=batch,
            ignore_conflicts=True,  # a concurrent writer may record some first
        )
    found: dict[str, Blob] = {}
    for i in range(0, len(keys), batch):
        found.update(Blob.objects.in_bulk(keys[i : i + batch]))
    for key, blob in found.items():
        if blob.removed_at:
            _refuse_removed(blob)
        blob.is_new = key not in existing
    return [found[d.sha256] for d in digests]


# --- reading --------------------------------------------------------------------------------------


def get_blob(sha256: str) -> Blob:
    try:
        return Blob.objects.get(sha256=sha256.lower())
    except Blob.DoesNotExist as exc:
        raise BlobNotFound(sha256) from exc


def open_blob(blob: Blob, storage: Storage | None = None) -> BinaryIO:
    if blob.removed_at:
        raise BlobRemoved(blob.sha256)
    storage = storage or primary()
    try:
        return storage.open(blob.key, "rb")
    except FileNotFoundError as exc:
        raise BlobNotFound(blob.sha256) from exc
    except _backend_errors() as exc:
        raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc


def iter_range(blob: Blob, start: int, end: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    """Bytes ``start..end`` (inclusive) of a blob, streamed from the primary tier.

    The object is opened before this returns, so an outage raises StorageUnavailable (and a missing
    object BlobNotFound) here, while the caller can still answer 503/404 — not half-way through a 200
    whose headers are already sent. The bytes are read as the iterator is consumed."""
    storage = primary()
    if _is_local(storage):
        try:
            fh = open(storage.path(blob.key), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(blob.sha256) from exc
        except OSError as exc:
            raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc
        return _read_span(fh, start, end - start + 1, chunk)
    # S3: ask the server for just the range (S3File would download the whole object first).
    try:
        body = storage.bucket.Object(storage._normalize_name(blob.key)).get(Range=f"bytes={start}-{end}")[
            "Body"
        ]
    except _backend_errors() as exc:
        raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc
    return body.iter_chunks(chunk)


def _read_span(fh: BinaryIO, start: int, remaining: int, chunk: int) -> Iterator[bytes]:
    with fh:
        fh.seek(start)
        while remaining > 0:
            block = fh.read(min(chunk, remaining))
            if not block:
                break
            remaining -= len(block)
            yield block


def url_for(blob: Blob, filename: str | None = None) -> str:
    """A short-lived direct URL (S3 presigned) for redirect downloads."""
    storage = primary()
    params = {"ResponseContentDisposition": f'attachment; filename="{filename}"'} if filename else None
    if params and not _is_local(storage):
        return storage.url(blob.key, parameters=params)
    return storage.url(blob.key)


# --- tiers and fixity -------------------------------------------------------------------------------


def verify(blob: Blob, storage: Storage | None = None) -> bool:
    """Read the blob back and compare its SHA-256 and size; records the fixity result. A blob whose
    bytes were removed on purpose is not checked (there is nothing to read, and nothing is missing)."""
    if blob.removed_at:
        return True
    d = _digest(blob, storage or primary())
    ok = d.sha256 == blob.sha256 and d.size == blob.size
    blob.last_fixity_at = timezone.now()
    blob.fixity_ok = ok
    blob.save(update_fields=["last_fixity_at", "fixity_ok"])
    if not ok:
        log.error("fixity failure for blob %s", blob.sha256)
    return ok


DEEP_COPY_LEASE = datetime.timedelta(minutes=10)


def request_deep_copy(blobs: Iterable[Blob]) -> None:
    """Mark blobs as needing their deep-storage copy (they became part of an archive) and queue the
    copies after commit. Call inside the transaction that archives them; ``deep_copy_sweep`` sends any
    copy the broker did not take."""
    if not settings.DEEP_STORAGE_ENABLED:
        return
    keys = sorted({b.pk for b in blobs})
    Blob.objects.filter(pk__in=keys, deep_requested_at__isnull=True).update(deep_requested_at=timezone.now())
    from . import tasks

    for sha256 in keys:
        dispatch(tasks.copy_blob_to_deep, sha256)


def deep_backlog() -> QuerySet:
    """Archived blobs still without a deep copy (the data manager's count, the sweep's work)."""
    return Blob.objects.filter(
        deep_requested_at__isnull=False, deep_copied_at__isnull=True, removed_at__isnull=True
    )


def copy_to_deep(blob: Blob) -> Blob:
    """Copy a blob into deep storage, read the copy back and check its SHA-256, then record it.

    Idempotent and claimed: a blob copied already is left alone, and a worker that cannot claim the
    blob's lease (another is copying it) returns without copying. A copy that reads back wrong is
    removed and IntegrityMismatch raised; an unreachable tier raises StorageUnavailable (temporary).
    """
    if not settings.DEEP_STORAGE_ENABLED or blob.deep_copied_at or blob.removed_at:
        return blob
    lease = claim(Blob.objects.filter(deep_copied_at__isnull=True), blob.pk, duration=DEEP_COPY_LEASE)
    if lease is None:
        return blob
    target = deep()
    try:
        with lease.heartbeat(DEEP_COPY_LEASE.total_seconds() / 3):
            if not target.exists(blob.key):
                with open_blob(blob) as src:
                    if _is_local(target):
                        _write_local(target, src, None, expect=blob.sha256)
                    else:
                        spooled, d = _spool_and_hash(src, settings.SCRATCH_DIR, None)
                        if d.sha256 != blob.sha256:
                            spooled.unlink(missing_ok=True)
                            raise IntegrityMismatch(f"blob {blob.sha256} read back as {d.sha256}")
                        _put_object(target, blob.key, spooled)
            copied = _digest(blob, target)
            if copied.sha256 != blob.sha256 or copied.size != blob.size:
                target.delete(blob.key)
                raise IntegrityMismatch(f"the deep copy of blob {blob.sha256} reads back as {copied.sha256}")
    except _backend_errors() as exc:
        lease.release()
        raise StorageUnavailable(f"Deep storage is unavailable: {exc}") from exc
    except BaseException:
        lease.release()
        raise
    lease.release(deep_copied_at=timezone.now())
    blob.refresh_from_db(fields=["deep_copied_at"])
    return blob


def _digest(blob: Blob, storage: Storage) -> Digests:
    hasher = MultiHasher(parallel=False)
    with open_blob(blob, storage) as fh:
        while block := fh.read(CHUNK):
            hasher.update(block)
    return hasher.digests()


def materialise(blob: Blob, dest: str | os.PathLike) -> Path:
    """Copy a blob to a local path (for tools that need a file, e.g. torrent creation)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    storage = primary()
    try:
        if _is_local(storage):
            shutil.copyfile(storage.path(blob.key), dest)
        else:
            with open_blob(blob) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
    except OSError as exc:
        if not scratch.is_disk_full(exc):
            raise
        dest.unlink(missing_ok=True)  # no partial copy left behind
        raise scratch.ScratchFull(scratch.full_message(f"a copy of blob {blob.sha256[:12]}…")) from exc
    return dest


def ensure_ready(storage: Storage) -> str:
    """Create a tier's folder or bucket if it is missing; returns where it is. For deployments
    (``manage.py ensure_storage``), not for requests."""
    try:
        if _is_local(storage):
            Path(storage.location).mkdir(parents=True, exist_ok=True)
            return str(storage.location)
        client = storage.connection.meta.client
        try:
            client.head_bucket(Bucket=storage.bucket_name)
        except Exception:
            client.create_bucket(Bucket=storage.bucket_name)
            client.head_bucket(Bucket=storage.bucket_name)
        return f"s3://{storage.bucket_name} at {client.meta.endpoint_url}"
    except _backend_errors() as exc:
        raise StorageUnavailable(str(exc)) from exc


def check_available() -> None:
    """Raise StorageUnavailable unless the primary tier answers (used by /healthz)."""
    storage = primary()
    try:
        if _is_local(storage):
            root = Path(storage.location)
            root.mkdir(parents=True, exist_ok=True)
            probe = root / ".healthz"
            probe.write_bytes(b"ok")
            probe.unlink()
        else:
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    except _backend_errors() as exc:
        raise StorageUnavailable(str(exc)) from exc


def discard_if_unreferenced(blob: Blob) -> bool:
    """Delete ``blob`` (its row and its object in every tier) when no row of any model refers to it —
    ``references.is_needed`` asks every foreign key to Blob (so an app that adds one protects its blobs without
    telling us) and the digest fields apps registered.
    True when it was deleted. For removals (a remote record's local mirror deleted at its home); the
    content-addressed store otherwise never deletes."""
    from .references import is_needed  # the one answer to "is this blob still needed, and by what?"

    if is_needed(blob):
        return False
    with transaction.atomic():
        if not Blob.objects.filter(pk=blob.pk).exists():
            return False
        try:
            with transaction.atomic():
                Blob.objects.filter(pk=blob.pk).delete()
        except (ProtectedError, RestrictedError, IntegrityError):  # a reference appeared meanwhile
            return False
    for storage in (primary(), deep()) if blob.deep_copied_at else (primary(),):
        try:
            storage.delete(blob.key)
        except Exception as exc:  # an object left behind is harmless (content-addressed); logged
            log.warning("could not delete the object of blob %s: %s", blob.sha256, exc)


REMOVAL_LEASE = datetime.timedelta(minutes=10)


def remove_bytes(blob: Blob, *, reason: str) -> bool:
    """Delete the blob's bytes from the primary and the deep tier, then record ``removed_at``.

    The caller has checked that nothing live needs the blob (``apps.storage.references``); this
    function checks again under the blob's lease, so a version published meanwhile that reuses the
    bytes keeps them. Idempotent: deleting an object that is already gone is not an error, and a
    removed blob is left alone. Returns whether the bytes were removed (now or before).
    """
    from .references import is_needed

    if blob.removed_at:
        return True
    lease = claim(Blob.objects.filter(removed_at__isnull=True), blob.pk, duration=REMOVAL_LEASE)
    if lease is None:
        return False  # another worker holds it (a deep copy or a removal); the task is retried
    try:
        if is_needed(blob):
            lease.release()
            return False
        tiers = [primary()] + ([deep()] if settings.DEEP_STORAGE_ENABLED else [])
        for storage in tiers:
            try:
                storage.delete(blob.key)  # both backends: deleting a missing object is no error
            except FileNotFoundError:
                pass
    except _backend_errors() as exc:
        lease.release()
        raise StorageUnavailable(f"Object storage is unavailable: {exc}") from exc
    except BaseException:
        lease.release()
        raise
    lease.release(removed_at=timezone.now(), removed_reason=reason[:40])
    blob.refresh_from_db(fields=["removed_at", "removed_reason"])
    return True
