"""Placing a finished upload at the relative path its client sent (``relativePath``).

The path itself is checked by ``portal.paths.check_relative_path`` (the rule apps.deliveries applies to
the names it inventories too); here, nothing is replaced, nothing collides with a name already in its
folder after Unicode normalisation or case folding (``portal.paths.collision_key``), and no symbolic link
on the way is followed.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from portal.errors import Conflict
from portal.paths import check_relative_path, collision_key


def _collision(folder: Path, name: str) -> str | None:
    """An entry of ``folder`` other than ``name`` itself whose key equals ``name``'s."""
    wanted = collision_key(name)
    try:
        entries = os.listdir(folder)
    except FileNotFoundError:
        return None
    for entry in entries:
        if entry != name and collision_key(entry) == wanted:
            return entry
    return None


def place(source: Path, root: Path, relative: str) -> Path:
    """Move ``source`` to ``root / relative`` (checked with ``check_relative_path``) and return the new path.

    Refuses (Conflict) a path that exists already, or collides after normalisation or case folding with
    something in its folder, and any existing part of the way that is a symlink (it could lead out of
    ``root``). Within one file system the move is a rename; across file systems the file is copied then
    the source removed (the worker does this, never a request)."""
    relative = check_relative_path(relative)
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
