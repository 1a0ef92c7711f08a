"""The node's one libtorrent session: what it holds, on disk under the data folder.

Layout of the data folder::

    data/<infohash>/<torrent name>/<path>   the files (sparse where only some pieces are held)
    torrents/<infohash>.torrent             the .torrent as fetched (a restart needs no portal)
    resume/<infohash>.resume                libtorrent resume data (pieces held, upload totals)

Downloads come from the torrents' web seeds (BEP 19: the portal and its verified mirrors) and from any
peers; the node then seeds. Settings: LSD, UPnP and NAT-PMP always off (a node never opens ports on its
operator's router by itself). With no listen interfaces (the default) the node opens no socket at all:
it connects out over TCP only (uTP and the DHT need a listening UDP socket, so both are off then), which
is enough to download from web seeds and to upload to the peers it connects to.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import libtorrent as lt

log = logging.getLogger(__name__)

DEFAULT_PRIORITY = 4  # libtorrent's default; 0 = do not download


@dataclass(frozen=True)
class Holding:
    infohash: str
    name: str
    pieces_held: int
    pieces_total: int
    pieces_wanted: int
    bytes_held: int
    uploaded: int
    downloaded: int

    @property
    def complete(self) -> bool:
        return self.pieces_total > 0 and self.pieces_held == self.pieces_total

    @property
    def done(self) -> bool:
        """Every wanted piece is held (a partial holding is done when its chosen pieces are)."""
        return self.pieces_held >= self.pieces_wanted


def session_settings(
    listen: str = "", *, upload_limit: int = 0, download_limit: int = 0, dht: bool = True
) -> dict:
    """libtorrent settings for a node. ``listen`` empty: outbound only (no socket is opened)."""
    listening = bool(listen.strip())
    return {
        "listen_interfaces": listen,
        "enable_dht": dht and listening,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # uTP runs over the listen socket's UDP port: without one, outgoing uTP connections fail.
        "enable_outgoing_utp": listening,
        "enable_incoming_utp": listening,
        # Keep connections to peers that are upload-only too (other nodes holding parts, seeds): the
        # node learns from them which pieces are rare (piece_availability) before it chooses its own.
        "close_redundant_connections": False,
        # Several peers (the portal's seeder, other nodes, tests) may share one address.
        "allow_multiple_connections_per_ip": True,
        "upload_rate_limit": upload_limit,
        "download_rate_limit": download_limit,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage,
        "user_agent": "quayside-node",
    }


def spread(total: int, count: int, salt: str) -> list[int]:
    """``count`` piece indexes spread evenly over ``total``, shifted by a phase from ``salt`` (the node's
    name and the infohash), so that nodes holding parts of one version tend to hold different parts."""
    if count >= total:
        return list(range(total))
    phase = int.from_bytes(hashlib.sha256(salt.encode()).digest()[:8], "big") / 2**64
    return sorted({int((k + phase) * total / count) % total for k in range(count)})


class NodeSession:
    def __init__(
        self,
        folder: Path | str,
        *,
        listen: str = "",
        upload_limit: int = 0,
        download_limit: int = 0,
        dht: bool = True,
        salt: str = "",
    ):
        self.folder = Path(folder)
        for sub in ("data", "torrents", "resume"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.session = lt.session(
            session_settings(listen, upload_limit=upload_limit, download_limit=download_limit, dht=dht)
        )
        self.salt = salt
        self.handles: dict[str, lt.torrent_handle] = {}
        self.wanted: dict[str, int] = {}  # infohash → pieces wanted

    @property
    def port(self) -> int:
        """The listening port (0 when outbound only)."""
        return self.session.listen_port() if self.session.is_listening() else 0

    def apply_limits(self, *, upload_limit: int, download_limit: int) -> None:
        self.session.apply_settings(
            {"upload_rate_limit": upload_limit, "download_rate_limit": download_limit}
        )

    # --- torrents -----------------------------------------------------------------------------------

    def load(self) -> int:
        """Add back every torrent kept in the data folder (after a restart); returns how many."""
        for path in sorted((self.folder / "torrents").glob("*.torrent")):
            infohash = path.stem
            if infohash not in self.handles:
                self.add(infohash, path.read_bytes())
        return len(self.handles)

    def add(self, infohash: str, torrent: bytes, *, pieces: list[int] | None = None) -> None:
        """Hold the torrent: every piece, or only ``pieces``. Its bytes must have ``infohash`` (v1)."""
        info = lt.torrent_info(lt.bdecode(torrent))
        if str(info.info_hashes().v1) != infohash:
            raise ValueError(f"the torrent fetched for {infohash} is {info.info_hashes().v1}")
        torrent_path = self.folder / "torrents" / f"{infohash}.torrent"
        if not torrent_path.exists():
            tmp = torrent_path.with_suffix(".tmp")
            tmp.write_bytes(torrent)
            os.replace(tmp, torrent_path)
        params = lt.add_torrent_params()
        resume = self.folder / "resume" / f"{infohash}.resume"
        if resume.exists():
            try:
                params = lt.read_resume_data(resume.read_bytes())
            except RuntimeError:
                log.warning("unreadable resume data for %s; checking the files instead", infohash)
                params = lt.add_torrent_params()
        params.ti = info
        params.save_path = str(self.folder / "data" / infohash)
        params.flags &= ~lt.torrent_flags.paused
        params.flags &= ~lt.torrent_flags.auto_managed  # every planned torrent runs, none queued
        if pieces is not None:
            # Set before the torrent starts, so that no unwanted piece is fetched in the meantime.
            params.piece_priorities = self._piece_priorities(info.num_pieces(), pieces)
            params.file_priorities = self._file_priorities(info, pieces)
        handle = self.session.add_torrent(params)
        self.handles[infohash] = handle
        self.wanted[infohash] = info.num_pieces() if pieces is None else len(pieces)
        log.info("holding %s (%s)", info.name(), "all pieces" if pieces is None else f"{len(pieces)} pieces")

    def want(self, infohash: str, pieces: list[int] | None) -> None:
        """Change what is held of a torrent already in the session: all pieces, or only ``pieces``."""
        handle = self.handles[infohash]
        info = handle.torrent_file()
        total = info.num_pieces()
        if pieces is None:
            handle.prioritize_files([DEFAULT_PRIORITY] * info.num_files())
            handle.prioritize_pieces([DEFAULT_PRIORITY] * total)
            self.wanted[infohash] = total
        else:
            # Files first: prioritize_files resets their pieces' priorities, which the pieces then set.
            handle.prioritize_files(self._file_priorities(info, pieces))
            handle.prioritize_pieces(self._piece_priorities(total, pieces))
            self.wanted[infohash] = len(pieces)

    def choose_pieces(self, infohash: str, count: int, total: int) -> list[int]:
        """Which ``count`` pieces to hold of a torrent: those already held first (no download wasted),
        then the rarest among connected peers (``piece_availability``) when any peer is known, else
        spread evenly (``spread``)."""
        order = list(range(total))
        even = spread(total, count, self.salt + infohash)
        handle = self.handles.get(infohash)
        have = set()
        availability = [0] * total
        if handle is not None:
            status = handle.status(lt.status_flags_t.query_pieces)
            have = {i for i, held in enumerate(status.pieces) if held}
            if status.num_peers > 0:
                availability = list(handle.piece_availability()) or availability
        even_set = set(even)
        order.sort(key=lambda i: (i not in have, availability[i], i not in even_set, i))
        return sorted(order[:count])

    def drop(self, infohash: str) -> None:
        """Stop holding the torrent and delete its files, .torrent and resume data."""
        handle = self.handles.pop(infohash, None)
        self.wanted.pop(infohash, None)
        if handle is not None:
            self.session.remove_torrent(handle, lt.options_t.delete_files)
        shutil.rmtree(self.folder / "data" / infohash, ignore_errors=True)
        (self.folder / "torrents" / f"{infohash}.torrent").unlink(missing_ok=True)
        (self.folder / "resume" / f"{infohash}.resume").unlink(missing_ok=True)
        log.info("deleted %s", infohash)

    @staticmethod
    def _piece_priorities(total: int, pieces: list[int]) -> list[int]:
        priorities = [0] * total
        for i in pieces:
            priorities[i] = DEFAULT_PRIORITY
        return priorities

    @staticmethod
    def _file_priorities(info: lt.torrent_info, pieces: list[int]) -> list[int]:
        """A file none of whose pieces is wanted gets priority 0 (libtorrent then does not create it)."""
        files = info.layout()
        size = info.piece_length()
        wanted = set(pieces)
        priorities = []
        for f in range(info.num_files()):
            first = files.file_offset(f) // size
            last = (files.file_offset(f) + max(files.file_size(f), 1) - 1) // size
            hit = any(p in wanted for p in range(first, last + 1))
            priorities.append(DEFAULT_PRIORITY if hit else 0)
        return priorities

    # --- state --------------------------------------------------------------------------------------

    def holdings(self) -> dict[str, Holding]:
        result = {}
        for infohash, handle in self.handles.items():
            s = handle.status()
            info = handle.torrent_file()
            result[infohash] = Holding(
                infohash=infohash,
                name=s.name,
                pieces_held=s.num_pieces,
                pieces_total=info.num_pieces() if info else 0,
                pieces_wanted=self.wanted.get(infohash, 0),
                bytes_held=s.total_done,
                uploaded=s.all_time_upload,
                downloaded=s.all_time_download,
            )
        return result

    def wait_until_done(self, infohashes: set[str], timeout: float) -> bool:
        """Pump alerts until every one of ``infohashes`` holds its wanted pieces, then write them to disk
        (a verified piece may still sit in libtorrent's store buffer) with their resume data; False on
        timeout."""
        deadline = time.monotonic() + timeout
        while True:
            held = self.holdings()
            if all(held[ih].done for ih in infohashes if ih in held):
                self.flush(infohashes & set(held), max(1.0, deadline - time.monotonic()))
                self.save_resume(max(1.0, deadline - time.monotonic()))
                return True
            if time.monotonic() >= deadline:
                return False
            self.pump(0.2)

    def flush(self, infohashes: set[str], timeout: float = 10) -> None:
        """Write the torrents' verified pieces still in libtorrent's store buffer to their files."""
        waiting = set()
        for infohash in infohashes:
            self.handles[infohash].flush_cache()
            waiting.add(infohash)
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            self.session.wait_for_alert(100)
            for alert in self.session.pop_alerts():
                if isinstance(alert, lt.cache_flushed_alert):
                    waiting.discard(str(alert.handle.info_hashes().v1))

    def pump(self, seconds: float) -> None:
        """Wait up to ``seconds`` for alerts and log the errors among them."""
        self.session.wait_for_alert(int(seconds * 1000))
        for alert in self.session.pop_alerts():
            if alert.category() & lt.alert_category.error:
                log.warning("libtorrent: %s", alert.message())

    def save_resume(self, timeout: float = 10) -> int:
        """Write every torrent's resume data; returns how many were written."""
        waiting = 0
        for handle in self.handles.values():
            # flush_disk_cache: the pieces reach the files before the resume data says they are there.
            handle.save_resume_data(lt.torrent_handle.save_info_dict | lt.torrent_handle.flush_disk_cache)
            waiting += 1
        written = 0
        deadline = time.monotonic() + timeout
        while waiting and time.monotonic() < deadline:
            self.session.wait_for_alert(200)
            for alert in self.session.pop_alerts():
                if isinstance(alert, lt.save_resume_data_alert):
                    infohash = str(alert.handle.info_hashes().v1)
                    path = self.folder / "resume" / f"{infohash}.resume"
                    tmp = path.with_suffix(".tmp")
                    tmp.write_bytes(lt.write_resume_data_buf(alert.params))
                    os.replace(tmp, path)
                    written += 1
                    waiting -= 1
                elif isinstance(alert, lt.save_resume_data_failed_alert):
                    waiting -= 1
        return written

    def close(self) -> None:
        """Save resume data, remove every torrent, and end the libtorrent session now, on this thread,
        rather than in whatever order interpreter shutdown frees objects. (The abort once blamed on this,
        "terminate called without an active exception", came from Arrow's thread pools: httpfile.)"""
        if self.session is None:
            return
        self.save_resume()
        for handle in list(self.handles.values()):
            self.session.remove_torrent(handle)
        self.handles.clear()
        self.session = None  # the last reference: the destructor stops and joins the session's threads
