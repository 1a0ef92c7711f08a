"""The portal's seeder: one libtorrent session that seeds every public version from storage.

``Seeder(folder).run()`` (``python manage.py seed``) loops: every ``SWARM_SEED_POLL_SECONDS`` it adds the
torrents of newly published versions and of verified local mirrors of other portals' datasets (which
``apps.federation`` registers through ``apps.swarm.extensions``), removes those no longer wanted (versions
withdrawn or tainted, mirrors removed) with their files and resume data, saves resume data, and reports
each local torrent's swarm health (``SwarmHealth``): from its own session (seeds and peers it is connected
to, completed, uploaded) and, where trackers are set, what they last answered: seeders, leechers and
completed downloads from each announce reply and from a scrape (BEP 48) asked for at most every
``SWARM_SCRAPE_SECONDS`` per torrent. libtorrent's SSRF mitigation stays on (the seeder also seeds other
portals' torrents, with their trackers): it refuses the scrape URL of a tracker on loopback or a private
network, whose figures then come from its announce replies only.

Files: a torrent's ``save_path`` is ``<folder>/data/<infohash>``, under which ``<tree name>/<path>`` is a
symbolic link to the blob in local storage (blobs are content-addressed, so the tree is only names). With
S3 storage the files are copied into that folder instead, while the copies stay within
``SWARM_SEED_CACHE_BYTES`` (a version that does not fit is left to the web seeds and mirrors).
Torrents are added in seed mode (the blobs' SHA-256 was checked when stored); resume data in
``<folder>/resume/<infohash>.resume`` keeps upload totals across restarts.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from pathlib import Path

import libtorrent as lt
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import close_old_connections

from apps.publishing.files import version_files
from apps.storage import services as storage

from . import extensions, services
from .extensions import Seedable
from .models import SwarmHealth

log = logging.getLogger(__name__)


def session_settings(listen: str | None = None, *, dht: bool | None = None) -> dict:
    """libtorrent settings for the seeder (LSD, UPnP and NAT-PMP off: a server has a fixed address)."""
    return {
        "listen_interfaces": listen or settings.SWARM_LISTEN_INTERFACES,
        "enable_dht": settings.SWARM_DHT if dht is None else dht,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert_category.error | lt.alert_category.status | lt.alert_category.storage,
        "user_agent": "Quayside seeder",
    }


def tracker_figures(trackers: list[dict]) -> tuple[int, int, int] | None:
    """(seeders, leechers, completed downloads) from libtorrent's tracker entries (``handle.trackers()``),
    as their last announce reply or scrape gave them: the largest figure any tracker gave (libtorrent's
    own ``num_complete`` takes the same maximum), None while no tracker has given any."""
    best = [-1, -1, -1]
    for tracker in trackers:
        for endpoint in tracker.get("endpoints", []):
            for figures in endpoint.get("info_hashes", []):
                for i, key in enumerate(("scrape_complete", "scrape_incomplete", "scrape_downloaded")):
                    best[i] = max(best[i], figures.get(key, -1))
    if best[0] < 0:
        return None
    return best[0], max(best[1], 0), max(best[2], 0)


class Seeder:
    def __init__(self, folder: Path | str, *, listen: str | None = None, dht: bool | None = None):
        self.folder = Path(folder)
        (self.folder / "data").mkdir(parents=True, exist_ok=True)
        (self.folder / "resume").mkdir(parents=True, exist_ok=True)
        self.session = lt.session(session_settings(listen, dht=dht))
        # infohash → (local Torrent pk, or None for another app's torrent; handle)
        self.handles: dict[str, tuple[int | None, lt.torrent_handle]] = {}
        self.scraped: dict[str, float] = {}  # infohash → when its trackers were last asked for a scrape
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return self.session.listen_port()

    # --- files --------------------------------------------------------------------------------------

    def _lay_out(self, item: Seedable, target: Path) -> bool:
        """Make ``target/<path>`` for every file; False when it does not fit the S3 cache."""
        primary = storage.primary()
        local = isinstance(primary, FileSystemStorage)
        size = sum(blob.size for _path, blob in item.files)
        if not local and self._cached_bytes() + size > settings.SWARM_SEED_CACHE_BYTES:
            log.warning("%s does not fit the seed cache; left to the web seeds", item.label)
            return False
        for name, blob in item.files:
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                continue
            if local:
                path.symlink_to(primary.path(blob.key))
            else:
                with storage.open_blob(blob) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        return True

    def _cached_bytes(self) -> int:
        return sum(
            p.stat().st_size for p in (self.folder / "data").rglob("*") if p.is_file() and not p.is_symlink()
        )

    # --- torrents -----------------------------------------------------------------------------------

    def wanted(self) -> dict[str, Seedable]:
        """Every torrent to seed now: the public versions' and what other apps register
        (``apps.swarm.extensions``: federation's verified mirrors), by infohash (a local torrent first)."""
        wanted: dict[str, Seedable] = {}
        for function in extensions.seedables:
            for item in function():
                wanted[item.infohash] = item
        for torrent in services.public_torrents().prefetch_related("revision__entities__blob"):
            tree = services.name_of(torrent.revision)
            wanted[torrent.infohash] = Seedable(
                infohash=torrent.infohash,
                torrent=torrent.blob,
                files=[(f"{tree}/{f.path}", f.blob) for f in version_files(torrent.revision) if f.blob],
                label=tree,
                torrent_pk=torrent.pk,
            )
        return wanted

    def sync(self) -> tuple[int, int]:
        """Seed every wanted torrent not yet in the session, drop those no longer wanted. Returns
        (added, removed)."""
        wanted = self.wanted()
        added = removed = 0
        for infohash in [ih for ih in self.handles if ih not in wanted]:
            self.drop(infohash)
            removed += 1
        for infohash, item in wanted.items():
            if infohash in self.handles:
                continue
            if self.add(item):
                added += 1
        return added, removed

    def add(self, item: Seedable) -> bool:
        target = self.folder / "data" / item.infohash
        if not self._lay_out(item, target):
            return False
        with storage.open_blob(item.torrent) as fh:
            info = lt.torrent_info(lt.bdecode(fh.read()))
        resume = self.folder / "resume" / f"{item.infohash}.resume"
        params = lt.add_torrent_params()
        if resume.exists():
            try:
                params = lt.read_resume_data(resume.read_bytes())
            except RuntimeError:
                log.warning("unreadable resume data for %s; starting afresh", item.infohash)
                params = lt.add_torrent_params()
        params.ti = info
        params.save_path = str(target)
        params.flags |= lt.torrent_flags.seed_mode
        params.flags &= ~lt.torrent_flags.paused
        params.flags &= ~lt.torrent_flags.auto_managed
        handle = self.session.add_torrent(params)
        self.handles[item.infohash] = (item.torrent_pk, handle)
        log.info("seeding %s (%s)", item.label, item.infohash)
        return True

    def drop(self, infohash: str) -> None:
        """Stop seeding and delete the torrent's folder (links or cached copies) and resume data."""
        _pk, handle = self.handles.pop(infohash)
        self.scraped.pop(infohash, None)
        self.session.remove_torrent(handle)
        shutil.rmtree(self.folder / "data" / infohash, ignore_errors=True)
        (self.folder / "resume" / f"{infohash}.resume").unlink(missing_ok=True)
        log.info("stopped seeding %s", infohash)

    # --- reports and resume data ----------------------------------------------------------------------

    def report(self) -> None:
        """One ``SwarmHealth`` row per local torrent from the session, and one from its trackers when they
        have answered; mirrors of other portals' torrents are seeded, their health is their home's to
        report. A scrape asked for now is answered in the background: the next report carries it."""
        now = time.monotonic()
        for infohash, (pk, handle) in self.handles.items():
            if pk is None:
                continue
            s = handle.status()
            connected_seeds = s.num_seeds + (1 if s.is_seeding else 0)  # this seeder is a copy too
            services.record_health(
                pk,
                SwarmHealth.Source.SESSION,
                seeds=connected_seeds,
                peers=s.num_peers - s.num_seeds,
                completed=max(s.num_complete, 0) if s.num_complete >= 0 else 0,
                uploaded=s.all_time_upload,
            )
            trackers = handle.trackers()
            if not trackers:
                continue
            figures = tracker_figures(trackers)
            if figures is not None:
                seeds, peers, completed = figures
                services.record_health(
                    pk,
                    SwarmHealth.Source.TRACKER,
                    seeds=seeds,
                    peers=peers,
                    completed=completed,
                    uploaded=s.all_time_upload,
                )
            if now - self.scraped.get(infohash, float("-inf")) >= settings.SWARM_SCRAPE_SECONDS:
                handle.scrape_tracker()  # every tracker of the torrent (libtorrent: one request per torrent)
                self.scraped[infohash] = now

    def save_resume(self, timeout: float = 10) -> int:
        """Write every torrent's resume data; returns how many were written."""
        waiting = 0
        for _pk, handle in self.handles.values():
            handle.save_resume_data(lt.torrent_handle.save_info_dict)
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

    def log_alerts(self) -> None:
        for alert in self.session.pop_alerts():
            if alert.category() & lt.alert_category.error:
                log.warning("libtorrent: %s", alert.message())

    def run(self, poll: float | None = None, resume_every: float = 300) -> None:
        """Sync and report every ``poll`` seconds until ``stop()``; resume data saved now and then and at
        the end."""
        poll = settings.SWARM_SEED_POLL_SECONDS if poll is None else poll
        last_resume = time.monotonic()
        try:
            while not self.stopping.is_set():
                try:
                    close_old_connections()  # a long-lived process: drop a connection the database closed
                    self.sync()
                    self.report()
                except Exception:  # the database or storage briefly away: try again next round
                    log.exception("seeder round failed")
                self.log_alerts()
                if time.monotonic() - last_resume > resume_every:
                    self.save_resume()
                    last_resume = time.monotonic()
                self.stopping.wait(poll)
        finally:
            self.save_resume()

    def stop(self) -> None:
        self.stopping.set()

    def close(self) -> None:
        """End the libtorrent session now, on this thread (after ``run``), rather than in whatever order
        interpreter shutdown frees objects."""
        self.handles.clear()
        self.session = None  # the last reference: the destructor stops and joins the session's threads
