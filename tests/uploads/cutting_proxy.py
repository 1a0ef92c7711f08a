"""A loopback TCP proxy that drops one upload connection mid-body: the dropped link of a ship at sea.

Every connection is forwarded to the server as it is; the ``cut``-th PATCH request (1-based) is closed in
both directions after ``after`` bytes of its body, so the server sees a body that ends early and the
client sees its connection reset. It also records the ``Upload-Offset`` of every PATCH it forwards."""

from __future__ import annotations

import re
import socket
import threading


class CuttingProxy:
    def __init__(self, upstream_port: int, *, cut: int, after: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.cut, self.after = cut, after
        self.patches: list[int] = []  # Upload-Offset of each PATCH seen
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        server = socket.create_connection(self.upstream)
        threading.Thread(target=self._pump, args=(server, client), daemon=True).start()
        head = b""
        while b"\r\n\r\n" not in head:
            data = client.recv(65536)
            if not data:
                break
            head += data
        limit = None
        if head.startswith(b"PATCH"):
            offset = re.search(rb"(?i)\r\nupload-offset: *(\d+)", head)
            with self._lock:
                self.patches.append(int(offset.group(1)) if offset else -1)
                if len(self.patches) == self.cut:
                    limit = head.index(b"\r\n\r\n") + 4 + self.after
        self._forward(client, server, head, limit)

    def _forward(self, client, server, first: bytes, limit: int | None) -> None:
        sent, data = 0, first
        try:
            while data:
                if limit is not None and sent + len(data) >= limit:
                    server.sendall(data[: limit - sent])
                    raise ConnectionAbortedError  # the link drops here
                server.sendall(data)
                sent += len(data)
                data = client.recv(65536)
        except OSError:
            pass
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    @staticmethod
    def _pump(source: socket.socket, dest: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                dest.sendall(data)
        except OSError:
            pass
        try:
            dest.shutdown(socket.SHUT_WR)
        except OSError:
            pass
