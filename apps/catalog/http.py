"""Outgoing HTTP for mirrors and deposits, with the project's SSRF rule (``apps.submissions.fetch``):
only globally routable addresses, resolved once and connected to directly (no DNS rebinding), no
redirect followed without checking it again. ``MIRROR_ALLOW_LOOPBACK`` lets tests (and a one-machine
demo) reach 127.0.0.1; nothing else private is ever allowed.

Hand-written on ``http.client`` rather than ``requests`` because the connection must go to the address
that was checked (requests resolves again inside urllib3)."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from apps.submissions.fetch import _is_public  # the one definition of "public address"

MAX_REDIRECTS = 5
USER_AGENT = "Quayside/0.1 (mirror check; deposit client)"


class HttpError(Exception):
    def __init__(self, message: str, *, status: int | None = None, temporary: bool = False):
        super().__init__(message)
        self.status = status
        self.temporary = temporary


def _address(host: str, port: int) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HttpError(f"{host} cannot be resolved ({exc.strerror}).", temporary=True) from exc
    for info in infos:
        address = info[4][0]
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if _is_public(ip) or (settings.MIRROR_ALLOW_LOOPBACK and ip.is_loopback):
            return address
    raise HttpError(f"{host} resolves to a private, loopback or reserved address; refused.")


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    raw: http.client.HTTPResponse
    conn: http.client.HTTPConnection
    url: str

    def read(self, n: int = -1) -> bytes:
        return self.raw.read(n) if n >= 0 else self.raw.read()

    def close(self) -> None:
        self.conn.close()


def request(
    method: str, url: str, *, headers: dict | None = None, body=None, follow: bool = True
) -> Response:
    """One request (redirects followed and re-checked when ``follow``); the caller closes the response."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"{current} is not an http(s) URL.")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = _address(parts.hostname, port)
        cls = _PinnedTLS if parts.scheme == "https" else _Pinned
        conn = cls(parts.hostname, port, address, settings.MIRROR_TIMEOUT)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, path, body=body, headers={"User-Agent": USER_AGENT, **(headers or {})})
            raw = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise HttpError(f"{current} is unreachable: {exc}.", temporary=True) from exc
        if follow and raw.status in (301, 302, 303, 307, 308) and raw.getheader("Location"):
            current = urljoin(current, raw.getheader("Location"))
            conn.close()
            if raw.status == 303:
                method, body = "GET", None
            continue
        return Response(raw.status, raw.headers, raw, conn, current)
    raise HttpError(f"{url} redirects more than {MAX_REDIRECTS} times.")
