"""One-pass multi-digest hashing.

hashlib releases the GIL for buffers over 2 KiB, so the three digests of one chunk can run on
separate threads; ``MultiHasher`` runs MD5 and SHA-1 on the calling thread while a helper thread does
SHA-256 (the slowest), keeping two cores busy for a single large file.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Digests:
    size: int
    md5: str
    sha1: str
    sha256: str


class MultiHasher:
    def __init__(self, parallel: bool = True) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") if parallel else None
        self._pending = None

    def update(self, chunk: bytes | memoryview) -> None:
        self._size += len(chunk)
        if self._pool is None or len(chunk) < 64 * 1024:
            self._wait()
            self._sha256.update(chunk)
        else:
            self._wait()  # keep SHA-256 updates in order
            self._pending = self._pool.submit(self._sha256.update, chunk)
        self._md5.update(chunk)
        self._sha1.update(chunk)

    def _wait(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self._pending = None

    def digests(self) -> Digests:
        self._wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        return Digests(self._size, self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest())


def hash_file(path, chunk: int = CHUNK) -> Digests:
    hasher = MultiHasher()
    with open(path, "rb", buffering=0) as fh:
        while block := fh.read(chunk):
            hasher.update(block)
    return hasher.digests()
