"""Where a delivery's files are read from — a folder on the server or an S3 prefix — and the path safety
every name passes before it enters the inventory.

A source lists its files (``scan``: a generator of ``Entry`` and ``Refusal``, in a stable order, holding at
most one directory's names in memory) and opens one for reading (``open``). Path safety:

- every name passes ``portal.paths`` (the rule uploads follow too): no ``..``, ``.`` or empty segment, no
  absolute path, no backslash, no control character (a newline in a name would split a line of the
  hashdeep and CSV exports), no name that is not UTF-8, none longer than 255 bytes;
- no symbolic link (one that points out of the delivery is refused as such; one inside is refused too: its
  target is inventoried under its own name) and no hard link to a file outside the delivery (a file with
  more links than the delivery holds);
- no device file, FIFO or socket;
- no two names in one folder that are equal after Unicode NFC normalisation and case folding: all of them
  are refused (no rule says which one is "the" file).

Each refused path is reported with its reason and the rest proceeds. The folder source also re-checks at
open time (``O_NOFOLLOW``, a regular file, and the path the kernel actually opened) so a swap between the
scan and the hashing cannot make the worker read outside the delivery.
"""

from __future__ import annotations

import datetime
import os
import shutil
import stat
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from portal.errors import UserError
from portal.paths import bad_part, check_relative_path, collision_key

from .hashproc import inside, open_inside


@dataclass(frozen=True)
class Entry:
    path: str  # NFC, "/"-separated, relative to the root
    source_path: str  # the name as found ("" when equal to ``path``)
    size: int
    modified_at: datetime.datetime | None


@dataclass(frozen=True)
class Refusal:
    path: str
    reason: str


COLLISION = "its name equals another's in the same folder after Unicode normalisation and case folding"


def _colliding(names: list[str]) -> set[str]:
    """The names of one folder that equal another after NFC normalisation and case folding."""
    seen: dict[str, list[str]] = {}
    for name in names:
        seen.setdefault(collision_key(name), []).append(name)
    return {n for group in seen.values() if len(group) > 1 for n in group}


def _timestamp(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


# --- which sources may be read -----------------------------------------------------------------------


def check_allowed(source: str) -> str:
    """The normalised source (a folder's real path, or ``s3://bucket/prefix``) when it lies under one of
    ``settings.DELIVERY_ALLOWED_ROOTS``; UserError otherwise (also for a folder that does not exist)."""
    roots = settings.DELIVERY_ALLOWED_ROOTS
    if source.startswith("s3://"):
        bucket, _, prefix = source[5:].partition("/")
        if not bucket:
            raise UserError(f"{source}: an S3 URL is s3://bucket/prefix.")
        prefix = prefix.strip("/")
        if prefix:
            check_relative_path(prefix)
        normalised = f"s3://{bucket}/{prefix}".rstrip("/")
        for root in roots:
            if root.startswith("s3://") and inside(normalised, root.rstrip("/")):
                return normalised
        raise UserError(f"{source} is not under an allowed S3 prefix (DELIVERY_ALLOWED_ROOTS).")
    if not os.path.isabs(source):
        raise UserError(f"{source}: give the drop folder's absolute path.")
    real = os.path.realpath(source)
    for root in roots:
        if not root.startswith("s3://") and inside(real, os.path.realpath(root)):
            if not os.path.isdir(real):
                raise UserError(f"{source} is not a folder the server can read.")
            return real
    raise UserError(f"{source} is not under an allowed drop-folder root (DELIVERY_ALLOWED_ROOTS).")


# --- a folder ------------------------------------------------------------------------------------


class FolderSource:
    """A folder on the server, read in place."""

    def __init__(self, root: str | Path):
        self.root = os.path.realpath(root)

    def scan(self) -> Iterator[Entry | Refusal]:
        """Every file below the root in sorted order (folder by folder), and every refusal.

        A file with more than one link is held back until the walk ends (memory: one entry per such file),
        then listed if the delivery holds all its links, refused if one is outside. Memory otherwise holds
        one folder's names at a time."""
        links: dict[tuple[int, int], list] = {}
        yield from self._walk(self.root, "", links)
        for (_dev, _ino), (nlink, entries) in sorted(links.items(), key=lambda kv: kv[1][1][0].path):
            for entry in entries:
                if len(entries) < nlink:
                    yield Refusal(entry.path, "a hard link to a file outside the delivery")
                else:
                    yield entry

    def _walk(self, directory: str, prefix: str, links: dict) -> Iterator[Entry | Refusal]:
        try:
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Refusal(prefix.rstrip("/") or ".", f"the folder cannot be read: {exc.strerror}")
            return
        colliding = _colliding([e.name for e in entries])
        for entry in entries:
            rel = prefix + entry.name
            shown = unicodedata.normalize("NFC", rel)
            reason = bad_part(entry.name)
            if reason:
                yield Refusal(shown, reason)
                continue
            if entry.name in colliding:
                yield Refusal(shown, COLLISION)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Refusal(shown, f"cannot be read: {exc.strerror}")
                continue
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(entry.path)
                if inside(target, self.root):
                    yield Refusal(
                        shown, "a symbolic link (its target inside the delivery is listed under its own name)"
                    )
                else:
                    yield Refusal(shown, "a symbolic link that points out of the delivery")
            elif stat.S_ISDIR(st.st_mode):
                yield from self._walk(entry.path, rel + "/", links)
            elif not stat.S_ISREG(st.st_mode):
                kind = (
                    "a FIFO"
                    if stat.S_ISFIFO(st.st_mode)
                    else "a socket"
                    if stat.S_ISSOCK(st.st_mode)
                    else "a device file"
                )
                yield Refusal(shown, f"{kind}, not a regular file")
            elif st.st_nlink > 1:
                entry_ = Entry(shown, rel if rel != shown else "", st.st_size, _timestamp(st.st_mtime))
                links.setdefault((st.st_dev, st.st_ino), [st.st_nlink, []])[1].append(entry_)
            else:
                yield Entry(shown, rel if rel != shown else "", st.st_size, _timestamp(st.st_mtime))

    def open(self, source_path: str) -> BinaryIO:
        """Open one listed file for reading (``hashproc.open_inside``: refuses a symlink swapped in, a FIFO,
        a parent folder swapped for a link out)."""
        return open_inside(self.root, source_path)


# --- an S3 prefix --------------------------------------------------------------------------------


def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.DELIVERY_S3_ENDPOINT_URL or None,
        aws_access_key_id=settings.DELIVERY_S3_ACCESS_KEY or None,
        aws_secret_access_key=settings.DELIVERY_S3_SECRET_KEY or None,
        region_name=settings.DELIVERY_S3_REGION,
        config=Config(
            s3={"addressing_style": "path" if settings.DELIVERY_S3_ENDPOINT_URL else "auto"},
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
        ),
    )


