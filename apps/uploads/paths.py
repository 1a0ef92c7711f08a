"""Relative paths sent by clients (``relativePath``), checked before anything is written with them.

A path is refused when it is absolute, climbs out (``..``), has empty or dot parts, control characters
or backslashes (a Windows separator that would mean something else elsewhere). Accepted paths are
NFC-normalised; two paths that differ only by Unicode normalisation or case collide (``key``), since
case-insensitive file systems and the archive's consumers would merge them.
"""

from __future__ import annotations

import errno
import os
import shutil
import unicodedata
from pathlib import Path

from portal.errors import Conflict, UserError

MAX_PATH = 1024
MAX_PART = 255


def clean(raw: str) -> str:
    """The NFC form of a safe relative path ('/'-separated); UserError saying what is wrong otherwise."""
    path = unicodedata.normalize("NFC", raw or "")
    if not path:
        raise UserError("The file has no name.")
    if len(path) > MAX_PATH:
        raise UserError(f"The path {path[:60]!r}… is longer than {MAX_PATH} characters.")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UserError(f"The path {path!r} is absolute; send it relative to the folder uploaded.")
    if "\\" in path or any(unicodedata.category(c) == "Cc" for c in path):
        raise UserError(f"The path {path!r} contains a backslash or a control character.")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise UserError(f"The path {path!r} has an empty, '.' or '..' part.")
        if len(part.encode()) > MAX_PART:
            raise UserError(f"The path {path!r} has a part longer than {MAX_PART} bytes.")
    return path


def key(path: str) -> str:
    """What two paths must not share: the NFC form, case-folded (``README.txt`` = ``readme.TXT``)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", path).casefold())


def _collision(folder: Path, name: str) -> str | None:
    """An entry of ``folder`` other than ``name`` itself whose key equals ``name``'s."""
    wanted = key(name)
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return None
    for entry in entries:
        if entry != name and key(entry) == wanted:
            return entry
    return None


def place(source: Path, root: Path, relative: str) -> Path:
    """Move ``source`` to ``root / relative`` (checked with ``clean``) and return the new path.

    Refuses (Conflict) a path that exists already, or collides after normalisation or case folding with
    something in its folder, and any existing part of the way that is a symlink (it could lead out of
    ``root``). Within one file system the move is a rename; across file systems the file is copied then
    the source removed (the worker does this, never a request)."""
    relative = clean(relative)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    folder = root
    parts = relative.split("/")
    for part in parts:
        other = _collision(folder, part)
        if other is not None:
            raise Conflict(
                f"{relative!r} collides with {other!r}, already in the delivery (names differ only by case or Unicode form)."
            )
        folder = folder / part
        if folder.is_symlink():
            raise Conflict(f"{relative!r} leads through a symbolic link; refused.")
    final = root.joinpath(*parts)
    if final.exists():
        raise Conflict(f"{relative!r} exists already; a file is not replaced.")
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, final)  # fails if the name appeared meanwhile: never overwrite
        source.unlink()
    except FileExistsError as exc:
        raise Conflict(f"{relative!r} exists already; a file is not replaced.") from exc
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP):  # another file system, no hard links
            raise
        partial = final.with_name(f".{final.name}.part")
        shutil.copyfile(source, partial)
        try:
            os.link(partial, final)
        except FileExistsError as exists:
            raise Conflict(f"{relative!r} exists already; a file is not replaced.") from exists
        finally:
            partial.unlink(missing_ok=True)
        source.unlink()
    return final
