"""Hashing one inventory file, in a thread of the worker or in a helper process.

``hash_one`` reads one listed file once (through the source's safe ``open``) and gives the row the
inventory writes: ``(pk, md5, sha1, sha256, status, error, size)``. ``hash_batch`` does it for a batch of
small files of a folder source, in a helper process (``inventory.hash_pending``): hashing a small file is
mostly Python, and Python threads take turns on the interpreter lock, so two threads hashed a delivery's
small files at 189 MiB/s where two processes hashed them at 520 MiB/s (large files stay on threads:
hashlib releases the lock for them).

A helper reads a small file whole, in one ``os.read``, and hashes the bytes, through ``_Folder``: a
batch is in scan order, so its files come folder by folder, and the folder is opened and checked once
(``folder_inside``) and each file opened relative to it. Per file that is one open, one fstat and one
read (a file through ``open_inside`` and ``hash_stream`` also costs a readlink, a file object, a hasher
with its buffers: 72 µs a file against 51 µs bare, on 16 KiB files — a fifth of the small files' time).

Where the MD5 lanes are built (``apps.storage.md5lanes``), a helper takes its batch's MD5s in one call
(``hash_batch``) and a hashing thread reads several files side by side (``hash_in_lanes``); the digests are
hashlib's otherwise.

This module imports neither Django nor ``portal`` (whose package imports Celery): a helper is a fresh
interpreter (``python -m apps.deliveries.hashproc``; forking a worker that holds database connections and
threads is not safe) that imports only this, in a few hundredths of a second.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import queue
import stat
import subprocess
import sys
import threading
from typing import BinaryIO

from apps.storage import md5lanes
from apps.storage.hashing import hash_stream

log = logging.getLogger("apps.deliveries.inventory")  # the inventory's log: helpers are part of it

LANE_BYTES = 16 * 1024 * 1024  # a helper holds at most this much of a batch's files at once

# InventoryFile.Status values (a test checks they agree; the model is not imported here).
HASHED = "hashed"
ERROR = "error"


def hash_one(
    source, pk: int, name: str, size: int, *, parallel: bool = False, pace=None, sha1: bool
) -> tuple:
    try:
        with source.open(name) as stream:
            d = hash_stream(stream, parallel=parallel, pace=pace, sha1=sha1)
        if d.size == size:
            return (pk, d.md5, d.sha1, d.sha256, HASHED, "", size)
        return (pk, "", "", "", ERROR, _changed(size, d.size), size)
    except Exception as exc:  # the system's words, or botocore's errors (network, missing key): per file
        return _error_row(pk, name, size, exc)


LANE_CHUNK = 1024 * 1024
LANES_PER_THREAD = 4


class _Lane:
    """One file being hashed in ``hash_in_lanes``: its stream, its SHA-256 (and SHA-1), and a buffer of
    ``LANE_CHUNK`` bytes plus the up to 63 bytes of the last chunk that did not make a whole MD5 block."""

    def __init__(self, source, item: tuple, sha1: bool, buffer: bytearray):
        self.pk, self.name, self.size = item
        self.stream = source.open(self.name)
        self.readinto = getattr(self.stream, "readinto", None)
        self.buffer = buffer  # the lane's own, reused file after file
        self.carry = 0  # bytes at the start of the buffer still to go through MD5
        self.total = 0
        self.sha256 = hashlib.sha256()
        self.sha1 = hashlib.sha1(usedforsecurity=False) if sha1 else None

    def read(self) -> int:
        """Read the next chunk after the carried bytes and feed it to SHA-256 (and SHA-1); 0 at the end."""
        view = memoryview(self.buffer)[self.carry : self.carry + LANE_CHUNK]
        if self.readinto is not None:
            n = self.readinto(view) or 0
        else:
            block = self.stream.read(LANE_CHUNK)
            n = len(block)
            view[:n] = block
        if n:
            self.total += n
            self.sha256.update(view[:n])
            if self.sha1 is not None:
                self.sha1.update(view[:n])
        self.carry += n
        return n

    def whole_blocks(self) -> memoryview:
        return memoryview(self.buffer)[: self.carry - self.carry % 64]

    def keep_rest(self) -> None:
        """After the whole blocks went through MD5: move the rest (under 64 bytes) to the front."""
        rest = self.carry % 64
        self.buffer[:rest] = self.buffer[self.carry - rest : self.carry]
        self.carry = rest

    def row(self, md5: str) -> tuple:
        if self.total != self.size:
            return (self.pk, "", "", "", ERROR, _changed(self.size, self.total), self.size)
        sha1 = self.sha1.hexdigest() if self.sha1 is not None else ""
        return (self.pk, md5, sha1, self.sha256.hexdigest(), HASHED, "", self.size)

    def close(self) -> None:
        try:
            self.stream.close()
        except Exception:  # a stream that fails to close has been read (or failed) already
            pass


def hash_in_lanes(source, work: queue.Queue, emit, *, sha1: bool, pace=None, stop: threading.Event) -> None:
    """A hashing thread's loop with MD5 in lanes (``md5lanes``): up to ``LANES_PER_THREAD`` files from
    ``work`` at once, read chunk by chunk side by side; each chunk's SHA-256 (and SHA-1) here, the MD5 of
    all the lanes' chunks in one call. A lane whose file ends takes the next item at once, so the lanes
    stay full until the queue runs dry. ``emit(row)`` gets each file's row (the rows of ``hash_one``,
    errors per file); the loop ends at the first ``None`` in ``work`` once its lanes are done, or at
    ``stop``. The lanes are not worth it for one file alone, but cost nothing more: this reads each
    byte once, as ``hash_one`` does."""
    md5 = md5lanes.Md5Lanes(LANES_PER_THREAD)
    lanes: list[_Lane | None] = [None] * LANES_PER_THREAD
    buffers = [bytearray(LANE_CHUNK + 64) for _ in lanes]
    ended = False

    def fail(lane_no: int, exc: Exception) -> None:
        lane = lanes[lane_no]
        lanes[lane_no] = None
        lane.close()
        md5.final(lane_no, b"", 0)  # clears the lane's state
        emit(_error_row(lane.pk, lane.name, lane.size, exc))

    while not stop.is_set():
        for i in range(LANES_PER_THREAD):
            while lanes[i] is None and not ended:
                try:
                    item = work.get(block=not any(lanes))
                except queue.Empty:
                    break
                if item is None:
                    ended = True
                    break
                try:
                    lanes[i] = _Lane(source, item, sha1, buffers[i])
                except Exception as exc:
                    emit(_error_row(item[0], item[1], item[2], exc))
        if not any(lanes):
            if ended:
                return
            continue
        read = {}
        for i, lane in enumerate(lanes):
            if lane is None:
                continue
            try:
                read[i] = lane.read()
            except Exception as exc:
                fail(i, exc)
                continue
            if pace is not None and read[i]:
                pace(read[i])
        md5.update({i: lanes[i].whole_blocks() for i in read if lanes[i] is not None})
        for i, n in read.items():
            lane = lanes[i]
            if lane is None:
                continue
            lane.keep_rest()
            if n == 0:
                lanes[i] = None
                lane.close()
                emit(lane.row(md5.final(i, bytes(lane.buffer[: lane.carry]), lane.total)))
    for lane in lanes:
        if lane is not None:
            lane.close()


def _error_row(pk, name: str, size: int, exc: Exception) -> tuple:
    if isinstance(exc, (OSError, io.UnsupportedOperation)):
        return (pk, "", "", "", ERROR, _reason(name, exc), size)
    return (pk, "", "", "", ERROR, f"{type(exc).__name__}: {exc}"[:500], size)  # botocore's errors


def _changed(listed: int, read: int) -> str:
    return f"changed while being inventoried: listed with {listed} bytes, read {read}"


def _reason(name: str, exc: Exception) -> str:
    """An error for the inventory: the listed name and the system's words, not the server's path."""
    strerror = getattr(exc, "strerror", None)
    return (f"{name}: {strerror}" if strerror else str(exc))[:500]


def _read_small(folder: _Folder, pk, name: str, size: int) -> bytes | tuple:
    """A small file's bytes, or its error row (unreadable, or not the listed size)."""
    try:
        data = folder.read(name, size)
    except OSError as exc:
        return _error_row(pk, name, size, exc)
    if len(data) != size:
        return (pk, "", "", "", ERROR, _changed(size, len(data)), size)
    return data


