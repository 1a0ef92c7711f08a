"""One-pass multi-digest hashing.

hashlib releases the GIL for buffers over 2 KiB, so the three digests of one chunk can run on
separate threads; ``MultiHasher`` runs MD5 and SHA-1 on the calling thread while a helper thread does
SHA-256 (the slowest), keeping two cores busy for a single large file.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import mmap
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

CHUNK = 1024 * 1024
# O_DIRECT needs buffers, sizes and file offsets aligned to the device's logical block (512 or 4096).
ALIGN = 4096


@dataclass(frozen=True)
class Digests:
    size: int
    md5: str
    sha1: str
    sha256: str


class MultiHasher:
    def __init__(self, parallel: bool = True, *, sha1: bool = True) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        # SHA-1 costs about a quarter of the pass: a caller that needs no SHA-1 (a delivery's inventory
        # whose manifests give none) leaves it out, and ``digests().sha1`` is "".
        self._sha1 = hashlib.sha1(usedforsecurity=False) if sha1 else None
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") if parallel else None
        self._pending = None

    def update(self, chunk: bytes | memoryview) -> None:
        """Feed the next chunk. SHA-256 may still be reading it when this returns: a caller that
        reuses buffers must not overwrite this one before the next ``update`` or ``digests``."""
        self._size += len(chunk)
        if self._pool is None or len(chunk) < 64 * 1024:
            self._wait()
            self._sha256.update(chunk)
        else:
            self._wait()  # keep SHA-256 updates in order
            self._pending = self._pool.submit(self._sha256.update, chunk)
        self._md5.update(chunk)
        if self._sha1 is not None:
            self._sha1.update(chunk)

    @property
    def size(self) -> int:
        return self._size

    def close(self) -> None:
        """Stop the helper thread (after an error too); ``digests`` does this itself."""
        self._wait_quietly()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _wait_quietly(self) -> None:
        try:
            self._wait()
        except Exception:
            self._pending = None

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def digests(self) -> Digests:
        self._wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        sha1 = self._sha1.hexdigest() if self._sha1 is not None else ""
        return Digests(self._size, self._md5.hexdigest(), sha1, self._sha256.hexdigest())


class TooLarge(ValueError):
    """The stream went past the byte limit it was given."""


_buffers = threading.local()


def _aligned_buffers() -> tuple[mmap.mmap, mmap.mmap]:
    """Two page-aligned CHUNK buffers per thread, reused for every file (fresh pages cost a fault each)."""
    pair = getattr(_buffers, "pair", None)
    if pair is None:
        pair = _buffers.pair = (mmap.mmap(-1, CHUNK), mmap.mmap(-1, CHUNK))
    return pair


def _set_direct(fd: int, on: bool) -> bool:
    if not hasattr(os, "O_DIRECT"):
        return False
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (flags | os.O_DIRECT) if on else (flags & ~os.O_DIRECT))
        return on
    except OSError:
        return False


PARALLEL_FROM = 4 * CHUNK


def _size_hint(stream) -> float:
    """The stream's size when it is a regular file, else infinity (assume large)."""
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return float("inf")


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _chunks(stream):
    """The stream's bytes as views into this thread's two page-aligned buffers, used in turn (``readinto``
    where the stream has it): a view stays valid until the next-but-one chunk is read."""
    buffers = _aligned_buffers()
    readinto = getattr(stream, "readinto", None)
    turn = 0
    while True:
        view = memoryview(buffers[turn])
        turn ^= 1
        if readinto is not None:
            n = readinto(view)
        else:
            block = stream.read(CHUNK)
            n = len(block)
            view[:n] = block
        if not n:
            return
        yield view[:n]


def copy_and_hash(stream, fd: int, *, direct: bool = False, max_bytes: int | None = None) -> Digests:
    """Copy ``stream`` to the file descriptor ``fd`` and return size and digests, reading each byte once.

    Chunks are read into two alternating page-aligned buffers: while SHA-256 of one runs on the helper
    thread, MD5 and SHA-1 run here and the next chunk is read into the other. With ``direct`` the
    writes use O_DIRECT: the disk takes the bytes straight from the buffer, with no copy into the page
    cache (on some virtual machines that copy costs as much as the hashing) and without evicting hot
    data for objects nobody reads soon. The last, unaligned piece, a short read, or a file system that
    refuses O_DIRECT switch the file back to ordinary buffered writes. Raises TooLarge past ``max_bytes``.
    """
    direct = direct and _set_direct(fd, True)
    # A helper thread pays off for large inputs only; most files in a delivery are a chunk or two.
    hasher = MultiHasher(parallel=_size_hint(stream) > PARALLEL_FROM)
    try:
        for chunk in _chunks(stream):
            n = len(chunk)
            if max_bytes is not None and hasher.size + n > max_bytes:
                raise TooLarge(f"The file is larger than the limit of {max_bytes:,} bytes.")
            hasher.update(chunk)
            if direct:
                aligned = n - n % ALIGN
                try:
                    _write_all(fd, chunk[:aligned])
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    aligned = 0  # the device wants another alignment: buffered from here on
                if aligned != n:
                    direct = _set_direct(fd, False)
                    _write_all(fd, chunk[aligned:])
            else:
                _write_all(fd, chunk)
        return hasher.digests()
    finally:
        hasher.close()


def hash_stream(stream, *, parallel: bool = False, pace=None, sha1: bool = True) -> Digests:
    """Size, MD5, SHA-1 (unless ``sha1`` is False: then "") and SHA-256 of ``stream`` in one read (for
    the inventory of a delivery, which reads files in place and stores nothing).

    Reads into this thread's two page-aligned buffers in turn (``readinto`` where the stream has it), so
    many threads may hash many files at once without allocating per file; with ``parallel`` the SHA-256
    of one chunk runs on a helper thread while MD5 and SHA-1 run here (worth it for a large file that
    would otherwise keep one core alone busy). ``pace(n)`` is called after each chunk of ``n`` bytes (a
    read-rate limit)."""
    hasher = MultiHasher(parallel=parallel, sha1=sha1)
    try:
        for chunk in _chunks(stream):
            hasher.update(chunk)
            if pace is not None:
                pace(len(chunk))
        return hasher.digests()
    finally:
        hasher.close()
