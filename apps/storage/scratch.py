"""Scratch space (SCRATCH_DIR) is finite: free-space checks, "disk full" as a clear error, and a sweeper.

Everything that is on its way to becoming a blob waits in SCRATCH_DIR: uploads being received
(``portal.uploads``), chunked request bodies, spools for S3 uploads (``.incoming-*``) and the files a
pipeline step fetched (``<owner>/<id>/``, e.g. ``submissions/42/``).

- ``check_free_space(needed)`` refuses work that would leave less than SCRATCH_MIN_FREE_BYTES free, before
  a byte is written (``ScratchFull``: the web answers 507, a fetch fails its step saying why).
- ``is_disk_full(exc)`` tells a full disk (ENOSPC, EDQUOT) from other OS errors, for the same messages when
  the disk fills up anyway (another process, a body larger than it said).
- ``sweep_scratch()`` (beat, every SCRATCH_SWEEP_INTERVAL seconds) removes what was left behind by a
  killed process: entries older than SCRATCH_MAX_AGE_HOURS that no live owner claims. An app that keeps a
  folder per piece of work registers an owner check with ``register_owner`` (apps.submissions does).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat

log = logging.getLogger(__name__)

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})

# owner folder name → "is the work with this id still live?" (then its folder is left alone)
_owners: dict[str, Callable[[str], bool]] = {}


class ScratchFull(Exception):
    """Not enough free scratch space for the work at hand. The message says so in plain words."""


def scratch_dir() -> Path:
    return Path(settings.SCRATCH_DIR)


def free_bytes() -> int:
    return shutil.disk_usage(scratch_dir()).free


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


def full_message(what: str, needed: int | None = None) -> str:
    """The one wording of "scratch is full", for web pages, API answers and step reports."""
    free = free_bytes()
    reserve = settings.SCRATCH_MIN_FREE_BYTES
    need = f"{filesizeformat(needed)} ({needed:,} bytes) are needed, " if needed else ""
    return (
        f"The portal's scratch disk is full: {what} cannot be stored now ({need}{filesizeformat(free)} "
        f"free, {filesizeformat(reserve)} kept in reserve). This is not a problem with the data; nothing "
        "was kept. Please try again later, or tell the data managers."
    )


def check_free_space(needed: int = 0, what: str = "the file") -> None:
    """Raise ScratchFull unless ``needed`` bytes fit with SCRATCH_MIN_FREE_BYTES to spare."""
    if free_bytes() - max(needed, 0) < settings.SCRATCH_MIN_FREE_BYTES:
        raise ScratchFull(full_message(what, needed or None))


def register_owner(folder: str, is_live: Callable[[str], bool]) -> None:
    """``SCRATCH_DIR/<folder>/<id>`` belongs to live work while ``is_live(id)`` is true."""
    _owners[folder] = is_live


def _age_hours(path: Path, now: float) -> float:
    """Hours since anything under ``path`` last changed (a fetch in progress keeps it young)."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in dirs + files:
                try:
                    newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
                except FileNotFoundError:
                    pass
    return (now - newest) / 3600


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep_scratch(max_age_hours: float | None = None) -> list[str]:
    """Remove scratch entries older than ``max_age_hours`` (SCRATCH_MAX_AGE_HOURS) that no live owner
    claims; returns what was removed (paths relative to SCRATCH_DIR). Safe to run at any time: an
    entry younger than the limit, or in a registered folder whose work is live, is never touched."""
    limit = settings.SCRATCH_MAX_AGE_HOURS if max_age_hours is None else max_age_hours
    root, now, removed = scratch_dir(), time.time(), []
    if not root.is_dir():
        return removed
    candidates: list[tuple[Path, Callable[[str], bool] | None]] = []
    for entry in root.iterdir():
        if entry.name in _owners and entry.is_dir() and not entry.is_symlink():
            candidates += [(child, _owners[entry.name]) for child in entry.iterdir()]
        else:
            candidates.append((entry, None))
    for path, is_live in candidates:
        try:
            if _age_hours(path, now) < limit:
                continue
            if is_live is not None and is_live(path.name):
                continue
            _remove(path)
        except FileNotFoundError:
            continue  # its owner removed it meanwhile
        removed.append(str(path.relative_to(root)))
    if removed:
        log.info("scratch sweep removed %d entries: %s", len(removed), ", ".join(removed[:20]))
    return removed