def _row(pk, data: bytes, md5: str, sha1: bool) -> tuple:
    sha1_hex = hashlib.sha1(data, usedforsecurity=False).hexdigest() if sha1 else ""
    return (pk, md5, sha1_hex, hashlib.sha256(data).hexdigest(), HASHED, "", len(data))


def hash_small(folder: _Folder, pk, name: str, size: int, *, sha1: bool) -> tuple:
    """``hash_one`` for a small file of a folder (a helper's files): read whole, then hashed."""
    data = _read_small(folder, pk, name, size)
    if isinstance(data, tuple):
        return data
    return _row(pk, data, hashlib.md5(data, usedforsecurity=False).hexdigest(), sha1)


_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


class _Folder:
    """The folder ``root`` (a real path) as a helper reads its small files: relative to a descriptor of
    their folder, kept while consecutive files share it."""

    def __init__(self, root: str):
        self.root = root
        self._folder: tuple[str, int | None, OSError | None] | None = None

    def read(self, source_path: str, size: int) -> bytes:
        """The file's bytes, up to ``size`` + 1 (one more than listed: a file that grew reads longer).
        OSError for what ``open_inside`` refuses: a link or anything but a regular file where the file
        was listed, a folder that no longer resolves inside the root."""
        folder, _, name = source_path.rpartition("/")
        fd = os.open(name, _FILE_FLAGS, dir_fd=self._folder_fd(folder, source_path))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{source_path}: no longer a regular file")
            data = os.read(fd, size + 1)
            while 0 < len(data) < size:  # short of the listed size: the end, or (rarely) a short read
                more = os.read(fd, size + 1 - len(data))
                if not more:
                    break
                data += more
            return data
        finally:
            os.close(fd)

    def _folder_fd(self, folder: str, source_path: str) -> int:
        if self._folder is None or self._folder[0] != folder:
            self.close()
            try:
                fd = folder_inside(self.root, folder)
                self._folder = (folder, fd, None)
            except OSError as exc:
                self._folder = (folder, None, exc)
        _, fd, error = self._folder
        if error is not None:
            if error.strerror is None:  # refused by the check, not by the system: say which file
                raise OSError(f"{source_path}: resolves outside the delivery")
            raise OSError(error.errno, error.strerror)
        return fd

    def close(self) -> None:
        if self._folder is not None and self._folder[1] is not None:
            os.close(self._folder[1])
        self._folder = None


