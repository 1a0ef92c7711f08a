"""Making a v1 (BEP 3) torrent from a version's files, deterministically and fast.

``make_torrent(name, files, ...)`` returns the bencoded ``.torrent``. The same files give the same bytes
and the same infohash on every rebuild:

- files in the order of their paths (sorted here, whatever order the caller passes);
- no creation date, no creator string, no comment (nothing that changes with time or versions);
- a fixed piece-size rule (``piece_size_for``): the smallest power of two from 16 KiB that keeps the
  torrent at ``TARGET_PIECES`` pieces or fewer, at most 16 MiB;
- v1 only and no pad files (``create_torrent.v1_only``, not ``canonical_files``): with many small files,
  padding each to a piece boundary multiplied the pieces and the hashing time 7× (docs/swarm.md).

Hashing: every file is read once, in order, and cut into pieces; full pieces are SHA-1-hashed in a thread
pool (hashlib releases the GIL on large buffers) and handed to ``create_torrent.set_hash``. At most
``2 × workers`` pieces are in memory at once. libtorrent's own ``set_piece_hashes`` is single-threaded and
wants the files laid out on disk under the torrent's name, which content-addressed storage is not.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import libtorrent as lt

MIN_PIECE = 16 * 1024
MAX_PIECE = 16 * 1024 * 1024
TARGET_PIECES = 1500
READ_CHUNK = 1 << 20
MEDIA_TYPE = "application/x-bittorrent"


@dataclass(frozen=True)
class TorrentFile:
    """One file of the torrent: its path under the torrent's name, its size, and how to open its bytes."""

    path: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class Made:
    data: bytes  # the bencoded .torrent
    infohash: str  # v1, hex
    piece_size: int
    total_size: int


def piece_size_for(total: int) -> int:
    size = MIN_PIECE
    while size < MAX_PIECE and total > size * TARGET_PIECES:
        size *= 2
    return size


# MAP_POPULATE (Linux) maps the span's pages in the one mmap call instead of a fault per 64 KiB in the
# hashing threads: 1.30 → 0.88 s for the benchmark's 2 GB (bench/bench_torrent.py).
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)


def _segments(fh: BinaryIO, size: int, piece_size: int, filled: int) -> Iterable[memoryview]:
    """``fh``'s bytes as segments that fill pieces: the first ends where the current piece (``filled``
    bytes in) is full, each next one is a whole piece, the last what is left.

    A local file is mapped, a piece's span at a time (``mmap``: the hashing threads read the page cache
    in place, where reading into a buffer cost a copy on the one reading thread and left mktorrent
    ahead); a stream (a storage backend's) is read."""
    fileno = getattr(fh, "fileno", None)
    fd = None
    if fileno is not None:
        try:
            fd = fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            fd = None
    if fd is not None and (actual := os.fstat(fd).st_size) != size:
        raise ValueError(f"{actual} bytes, expected {size}")
    pos = 0
    while pos < size:
        take = min(piece_size - filled, size - pos)
        filled = 0
        if fd is not None:
            base = pos - pos % mmap.ALLOCATIONGRANULARITY
            mapped = mmap.mmap(fd, take + pos - base, flags=_MAP_FLAGS, prot=mmap.PROT_READ, offset=base)
            yield memoryview(mapped)[pos - base :]
        else:
            chunk = _read_exactly(fh, take)
            if len(chunk) != take:
                raise ValueError(f"read {pos + len(chunk)} bytes, expected {size}")
            yield memoryview(chunk)
        pos += take
    if fd is None and fh.read(1):
        raise ValueError(f"longer than {size} bytes")


def _read_exactly(fh: BinaryIO, n: int) -> bytes:
    """``n`` bytes, fewer only at the end (a network stream may answer a read with less)."""
    parts, got = [], 0
    while got < n:
        chunk = fh.read(min(n - got, READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _pieces(files: list[TorrentFile], piece_size: int) -> Iterable[tuple[memoryview, ...]]:
    """The concatenated bytes of ``files`` cut into pieces (the last one shorter), each a tuple of the
    segments (of one file or several small ones) that make it; each file read once."""
    piece: list[memoryview] = []
    filled = 0
    for f in files:
        with f.open() as fh:
            try:
                for segment in _segments(fh, f.size, piece_size, filled):
                    piece.append(segment)
                    filled += len(segment)
                    if filled == piece_size:
                        yield tuple(piece)
                        piece, filled = [], 0
            except ValueError as exc:
                raise ValueError(f"{f.path}: {exc}") from None
    if piece:
        yield tuple(piece)


def _sha1(piece: tuple[memoryview, ...]) -> bytes:
    digest = hashlib.sha1(usedforsecurity=False)
    for segment in piece:
        digest.update(segment)  # releases the GIL for all but the smallest segments
    return digest.digest()


def hash_pieces(files: list[TorrentFile], piece_size: int, workers: int = 2) -> Iterable[bytes]:
    """SHA-1 of every piece, in order, computed by ``workers`` threads with a bounded backlog (a piece's
    mappings are released when it is hashed)."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="piece-sha1") as pool:
        pending: deque[Future] = deque()
        for piece in _pieces(files, piece_size):
            pending.append(pool.submit(_sha1, piece))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def make_torrent(
    name: str,
    files: Iterable[TorrentFile],
    *,
    web_seeds: Iterable[str] = (),
    trackers: Iterable[str] = (),
    workers: int = 2,
) -> Made:
    """The bencoded v1 torrent named ``name`` of ``files`` (sorted by path), with ``web_seeds`` as its
    ``url-list`` (folders ending in ``/``, no query string) and ``trackers`` as its announce tiers."""
    ordered = sorted(files, key=lambda f: f.path)
    if not ordered:
        raise ValueError("a torrent needs at least one file")
    total = sum(f.size for f in ordered)
    piece_size = piece_size_for(total)
    entries = [lt.create_file_entry(f"{name}/{f.path}", f.size) for f in ordered]
    ct = lt.create_torrent(entries, piece_size, lt.create_torrent.v1_only)
    ct.set_creation_date(0)
    count = 0
    for index, digest in enumerate(hash_pieces(ordered, piece_size, workers)):
        ct.set_hash(index, digest)
        count += 1
    if count != ct.num_pieces():
        raise ValueError(f"hashed {count} pieces, the torrent has {ct.num_pieces()}")
    for tier, url in enumerate(trackers):
        ct.add_tracker(url, tier)
    for url in web_seeds:
        if "?" in url:  # libtorrent refuses query strings on private networks (ssrf_mitigation)
            raise ValueError(f"a web seed must not have a query string: {url}")
        ct.add_url_seed(url)
    data = lt.bencode(ct.generate())
    info = lt.torrent_info(data)
    return Made(data=data, infohash=str(info.info_hashes().v1), piece_size=piece_size, total_size=total)


def magnet_link(infohash: str, name: str, web_seeds: Iterable[str] = (), torrent_url: str = "") -> str:
    """``magnet:?xt=urn:btih:…&dn=…&ws=…&xs=…`` (BEP 9 and BEP 19's ``ws``)."""
    from urllib.parse import quote

    parts = [f"xt=urn:btih:{infohash}", f"dn={quote(name, safe='')}"]
    parts += [f"ws={quote(url, safe='')}" for url in web_seeds]
    if torrent_url:
        parts.append(f"xs={quote(torrent_url, safe='')}")
    return "magnet:?" + "&".join(parts)
