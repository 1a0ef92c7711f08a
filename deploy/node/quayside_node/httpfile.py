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
"""

from __future__ import annotations

import io
import re

import requests

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
TAIL_BYTES = 64 * 1024  # pyarrow reads the last 64 KiB first (its default footer read size)


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
