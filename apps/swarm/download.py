"""Downloading a torrent from another portal (a mirror of a harvested dataset), safely.

``download(data, dest)`` fetches every file of the bencoded torrent ``data`` into ``dest`` with a fresh
libtorrent session — from its web seeds (BEP 19, the home portal's storage) and from any peer its trackers
name — and returns when libtorrent has checked every piece against the torrent's SHA-1 hashes.

The torrent comes from another server, so everything in it is untrusted:

- **addresses**: the session's IP filter blocks every address the data fetcher refuses
  (``apps.submissions.fetch``: private, loopback, link-local, reserved, multicast), for peers, web seeds and
  trackers alike (``apply_ip_filter_to_trackers``), except the hosts and networks ``FETCH_ALLOWED_HOSTS``
  names. libtorrent resolves each web seed and tracker and checks the address it connects to, so a name
  that resolves to a private address is refused (``peer_blocked_alert``), and its ``ssrf_mitigation``
  stays on. LSD, UPnP and NAT-PMP are off; DHT follows ``SWARM_DHT``.
- **size**: the torrent file is capped (``MAX_TORRENT_BYTES``), and so are its total size
  (``FETCH_MAX_BYTES``) and its file count (``MAX_FILES``); libtorrent sanitises file paths (no ``..``,
  no absolute paths), and this module checks again that every file lands under ``dest``.
- **time**: the download fails when no byte arrived for ``stall`` seconds or the whole took longer than
  ``timeout``; the error says how far it got and what the web seeds answered.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import libtorrent as lt
from django.conf import settings

from apps.submissions.fetch import allowed_exceptions

MAX_TORRENT_BYTES = 16 * 1024 * 1024
MAX_FILES = 100_000
BLOCKED = 1  # lt.ip_filter's access flag

# What the IP filter blocks: the IPv4 ranges IANA lists as not globally reachable (all of 192.0.0.0/24,
# where ``is_global`` spares two anycast addresses), and all of IPv6 but global unicast (2000::/3) less
# its special blocks. ``test_the_ip_filter_refuses_what_the_fetcher_refuses`` compares it with the
# fetcher's rule (``ipaddress.is_global``) address by address.
_BLOCKED_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
)  # fmt: skip
_V6_GLOBAL = "2000::/3"
_BLOCKED_V6_IN_GLOBAL = ("2001::/23", "2001:db8::/32", "2002::/16")


class DownloadError(Exception):
    pass


@dataclass(frozen=True)
class Downloaded:
    infohash: str  # v1, hex
    name: str
    files: list[tuple[str, int]]  # (path under dest, as the torrent names it; size)


def parse(data: bytes) -> lt.torrent_info:
    """The torrent's info, or DownloadError saying why it is not one we take."""
    if len(data) > MAX_TORRENT_BYTES:
        raise DownloadError(
            f"The torrent file is {len(data):,} bytes; at most {MAX_TORRENT_BYTES:,} are read."
        )
    try:
        info = lt.torrent_info(data)
    except RuntimeError as exc:
        raise DownloadError(f"Not a torrent file: {exc}.") from exc
    if info.num_files() > MAX_FILES:
        raise DownloadError(f"The torrent lists {info.num_files():,} files; at most {MAX_FILES:,} are taken.")
    if info.total_size() > settings.FETCH_MAX_BYTES:
        raise DownloadError(
            f"The torrent holds {info.total_size():,} bytes, more than FETCH_MAX_BYTES "
            f"({settings.FETCH_MAX_BYTES:,})."
        )
    if info.info_hashes().has_v1() is False:
        raise DownloadError("The torrent is v2 only; Quayside seeds v1 torrents.")
    return info


def ip_filter() -> lt.ip_filter:
    """The filter described above (later rules win where ranges overlap)."""
    f = lt.ip_filter()
    for net in _BLOCKED_V4:
        _rule(f, ipaddress.ip_network(net), BLOCKED)
    _rule(f, ipaddress.ip_network("::/0"), BLOCKED)
    _rule(f, ipaddress.ip_network(_V6_GLOBAL), 0)
    for net in _BLOCKED_V6_IN_GLOBAL:
        _rule(f, ipaddress.ip_network(net), BLOCKED)
    names, networks = allowed_exceptions()
    for net in networks:
        _rule(f, net, 0)
    for name in names:  # resolved now: the session connects by address
        try:
            infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
        except socket.gaierror:
            continue
        for info in infos:
            _rule(f, ipaddress.ip_network(info[4][0].split("%", 1)[0]), 0)
    return f


def _rule(f: lt.ip_filter, net, flags: int) -> None:
    f.add_rule(str(net.network_address), str(net.broadcast_address), flags)


def session(listen: str | None = None) -> lt.session:
    s = lt.session(
        {
            "listen_interfaces": listen or settings.SWARM_MIRROR_LISTEN_INTERFACES,
            "enable_dht": settings.SWARM_DHT,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "ssrf_mitigation": True,
            "apply_ip_filter_to_trackers": True,
            "allow_idna": False,
            "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.peer,
            "user_agent": "Quayside mirror",
        }
    )
    s.set_ip_filter(ip_filter())
    return s


def download(
    data: bytes, dest: Path, *, timeout: float | None = None, stall: float | None = None
) -> Downloaded:
    """Download every file of the torrent into ``dest`` (see the module notes); DownloadError on failure."""
    timeout = settings.SWARM_MIRROR_TIMEOUT if timeout is None else timeout
    stall = settings.SWARM_MIRROR_STALL_SECONDS if stall is None else stall
    info = parse(data)
    dest = Path(dest).resolve()
    files = info.layout()
    listed = []
    for i in range(files.num_files()):
        path = files.file_path(i)
        if not (dest / path).resolve().is_relative_to(dest):
            raise DownloadError(f"The torrent names a file outside its folder: {path!r}.")
        listed.append((path, files.file_size(i)))
    s = session()
    params = lt.add_torrent_params()
    params.ti = info
    params.save_path = str(dest)
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = s.add_torrent(params)
    started = last_progress = time.monotonic()
    done = -1
    problems: list[str] = []
    try:
        while True:
            status = handle.status()
            if status.is_seeding:
                break
            if status.errc.value():
                raise DownloadError(f"The download failed: {status.errc.message()}.")
            if status.total_wanted_done > done:
                done, last_progress = status.total_wanted_done, time.monotonic()
            now = time.monotonic()
            if now - last_progress > stall or now - started > timeout:
                why = "no data" if now - last_progress > stall else "too slow"
                seen = f"; {'; '.join(problems[-3:])}" if problems else ""
                raise DownloadError(
                    f"The download stalled at {done:,} of {info.total_size():,} bytes ({why}{seen})."
                )
            s.wait_for_alert(250)
            for alert in s.pop_alerts():
                if isinstance(alert, (lt.url_seed_alert, lt.peer_blocked_alert, lt.tracker_error_alert)):
                    problems.append(alert.message()[:300])
                elif isinstance(alert, (lt.file_error_alert, lt.torrent_error_alert)):
                    raise DownloadError(f"The download failed: {alert.message()[:300]}.")
    finally:
        s.remove_torrent(handle)
        del s  # the session's destructor waits for its threads to let go of the files
    return Downloaded(infohash=str(info.info_hashes().v1), name=info.name(), files=listed)
