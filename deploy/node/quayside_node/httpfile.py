"""A read-only, seekable file over HTTP Range requests, for ``pyarrow.parquet.ParquetFile``.

Written here rather than taken from a library: pyarrow has no HTTP file system (only local, S3, GCS, HDFS,
Azure), and fsspec's ``HTTPFileSystem`` (not installed here) would add fsspec and aiohttp to a package
that a volunteer installs, for what is one class over ``requests``. pyarrow wraps any Python object with
``read``/``seek``/``tell`` (``pyarrow.PythonFile``); ``ParquetFile`` then asks only for the footer and the
column chunks of the columns it reads, and each ask is one Range request here.

The first request fetches the file's tail (``bytes=-N``): it gives the size (``Content-Range``), the
ETag, and the footer, which pyarrow reads first. Every later request carries ``If-Range: <ETag>``, so
when the portal renames a new catalog over the old one mid-read the server answers 200 instead of 206,
and the read fails with ``RemoteFileChanged`` (the caller reads again) rather than mixing two files.

``prefetch`` does what pyarrow's ``pre_buffer`` would: the column chunks about to be read, fetched with
nearby ones in one request each. The reader (``rank``) turns pyarrow's own pre-buffering and threads off:
they run on Arrow's thread pools, whose workers keep the last task they ran, and with it a Python buffer
of this file, until the pool shuts down at process exit; freeing it there needs the GIL after Python
stopped handing it out, and the process aborted ("terminate called without an active exception": about
one ``quayside-node rank`` in 50). Read here, on the caller's thread, no Arrow thread ever holds one.
"""

from __future__ import annotations

import bisect
import io
import re
from collections.abc import Iterable

import requests

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
TAIL_BYTES = 64 * 1024  # pyarrow reads the last 64 KiB first (its default footer read size)
# pyarrow's pre_buffer defaults (arrow::io::CacheOptions): ranges at most 8 KiB apart are fetched as one,
# up to 32 MiB a request.
HOLE_BYTES = 8 * 1024
RANGE_BYTES = 32 << 20


def coalesce(ranges: Iterable[tuple[int, int]], *, hole: int = HOLE_BYTES, limit: int = RANGE_BYTES):
    """(start, end) ranges, end exclusive, sorted and merged where at most ``hole`` bytes apart and the
    merged range stays within ``limit`` bytes."""
    merged: list[list[int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start - merged[-1][1] <= hole and max(end, merged[-1][1]) - merged[-1][0] <= limit:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


class RangeError(OSError):
    """The server does not answer Range requests as RFC 9110 says (no 206, no Content-Range)."""


class RemoteFileChanged(RangeError):
    """The file on the server changed between two reads (another ETag): read it again from the start."""


class HTTPRangeFile(io.RawIOBase):
    """``url`` as a seekable binary file; ``requests`` and ``bytes_fetched`` count what was transferred."""

    def __init__(
        self,
        url: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 60,
        tail_bytes: int = TAIL_BYTES,
    ):
        super().__init__()
        self.url = url
        self.http = session or requests.Session()
        self.timeout = timeout
        self.requests = 0
        self.bytes_fetched = 0
        self.etag: str | None = None
        self._pos = 0
        self._blocks: list[tuple[int, bytes]] = []  # prefetched (start, bytes), sorted by start
        start, _end, self.size, self._tail = self._get(f"bytes=-{tail_bytes}", first=True)
        self._tail_start = start

    # --- HTTP -----------------------------------------------------------------------------------------

    def _get(self, spec: str, *, first: bool = False) -> tuple[int, int, int, bytes]:
        headers = {"Range": spec}
        if not first and self.etag:
            headers["If-Range"] = self.etag
        self.requests += 1
        with self.http.get(self.url, headers=headers, timeout=self.timeout, stream=True) as response:
            if response.status_code == 200 and not first:
                raise RemoteFileChanged(f"{self.url} changed while it was being read (ETag {self.etag})")
            if response.status_code != 206:
                if response.status_code == 200:
                    raise RangeError(f"{self.url} ignores Range requests (HTTP 200, not 206)")
                response.raise_for_status()
                raise RangeError(f"{self.url} answered HTTP {response.status_code} to a Range request")
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
            if not match:
                raise RangeError(f"{self.url}: 206 without a usable Content-Range")
            etag = response.headers.get("ETag")
            if first:
                self.etag = etag
            elif etag and self.etag and etag != self.etag:
                raise RemoteFileChanged(f"{self.url} changed while it was being read")
            data = response.content
        start, end, size = (int(g) for g in match.groups())
        if len(data) != end - start + 1:
            raise RangeError(f"{self.url}: {len(data)} bytes for the range {start}-{end}")
        self.bytes_fetched += len(data)
        return start, end, size, data

    def prefetch(self, ranges: Iterable[tuple[int, int]]) -> None:
        """Fetch these (start, end) byte ranges now, coalesced (``coalesce``), and serve reads that fall
        inside one of them from memory until the next ``prefetch`` (``prefetch([])`` frees them)."""
        self._blocks = []
        for start, end in coalesce((max(0, s), min(self.size, e)) for s, e in ranges):
            if start >= self._tail_start:
                continue  # the footer's bytes are here already
            got, _end, _size, data = self._get(f"bytes={start}-{end - 1}")
            self._blocks.append((got, data))

    def _prefetched(self, start: int, end: int) -> bytes | None:
        at = bisect.bisect_right(self._blocks, start, key=lambda block: block[0]) - 1
        if at >= 0:
            first, data = self._blocks[at]
            if end <= first + len(data):
                return data[start - first : end - first]
        return None

    # --- file interface (what pyarrow.PythonFile calls) ------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def read(self, size: int = -1) -> bytes:
        start = self._pos
        end = self.size if size is None or size < 0 else min(self.size, start + size)
        if end <= start:
            return b""
        if start >= self._tail_start:  # the footer, fetched with the first request
            data = self._tail[start - self._tail_start : end - self._tail_start]
        else:
            data = self._prefetched(start, end)
            if data is None:
                data = self._get(f"bytes={start}-{end - 1}")[3]
        self._pos = end
        return data

    # pyarrow uses read_buffer when a file has it: the bytes object is wrapped without a copy.
    read_buffer = read

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)
