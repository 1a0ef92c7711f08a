"""A zip archive written while it is sent: Python's ``zipfile`` over a write-only sink, so memory holds
one chunk of one file at a time, whatever the total size, and no temporary file of the whole zip exists.

``zipfile`` writes to an unseekable stream by putting each member's CRC and sizes in a data descriptor
after its bytes (and in the central directory at the end), which every unzip tool reads. Members are
stored, not compressed: research data is mostly compressed already, and the archive's bytes then
follow the files' bytes at the speed storage sends them.
"""

from __future__ import annotations

import datetime
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# Hand the written bytes on once this much has gathered (files arrive in 256 KiB chunks).
FLUSH_BYTES = 256 * 1024


@dataclass
class Member:
    name: str  # the path inside the archive
    size: int
    chunks: Callable[[], Iterable[bytes]]  # called when the member is written: its bytes, in order
    modified: datetime.datetime | None = None


class _Sink:
    """The write-only file ``zipfile`` writes to; it has no ``tell``/``seek``, so ``zipfile`` counts
    offsets itself and writes data descriptors."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.pending = 0

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self.pending += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return data


def _date_time(when: datetime.datetime | None) -> tuple[int, int, int, int, int, int]:
    when = when or datetime.datetime(1980, 1, 1)
    if when.year < 1980:  # the zip format's epoch
        when = datetime.datetime(1980, 1, 1)
    return (when.year, when.month, when.day, when.hour, when.minute, when.second)


def stream_zip(members: Iterable[Member]) -> Iterator[bytes]:
    """The zip archive of ``members``, in pieces of about FLUSH_BYTES."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for member in members:
            info = zipfile.ZipInfo(member.name, date_time=_date_time(member.modified))
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = member.size  # lets zipfile choose zip64 headers for a file over 4 GiB
            info.external_attr = 0o644 << 16
            with archive.open(info, "w") as out:
                for chunk in member.chunks():
                    out.write(chunk)
                    if sink.pending >= FLUSH_BYTES:
                        yield sink.take()
            if sink.pending >= FLUSH_BYTES:
                yield sink.take()
    yield sink.take()  # the last bytes and the central directory


def unique_names(names: Iterable[str], folder: str = "") -> list[str]:
    """Safe member paths: no folders or ``..`` from the names (a file name is not a path), each one once
    ("a.csv", "a (2).csv"), all under ``folder``."""
    seen: set[str] = set()
    out = []
    for raw in names:
        name = raw.replace("\\", "/").rsplit("/", 1)[-1].strip() or "file"
        if name in (".", ".."):
            name = "file"
        stem, dot, ext = name.rpartition(".")
        if not dot or not stem:
            stem, dot, ext = name, "", ""
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{stem} ({n}){dot}{ext}"
        seen.add(candidate.lower())
        out.append(f"{folder}/{candidate}" if folder else candidate)
    return out