def hash_batch(root: str, items: list[tuple], sha1: bool) -> list[tuple]:
    """The rows of ``items`` (``(key, source path, size)``, small files) of the folder ``root``."""
    folder = _Folder(root)
    try:
        if not md5lanes.available():
            return [hash_small(folder, pk, name, size, sha1=sha1) for pk, name, size in items]
        # The MD5s of up to LANE_BYTES of files at a time in one pass through the lanes (3× hashlib on
        # 1–32 KB files: bench/bench_md5lanes.py); each file is still read once, and its SHA-256 (and
        # SHA-1) taken from the same bytes.
        rows: list[tuple] = []
        read: list[tuple] = []
        held = 0
        for n, (pk, name, size) in enumerate(items):
            data = _read_small(folder, pk, name, size)
            read.append((pk, data))
            held += len(data) if isinstance(data, bytes) else 0
            if held >= LANE_BYTES or n == len(items) - 1:
                md5s = iter(md5lanes.md5_many([d for _, d in read if isinstance(d, bytes)]))
                rows += [d if isinstance(d, tuple) else _row(k, d, next(md5s), sha1) for k, d in read]
                read, held = [], 0
        return rows
    finally:
        folder.close()


def inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both real paths)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def open_inside(root: str, source_path: str) -> BinaryIO:
    """Open one listed file of the folder ``root`` (a real path) for reading, refusing (OSError) anything
    that is no longer a regular file inside the root: a symlink swapped in (``O_NOFOLLOW``), a FIFO
    (``O_NONBLOCK`` so it cannot hang), a parent folder swapped for a link out (the path the kernel opened,
    from /proc/self/fd)."""
    full = os.path.join(root, source_path)
    fd = os.open(full, _FILE_FLAGS)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{source_path}: no longer a regular file")
        if not _opened_inside(fd, full, root):
            raise OSError(f"{source_path}: resolves outside the delivery")
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _opened_inside(fd: int, full: str, root: str) -> bool:
    """Whether the path the kernel opened as ``fd`` (from /proc/self/fd; else ``full`` resolved) lies
    inside ``root``."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        opened = os.path.realpath(full)
    return inside(opened, root)


def folder_inside(root: str, folder: str) -> int:
    """A descriptor of the folder ``folder`` (relative; "" for the root) of ``root`` (a real path),
    checked as ``open_inside`` checks a file: the path the kernel opened lies inside the root (a folder
    swapped for a link out is refused). The files opened relative to it (``O_NOFOLLOW``, a name with no
    "/") are that folder's: a swap after this check cannot lead outside, short of someone with write
    access outside the root moving the folder itself out between two reads of a batch."""
    full = os.path.join(root, folder) if folder else root
    fd = os.open(full, _FOLDER_FLAGS)
    try:
        if not _opened_inside(fd, full, root):
            raise OSError(f"{folder}: resolves outside the delivery")
        return fd
    except BaseException:
        os.close(fd)
        raise


# --- helper processes -------------------------------------------------------------------------------
# Subprocesses that speak one JSON line each way per batch, not multiprocessing: a Celery prefork child is
# a daemonic process, and multiprocessing refuses to start children from one.


class Helpers:
    """``count`` helper processes (``python -m apps.deliveries.hashproc ROOT SHA1``) for the folder
    ``root``, each driven by a thread that sends it a batch and hands the rows back to ``done(rows)``.
    A helper that fails (killed, out of memory) is not restarted: its driver hashes the batch, and the
    ones after it, itself. ``put`` waits while every helper has a batch waiting; ``put(None)`` once per
    helper ends them after their batches (``busy`` is then False)."""

    def __init__(self, root: str, *, sha1: bool, count: int, done, cwd: str):
        self.root, self.sha1, self.done, self.cwd = root, sha1, done, cwd
        self.batches: queue.Queue = queue.Queue(maxsize=count)
        self.stopping = threading.Event()
        self.outstanding = 0  # batches put and not yet handed to ``done``
        self.settled = threading.Condition()
        self.threads = [
            threading.Thread(target=self._drive, name=f"inventory-helper-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self.threads:
            t.start()

    def put(self, items: list | None, timeout: float | None) -> bool:
        """Queue a batch (None: an end mark), waiting up to ``timeout`` seconds (None: not at all) for room."""
        with self.settled:
            self.outstanding += items is not None
        try:
            if timeout is None:
                self.batches.put_nowait(items)
            else:
                self.batches.put(items, timeout=timeout)
            return True
        except queue.Full:
            self._settle(items)
            return False

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every batch put so far was handed to ``done`` (or dropped); False on timeout."""
        with self.settled:
            return self.settled.wait_for(lambda: self.outstanding == 0, timeout=timeout)

    def _settle(self, items) -> None:
        if items is not None:
            with self.settled:
                self.outstanding -= 1
                self.settled.notify_all()

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def abort(self) -> None:
        """Stop at once (the lease was lost): queued batches are dropped, helpers are killed."""
        self.stopping.set()
        try:
            while True:
                self._settle(self.batches.get_nowait())
        except queue.Empty:
            pass
        for _ in self.threads:
            try:
                self.batches.put_nowait(None)
            except queue.Full:
                break

    def _drive(self) -> None:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "apps.deliveries.hashproc", self.root, "1" if self.sha1 else "0"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                cwd=self.cwd,
                text=True,
                encoding="utf-8",
            )
        except OSError as exc:
            log.warning("an inventory helper process could not start (%s); hashing its files here", exc)
            proc = None
        while (items := self.batches.get()) is not None:
            try:
                proc = self._hash(proc, items)
            finally:
                self._settle(items)
            if self.stopping.is_set():
                break
        if proc is not None:
            if self.stopping.is_set():
                proc.kill()
            else:
                proc.stdin.close()
            proc.wait()

    def _hash(self, proc, items):
        """One batch: by the helper process ``proc``, else (None, or it fails now) here. Returns the
        helper process for the next batch (None once it failed)."""
        if self.stopping.is_set():
            return proc
        rows = None
        if proc is not None:
            try:
                proc.stdin.write(json.dumps(items) + "\n")
                proc.stdin.flush()
                rows = [tuple(row) for row in json.loads(proc.stdout.readline())]
            except (OSError, ValueError):
                log.warning("an inventory helper process failed; hashing its files here")
                proc.kill()
                proc.wait()
                for pipe in (proc.stdin, proc.stdout):
                    try:
                        pipe.close()
                    except OSError:  # unflushed bytes for the dead process
                        pass
                proc = None
        if rows is None:
            rows = hash_batch(self.root, items, self.sha1)
        if not self.stopping.is_set():
            self.done(rows)
        return proc


def _serve(root: str, sha1: bool) -> None:
    """A helper's loop: a JSON list of ``[pk, path, size]`` a line in, the JSON list of its rows out."""
    for line in sys.stdin:
        items = json.loads(line)
        sys.stdout.write(json.dumps(hash_batch(root, items, sha1)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2] == "1")
