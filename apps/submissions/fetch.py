"""Fetching data objects from the URLs an EML document names — safely.

- http and https only; every redirect is followed by hand and checked again (at most MAX_REDIRECTS);
- the host is resolved once, the address is checked (private, loopback, link-local, reserved,
  multicast and unspecified addresses are refused unless ``FETCH_ALLOWED_HOSTS`` names the host or a
  network containing it), and the connection goes to *that* address, so a DNS answer that changes
  between check and connect (DNS rebinding) cannot redirect us;
- the body streams to a file in SCRATCH_DIR with an MD5 computed on the way, capped at FETCH_MAX_BYTES,
  with FETCH_TIMEOUT per socket operation and FETCH_RETRIES attempts for temporary failures.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from apps.storage import scratch

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
CHUNK = 1 << 20


class FetchError(Exception):
    def __init__(self, message: str, temporary: bool = False):
        super().__init__(message)
        self.temporary = temporary


@dataclass
class Fetched:
    path: Path
    size: int
    md5: str
    url: str  # the final URL after redirects


def allowed_exceptions() -> tuple[set[str], list]:
    names, networks = set(), []
    for entry in getattr(settings, "FETCH_ALLOWED_HOSTS", []) or []:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower())
    return names, networks


def _is_public(ip: ipaddress._BaseAddress) -> bool:
    """Only globally routable addresses (IANA's special-purpose registries, as ``is_global`` reads them).

    A deny-list of private ranges misses the rest of the special-purpose space: carrier-grade NAT
    100.64.0.0/10 (where cloud metadata lives, e.g. 100.100.100.200), 6to4 relays 192.88.99.0/24,
    6to4 2002::/16 and NAT64 64:ff9b::/96 (both embed an IPv4 address that may be private)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_public(ip.ipv4_mapped)
        if any(ip in net for net in _EMBEDDING_V4):
            return False
    return ip.is_global and not ip.is_multicast and not any(ip in net for net in _NOT_GLOBAL_ENOUGH)


# IPv6 ranges whose addresses carry an IPv4 address inside; ``is_global`` calls some of them global.
_EMBEDDING_V4 = (
    ipaddress.ip_network("2002::/16"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)
# ``is_global`` answers True for the 6to4 relay anycast block; it forwards to arbitrary hosts.
_NOT_GLOBAL_ENOUGH = (ipaddress.ip_network("192.88.99.0/24"),)


def resolve_checked(host: str, port: int) -> str:
    """Resolve ``host`` and return an address we may connect to, or raise FetchError."""
    names, networks = allowed_exceptions()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"The host {host} cannot be resolved ({exc.strerror}).", temporary=True) from exc
    refused = []
    for info in infos:
        address = info[4][0]
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if _is_public(ip) or host.lower() in names or any(ip in net for net in networks):
            return address
        refused.append(address)
    raise FetchError(
        f"The host {host} resolves to {', '.join(refused)}, a private, loopback, link-local or reserved "
        "address; Quayside does not fetch from such addresses. Publish the data at a public URL or "
        "upload the file with the EML."
    )


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(
            raw, server_hostname=self.host
        )  # certificate checked for the name


def _open(url: str, timeout: float):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(
            f"The URL {url} uses {parts.scheme or 'no'} scheme; only http and https URLs are fetched."
        )
    if not parts.hostname:
        raise FetchError(f"The URL {url} names no host.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port)
    cls = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    conn = cls(parts.hostname, port, address, timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn.request("GET", path, headers={"User-Agent": "Quayside/0.1 (data package fetcher)", "Accept": "*/*"})
    return conn, conn.getresponse()


def _fetch_once(url: str, dest: Path, cap: int) -> Fetched:
    timeout = settings.FETCH_TIMEOUT
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            conn, resp = _open(current, timeout)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise FetchError(f"The certificate of {current} is not valid: {exc.verify_message}.") from exc
            raise FetchError(f"{current} is unreachable: {exc}.", temporary=True) from exc
        try:
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise FetchError(f"{current} redirects without a Location.")
                current = urljoin(current, location)
                continue
            if resp.status >= 500 or resp.status == 429:
                raise FetchError(f"{current} answered HTTP {resp.status}.", temporary=True)
            if resp.status != 200:
                raise FetchError(
                    f"{current} answered HTTP {resp.status} {resp.reason}; the data object must be "
                    "downloadable from the URL in physical/distribution/online/url."
                )
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > cap:
                raise FetchError(f"{current} is {int(length):,} bytes, more than the limit of {cap:,} bytes.")
            md5, size = hashlib.md5(), 0
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(dest.name + ".part")
            try:
                # Free scratch space first: a body that cannot fit is refused before a byte is written.
                scratch.check_free_space(int(length) if length and length.isdigit() else 0, current)
                with open(partial, "wb") as out:
                    while True:
                        try:
                            block = resp.read(CHUNK)
                        except (OSError, http.client.HTTPException) as exc:
                            raise FetchError(f"Reading {current} failed: {exc}.", temporary=True) from exc
                        if not block:
                            break
                        size += len(block)
                        if size > cap:
                            raise FetchError(f"{current} is larger than the limit of {cap:,} bytes.")
                        md5.update(block)
                        out.write(block)
            except scratch.ScratchFull as exc:
                raise FetchError(str(exc)) from exc
            except OSError as exc:
                if not scratch.is_disk_full(exc):
                    raise
                # Not retried here (the disk will not empty in seconds) and not "Internal error": the
                # report says the portal's disk is full, so nobody hunts for a fault in the data.
                raise FetchError(scratch.full_message(current)) from exc
            if length and length.isdigit() and size != int(length):
                raise FetchError(f"{current} ended after {size:,} of {int(length):,} bytes.", temporary=True)
            partial.replace(dest)
            return Fetched(dest, size, md5.hexdigest(), current)
        finally:
            conn.close()
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times.")


def fetch(url: str, dest: Path, *, max_bytes: int | None = None) -> Fetched:
    """Download ``url`` into ``dest``; retry temporary failures FETCH_RETRIES times, then give up. At most
    ``max_bytes`` (default FETCH_MAX_BYTES): a page or a .torrent is refused long before a data object."""
    attempts = max(1, settings.FETCH_RETRIES)
    cap = settings.FETCH_MAX_BYTES if max_bytes is None else min(max_bytes, settings.FETCH_MAX_BYTES)
    for attempt in range(1, attempts + 1):
        try:
            return _fetch_once(url, dest, cap)
        except FetchError as exc:
            dest.with_name(dest.name + ".part").unlink(missing_ok=True)
            if not exc.temporary or attempt == attempts:
                raise
            log.info("fetch of %s failed (%s); attempt %d of %d", url, exc, attempt, attempts)
            time.sleep(min(0.5 * 2 ** (attempt - 1), 5))
    raise AssertionError("unreachable")
