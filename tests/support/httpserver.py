"""A small threaded HTTP server on 127.0.0.1 for tests (data objects to fetch, fake remote APIs)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _FileHandler(BaseHTTPRequestHandler):
    root: Path
    routes: dict

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        route = self.server.routes.get(self.path)
        if route is not None:
            status, headers, body = route(self) if callable(route) else route
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path = (self.server.root / self.path.lstrip("/").split("?")[0]).resolve()
        if not str(path).startswith(str(self.server.root.resolve())) or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class LocalServer:
    """Serves files from ``root`` and any ``routes[path] = (status, headers, body)`` or callable."""

    def __init__(self, root: Path, handler: type[BaseHTTPRequestHandler] = _FileHandler):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.root = Path(root)
        self.httpd.routes = {}
        self.routes = self.httpd.routes
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class TrickleHandler(_FileHandler):
    """Serves /slow/<file> in 20 pieces, ``server.pause`` seconds apart (a fetch that keeps a worker busy,
    long enough to kill it or its broker mid-way), counting ``server.slow_requests`` and
    ``server.bytes_sent``; other paths as ``_FileHandler``."""

    def do_GET(self):
        if not self.path.startswith("/slow/"):
            return super().do_GET()
        self.server.slow_requests += 1
        data = (self.server.root / self.path.removeprefix("/slow/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        step = max(1, len(data) // 20)
        try:
            for i in range(0, len(data), step):
                self.wfile.write(data[i : i + step])
                self.wfile.flush()
                self.server.bytes_sent += len(data[i : i + step])
                time.sleep(self.server.pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker was killed mid-fetch


@contextlib.contextmanager
def trickle_server(root: Path, *, pause: float) -> Iterator[LocalServer]:
    """A ``LocalServer`` of ``TrickleHandler`` over ``root`` (made here), serving; ``server.root`` is it."""
    root.mkdir()
    server = LocalServer(root, handler=TrickleHandler)
    server.httpd.slow_requests = 0
    server.httpd.bytes_sent = 0
    server.httpd.pause = pause
    with server:
        server.root = root
        yield server
