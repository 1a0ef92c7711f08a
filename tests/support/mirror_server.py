"""Local stand-ins for the places Quayside mirrors to, on 127.0.0.1 over real sockets.

``RangeServer(root)``: a folder served over HTTP/1.1 (keep-alive) with HEAD, single byte ranges (also
suffix ranges), ETag and If-Range (as an object store or a web server would), for mirrors of kind
bucket/http and the smart node's Range reader; ``ranges`` lists what each request asked for.

``ZenodoServer()``: Zenodo's documented deposit API (https://developers.zenodo.org/#deposit) — bearer
token; ``POST /api/deposit/depositions`` (201, with ``links.bucket``); ``PUT /api/files/{bucket}/{key}``
(201, ``checksum: md5:…``); ``PUT /api/deposit/depositions/{id}`` with ``{"metadata": …}`` (title,
upload_type, description and creators required, a creator's ``orcid`` a bare iD and ``publication_date``
ISO 8601 when given, else 400); ``POST …/actions/publish`` (202, with ``doi``
and ``record_id``; 400 without files or metadata); ``GET /api/records/{id}`` with each file's
``links.self``; and the published files themselves under ``/api/records/{id}/files/{key}/content``
with HEAD and Range. ``fail_next(n)`` answers 503 to the next n API calls.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


def _send_bytes(handler: BaseHTTPRequestHandler, data, *, head: bool, etag: str | None = None) -> None:
    """``data`` (bytes, or an open binary file) with single ``bytes=a-b`` / ``a-`` / ``-n`` ranges, and
    ``If-Range`` against ``etag`` (a mismatch answers the whole body, as RFC 9110 says)."""
    if isinstance(data, bytes | bytearray):
        size = len(data)
    else:
        size = os.fstat(data.fileno()).st_size
    header = handler.headers.get("Range")
    start, end, status = 0, size - 1, 200
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header or "")
    if_range = handler.headers.get("If-Range")
    if match and (match.group(1) or match.group(2)) and (if_range is None or if_range == etag):
        if match.group(1):
            start = int(match.group(1))
            end = min(int(match.group(2)) if match.group(2) else size - 1, size - 1)
        else:
            start = max(0, size - int(match.group(2)))
        status = 206
    handler.server.owner.ranges.append((start, end) if status == 206 else None)
    handler.send_response(status)
    handler.send_header("Content-Type", "application/octet-stream")
    handler.send_header("Content-Length", str(end - start + 1))
    handler.send_header("Accept-Ranges", "bytes")
    if etag:
        handler.send_header("ETag", etag)
    if status == 206:
        handler.send_header("Content-Range", f"bytes {start}-{end}/{size}")
    handler.end_headers()
    if head:
        return
    if isinstance(data, bytes | bytearray):
        handler.wfile.write(data[start : end + 1])
        return
    data.seek(start)
    left = end - start + 1
    while left > 0:
        block = data.read(min(left, 1 << 20))
        if not block:
            break
        handler.wfile.write(block)
        left -= len(block)


def _orcid_ok(value: str) -> bool:
    """A bare ORCID iD with a right ISO 7064 11-2 check digit (Zenodo checks it with idutils)."""
    if not re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", value):
        return False
    total = 0
    for digit in value.replace("-", "")[:-1]:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    return value[-1] == ("X" if check == 10 else str(check))


class _Threaded:
    def __init__(self, handler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.owner = self
        self.ranges: list[tuple[int, int] | None] = []  # each GET/HEAD's range (None: the whole body)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class _RangeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: Range readers send many small requests

    def log_message(self, *args):
        pass

    def _serve(self, head: bool) -> None:
        root: Path = self.server.owner.root
        path = (root / unquote(self.path.split("?")[0]).lstrip("/")).resolve()
        if not str(path).startswith(str(root.resolve())) or not path.is_file():
            self.send_error(404)
            return
        if self.server.owner.ignore_ranges and "Range" in self.headers:
            del self.headers["Range"]  # as a server without Range support: the whole body, 200
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            _send_bytes(self, fh, head=head, etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"')

    def do_GET(self):
        self._serve(False)

    def do_HEAD(self):
        if not self.server.owner.allow_head:
            self.send_response(405)
            self.send_header("Allow", "GET")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._serve(True)


class RangeServer(_Threaded):
    """``allow_head=False``: HEAD answers 405, as some web servers and signed URLs do;
    ``ignore_ranges=True``: a Range header is ignored (200 with the whole body), as a plain server does."""

    def __init__(self, root: Path, *, allow_head: bool = True, ignore_ranges: bool = False):
        self.root = Path(root)
        self.allow_head, self.ignore_ranges = allow_head, ignore_ranges
        super().__init__(_RangeHandler)


class _ZenodoHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    @property
    def z(self) -> ZenodoServer:
        return self.server.owner

    def _json(self, status: int, doc: dict) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _api(self) -> bool:
        """Auth and injected failures; False when already answered."""
        self.z.calls.append((self.command, self.path))
        if self.z.failures:
            self.z.failures -= 1
            self._body()
            self._json(503, {"status": 503, "message": "Service unavailable"})
            return False
        if self.headers.get("Authorization") != f"Bearer {self.z.token}":
            self._body()
            self._json(
                401, {"status": 401, "message": "The server could not verify that you are authorized."}
            )
            return False
        return True

    def _deposition(self, d: dict) -> dict:
        base = self.z.url
        return {
            "id": d["id"],
            "state": d["state"],
            "submitted": d["state"] == "done",
            "metadata": {**d["metadata"], "prereserve_doi": {"doi": d["doi"], "recid": d["id"]}},
            "links": {
                "self": f"{base}/api/deposit/depositions/{d['id']}",
                "bucket": f"{base}/api/files/{d['bucket']}",
                "publish": f"{base}/api/deposit/depositions/{d['id']}/actions/publish",
                "html": f"{base}/deposit/{d['id']}",
            },
        }

    def do_POST(self):
        if not self._api():
            return
        if self.path == "/api/deposit/depositions":
            self._body()
            n = len(self.z.depositions) + 1
            d = {
                "id": n,
                "bucket": f"bucket{n}",
                "state": "unsubmitted",
                "metadata": {},
                "files": {},
                "doi": f"10.5072/zenodo.{n}",
            }
            self.z.depositions[n] = d
            self._json(201, self._deposition(d))
            return
        match = re.fullmatch(r"/api/deposit/depositions/(\d+)/actions/publish", self.path)
        if match and int(match.group(1)) in self.z.depositions:
            d = self.z.depositions[int(match.group(1))]
            if not d["files"] or not d["metadata"].get("title"):
                self._json(
                    400,
                    {
                        "status": 400,
                        "message": "Validation error",
                        "errors": [{"message": "files and metadata required"}],
                    },
                )
                return
            d["state"] = "done"
            self._json(202, {**self._deposition(d), "doi": d["doi"], "record_id": d["id"]})
            return
        self._json(404, {"status": 404})

    def do_PUT(self):
        if not self._api():
            return
        match = re.fullmatch(r"/api/files/(bucket\d+)/(.+)", self.path)
        if match:
            d = next((d for d in self.z.depositions.values() if d["bucket"] == match.group(1)), None)
            if d is None or d["state"] == "done":
                self._json(404 if d is None else 403, {"status": 404})
                return
            data = self._body()
            key = unquote(match.group(2))
            d["files"][key] = data
            self._json(
                201, {"key": key, "size": len(data), "checksum": f"md5:{hashlib.md5(data).hexdigest()}"}
            )
            return
        match = re.fullmatch(r"/api/deposit/depositions/(\d+)", self.path)
        if match and int(match.group(1)) in self.z.depositions:
            d = self.z.depositions[int(match.group(1))]
            metadata = json.loads(self._body() or b"{}").get("metadata") or {}
            missing = [k for k in ("title", "upload_type", "description", "creators") if not metadata.get(k)]
            # As Zenodo: an ORCID must be a bare iD, a publication date ISO 8601.
            missing += [
                f"creators.{i}.orcid"
                for i, c in enumerate(metadata.get("creators") or [])
                if "orcid" in c and not _orcid_ok(c["orcid"])
            ]
            if "publication_date" in metadata and not re.fullmatch(
                r"\d{4}-\d{2}-\d{2}", metadata["publication_date"]
            ):
                missing.append("publication_date")
            if missing:
                self._json(
                    400,
                    {
                        "status": 400,
                        "message": "Validation error",
                        "errors": [{"field": f"metadata.{k}"} for k in missing],
                    },
                )
                return
            d["metadata"] = metadata
            self._json(200, self._deposition(d))
            return
        self._json(404, {"status": 404})

    def _content(self, head: bool) -> bool:
        match = re.fullmatch(r"/api/records/(\d+)/files/(.+)/content", self.path)
        if not match:
            return False
        d = self.z.depositions.get(int(match.group(1)))
        data = (d or {}).get("files", {}).get(unquote(match.group(2))) if d and d["state"] == "done" else None
        if data is None:
            self.send_error(404)
        else:
            _send_bytes(self, data, head=head)
        return True

    def do_HEAD(self):
        if not self._content(True):
            self.send_error(404)

    def do_GET(self):
        if self._content(False):
            return
        match = re.fullmatch(r"/api/records/(\d+)", self.path)
        d = self.z.depositions.get(int(match.group(1))) if match else None
        if d is None or d["state"] != "done":
            self._json(404, {"status": 404, "message": "PID does not exist."})
            return
        base = self.z.url
        files = [
            {
                "key": key,
                "size": len(data),
                "checksum": f"md5:{hashlib.md5(data).hexdigest()}",
                "links": {"self": f"{base}/api/records/{d['id']}/files/{key}/content"},
            }
            for key, data in d["files"].items()
        ]
        self._json(
            200,
            {
                "id": d["id"],
                "doi": d["doi"],
                "metadata": d["metadata"],
                "files": files,
                "links": {"html": f"{base}/records/{d['id']}"},
            },
        )


class ZenodoServer(_Threaded):
    def __init__(self, token: str = "test-token"):
        self.token = token
        self.depositions: dict[int, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.failures = 0
        super().__init__(_ZenodoHandler)

    def fail_next(self, n: int) -> None:
        self.failures = n
