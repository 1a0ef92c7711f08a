"""The one rule for relative paths that come from outside — an upload's ``relativePath``, an S3 key, a name
found in a delivery's folder — checked before anything is written or inventoried under them.

A path is refused when it is empty, absolute (``/…``, or a drive such as ``C:``), climbs out (``..``), has
an empty or ``.`` part, a backslash (a Windows separator that would mean something else elsewhere), a
control character (a newline would split a line of the hashdeep and CSV exports) or a name that is not
UTF-8, a part longer than ``MAX_PART`` bytes, or is longer than ``MAX_PATH`` characters. Accepted paths
are NFC-normalised. Two names that differ only by Unicode normalisation or case collide
(``collision_key``): case-insensitive file systems and the archive's consumers would merge them.

Used by apps.uploads (placing finished uploads) and apps.deliveries (the inventory's path safety); it
imports no app.
"""

from __future__ import annotations

import re
import unicodedata

from portal.errors import UserError

MAX_PATH = 1024
MAX_PART = 255

# One regular expression instead of a loop over characters: the inventory checks every name of a
# delivery. Control characters are Unicode's Cc (C0, DEL, C1); \ud800-\udfff are the lone surrogates
# that stand for bytes that are not UTF-8 in a file name (os.fsdecode).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff]")


def bad_part(part: str) -> str | None:
    """Why one name (a part of a relative path) is unsafe, or None when it is safe."""
    if part in ("", ".", ".."):
        return "'..', '.' or an empty segment in the path" if part else "an empty segment in the path"
    found = _UNSAFE.search(part)
    if found is not None:
        c = found.group()
        if c == "\\":
            return "a backslash in the name"
        if 0xD800 <= ord(c) <= 0xDFFF:
            return "a name that is not valid UTF-8"
        return "a control character (newline, tab, …) in the name"
    if len(part.encode()) > MAX_PART:
        return f"a name longer than {MAX_PART} bytes"
    return None


def check_relative_path(raw: str) -> str:
    """The NFC form of ``raw``, a '/'-separated path relative to some root, when it is safe; else
    UserError ``'<path>': <reason>`` (the reason after the first ``': '``)."""
    path = unicodedata.normalize("NFC", raw or "")
    if not path:
        raise UserError("'': an empty path")
    if len(path) > MAX_PATH:
        raise UserError(f"{path[:60]!r}…: a path longer than {MAX_PATH} characters")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UserError(f"{path!r}: an absolute path (send it relative to the folder it is in)")
    for part in path.split("/"):
        reason = bad_part(part)
        if reason:
            raise UserError(f"{path!r}: {reason}")
    return path


def collision_key(name: str) -> str:
    """What two names (or paths) in one folder must not share: the NFC form, case-folded, in NFC again
    (case folding can decompose a character): ``README.txt`` = ``readme.TXT``."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