class S3Source:
    """Every object below ``s3://bucket/prefix`` (boto3), keys relative to the prefix."""

    def __init__(self, url: str):
        bucket, _, prefix = url[5:].partition("/")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = s3_client()

    def scan(self) -> Iterator[Entry | Refusal]:
        """S3 lists keys in UTF-8 byte order, a page at a time. Colliding names are not always next to each
        other in that order, so the listing is held (one small entry per object) until it is complete."""
        groups: dict[str, list[Entry]] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", ()):
                key = obj["Key"][len(self.prefix) :]
                if key.endswith("/") and obj["Size"] == 0:
                    continue  # a "folder" marker some tools write
                try:
                    path = check_relative_path(key)
                except UserError as exc:
                    yield Refusal(unicodedata.normalize("NFC", key), exc.message.split(": ", 1)[-1])
                    continue
                entry = Entry(path, key if key != path else "", obj["Size"], obj.get("LastModified"))
                groups.setdefault(collision_key(path), []).append(entry)
        for group in groups.values():
            if len(group) == 1:
                yield group[0]
            else:
                for entry in group:
                    yield Refusal(entry.path, COLLISION)

    def open(self, source_path: str) -> BinaryIO:
        """The object's body, streamed; FileNotFoundError when the object is gone (as for a folder)."""
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.prefix + source_path)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(
                    f"{source_path}: no longer in s3://{self.bucket}/{self.prefix}"
                ) from exc
            raise


def source_for(delivery) -> FolderSource | S3Source:
    if delivery.method == delivery.Method.S3 or delivery.source.startswith("s3://"):
        return S3Source(delivery.source)
    return FolderSource(delivery.source)


# --- reading a delivered file after the inventory -------------------------------------------------------
#
# Everything that reads a delivery's files later — the deep copy, packaging datasets, BagIt exports, the
# navigation track — reads through these two, so a drop folder and an S3 prefix are read alike and the
# folder's open-time checks (O_NOFOLLOW, a regular file, inside the root) hold for all of them.


def open_delivered(delivery, source_path: str) -> BinaryIO:
    """Open one file of ``delivery`` by its name in the source (``InventoryFile.source_path or path``).
    FileNotFoundError when it is gone (a drop folder cleared after the deep copy); OSError when it is no
    longer a regular file inside the delivery."""
    return source_for(delivery).open(source_path)


@contextmanager
def local_files(delivery, source_paths: list[str]) -> Iterator[list[Path]]:
    """Local paths of delivered files, for readers that take paths (the navigation reader), in the given
    order and with the same base names: a folder delivery's files themselves (each checked as ``open``
    checks it), an S3 delivery's objects copied to a scratch folder that is removed afterwards."""
    source = source_for(delivery)
    if isinstance(source, FolderSource):
        paths = []
        for name in source_paths:
            with source.open(name):
                pass
            paths.append(Path(source.root, name))
        yield paths
        return
    settings.SCRATCH_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="delivered-", dir=settings.SCRATCH_DIR) as scratch:
        paths = []
        for i, name in enumerate(source_paths):
            target = Path(scratch, str(i), Path(name).name)
            target.parent.mkdir()
            with source.open(name) as body, open(target, "wb") as out:
                shutil.copyfileobj(body, out, 1 << 20)
            paths.append(target)
        yield paths
