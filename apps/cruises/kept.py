"""A sailing-orders document kept between a refused import and the next try, so the person need not
choose the file again: the bytes in SCRATCH_DIR under a random token, the token and file name in the
person's session (so nobody else can use it). Dropped after a successful import; files left behind
by sessions that never came back are removed after ``KEEP_FOR`` when the next one is kept."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from django.conf import settings

SESSION_KEY = "cruises.kept_sailing_orders"
KEEP_FOR = 24 * 3600  # seconds


def _folder() -> Path:
    return Path(settings.SCRATCH_DIR) / "kept-sailing-orders"


def _path(token: str) -> Path:
    return _folder() / f"{token}.xml"


def keep(request, name: str, data: bytes) -> None:
    drop(request)
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_FOR
    for old in folder.glob("*.xml"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(16)
    _path(token).write_bytes(data)
    request.session[SESSION_KEY] = {"token": token, "name": name}


def kept_name(request) -> str:
    """The name of the file kept for this person, "" when there is none (or it is gone)."""
    kept = request.session.get(SESSION_KEY)
    if not kept or not _path(kept["token"]).is_file():
        return ""
    return kept["name"]


def load(request) -> tuple[str, bytes] | None:
    kept = request.session.get(SESSION_KEY)
    if not kept:
        return None
    try:
        return kept["name"], _path(kept["token"]).read_bytes()
    except FileNotFoundError:
        return None


def drop(request) -> None:
    kept = request.session.pop(SESSION_KEY, None)
    if kept:
        _path(kept["token"]).unlink(missing_ok=True)
