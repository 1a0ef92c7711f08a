"""Hashing one inventory file, in a thread of the worker or in a helper process.

``hash_one`` reads one listed file once (through the source's safe ``open``) and gives the row the
inventory writes: ``(pk, md5, sha1, sha256, status, error, size)``. ``hash_batch`` does it for a batch of
small files of a folder source, in a helper process (``inventory.hash_pending``): hashing a small file is
mostly Python, and Python threads take turns on the interpreter lock, so two threads hashed a delivery's
small files at 189 MiB/s where two processes hashed them at 520 MiB/s (large files stay on threads:
hashlib releases the lock for them).

This module imports neither Django nor ``portal`` (whose package imports Celery): a helper is a fresh
interpreter (``python -m apps.deliveries.hashproc``; forking a worker that holds database connections and
threads is not safe) that imports only this, in a few hundredths of a second.
"""

from __future__ import annotations

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

from apps.storage.hashing import hash_stream

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
        error = f"changed while being inventoried: listed with {size} bytes, read {d.size}"
        return (pk, "", "", "", ERROR, error, size)
    except (OSError, io.UnsupportedOperation) as exc:
        return (pk, "", "", "", ERROR, str(exc)[:500], size)
    except Exception as exc:  # botocore's errors (network, missing key): reported per file
        return (pk, "", "", "", ERROR, f"{type(exc).__name__}: {exc}"[:500], size)


class _Folder:
    def __init__(self, root: str):
        self.root = root

    def open(self, source_path: str) -> BinaryIO:
        return open_inside(self.root, source_path)


def hash_batch(root: str, items: list[tuple[int, str, int]], sha1: bool) -> list[tuple]:
    """The rows of ``items`` (``(pk, source path, size)``) of the folder ``root`` (in a helper process)."""
    folder = _Folder(root)
    return [hash_one(folder, pk, name, size, sha1=sha1) for pk, name, size in items]


def inside(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (both real paths)."""
    return path == root or path.startswith(root.rstrip("/") + "/")


def open_inside(root: str, source_path: str) -> BinaryIO:
    """Open one listed file of the folder ``root`` (a real path) for reading, refusing (OSError) anything
    that is no longer a regular file inside the root: a symlink swapped in (``O_NOFOLLOW``), a FIFO
    (``O_NONBLOCK`` so it cannot hang), a parent folder swapped for a link out (the path the kernel opened,
    from /proc/self/fd)."""
    full = os.path.join(root, source_path)
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{source_path}: no longer a regular file")
        try:
            opened = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            opened = os.path.realpath(full)
        if not inside(opened, root):
            raise OSError(f"{source_path}: resolves outside the delivery")
        return os.fdopen(fd, "rb", buffering=0)
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
        self.threads = [
            threading.Thread(target=self._drive, name=f"inventory-helper-{i}", daemon=True)
            for i in range(count)
        ]
        for t in self.threads:
            t.start()

    def put(self, items: list, timeout: float) -> bool:
        try:
            self.batches.put(items, timeout=timeout)
            return True
        except queue.Full:
            return False

    def busy(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def abort(self) -> None:
        """Stop at once (the lease was lost): queued batches are dropped, helpers are killed."""
        self.stopping.set()
        try:
            while True:
                self.batches.get_nowait()
        except queue.Empty:
            pass
        for _ in self.threads:
            try:
                self.batches.put_nowait(None)
            except queue.Full:
                break

    def _drive(self) -> None:
        log = logging.getLogger("apps.deliveries.inventory")
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
        folder = _Folder(self.root)
        while (items := self.batches.get()) is not None:
            if self.stopping.is_set():
                break
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
                    proc = None
            if rows is None:
                rows = [hash_one(folder, pk, name, size, sha1=self.sha1) for pk, name, size in items]
            if not self.stopping.is_set():
                self.done(rows)
        if proc is not None:
            if self.stopping.is_set():
                proc.kill()
            else:
                proc.stdin.close()
            proc.wait()


def _serve(root: str, sha1: bool) -> None:
    """A helper's loop: a JSON list of ``[pk, path, size]`` a line in, the JSON list of its rows out."""
    for line in sys.stdin:
        items = json.loads(line)
        sys.stdout.write(json.dumps(hash_batch(root, items, sha1)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2] == "1")
