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
import queue
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


def _fill(fh: BinaryIO, view: memoryview) -> int:
    """Read into ``view`` (one copy, from the kernel into the piece): ``readinto`` where the file has it
    (local files), else ``read`` (a storage backend's stream)."""
    readinto = getattr(fh, "readinto", None)
    if readinto is not None:
        return readinto(view) or 0
    chunk = fh.read(min(len(view), READ_CHUNK))
    view[: len(chunk)] = chunk
    return len(chunk)


def _pieces(
    files: list[TorrentFile], piece_size: int, buffers: queue.SimpleQueue[bytearray]
) -> Iterable[memoryview]:
    """The concatenated bytes of ``files`` cut into pieces (the last one shorter), each file read once,
    each piece read straight into a buffer taken from ``buffers`` (the consumer puts it back when done:
    a fresh 256 KiB–16 MiB buffer per piece cost a page fault per 4 KiB and its zeroing, a third of the
    hashing)."""
    piece, filled = buffers.get(), 0
    for f in files:
        read = 0
        with f.open() as fh:
            while n := _fill(fh, memoryview(piece)[filled:]):
                read += n
                filled += n
                if filled == piece_size:
                    yield memoryview(piece)
                    piece, filled = buffers.get(), 0
        if read != f.size:
            raise ValueError(f"{f.path}: read {read} bytes, expected {f.size}")
    if filled:
        yield memoryview(piece)[:filled]


def _sha1(data: memoryview) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def hash_pieces(files: list[TorrentFile], piece_size: int, workers: int = 2) -> Iterable[bytes]:
    """SHA-1 of every piece, in order, computed by ``workers`` threads with a bounded backlog; the piece
    buffers (one per piece in flight, plus the one being read) are reused."""
    backlog = 2 * workers
    buffers: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    for _ in range(backlog + 1):
        buffers.put(bytearray(piece_size))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="piece-sha1") as pool:
        pending: deque[tuple[Future, memoryview]] = deque()

        def done() -> bytes:
            future, piece = pending.popleft()
            digest = future.result()
            buffers.put(piece.obj)
            return digest

        for piece in _pieces(files, piece_size, buffers):
            pending.append((pool.submit(_sha1, piece), piece))
            if len(pending) >= backlog:
                yield done()
        while pending:
            yield done()


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
