"""A web seed on 127.0.0.1 (BEP 19: ``/<torrent name>/<path>`` with Range) that can also serve fixed pages
(a landing page, a .torrent), and can corrupt what it serves."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RangeHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        data = self.server.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        if self.server.corrupt:
            data = bytes(b ^ 0xFF for b in data)
        status, start, end = 200, 0, len(data) - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if match:
            status, start = 206, int(match[1])
            end = min(int(match[2]), end) if match[2] else end
        self.send_response(status)
        self.send_header("Content-Type", self.server.types.get(self.path, "application/octet-stream"))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.wfile.write(data[start : end + 1])


@contextlib.contextmanager
def web_seed_server() -> Iterator[ThreadingHTTPServer]:
    """``server.files[path] = bytes`` (``server.types[path]`` its media type), ``server.corrupt``,
    ``server.url``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    httpd.files, httpd.types, httpd.corrupt = {}, {}, False
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
