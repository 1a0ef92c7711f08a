"""One node: what a cycle does (docs/node.md, "A cycle").

1. Register with the portal the first time and whenever the configuration changed (``state.json`` in the
   data folder keeps the portal's answer and the configuration's fingerprint).
2. Read the catalog and swarm health by HTTP Range: only the footer and the needed column chunks.
3. Delete every held torrent that is withdrawn or tainted in the catalog or absent from health.
4. Rank and fill the budget (``rank``); delete held torrents that fell out of the plan.
5. Fetch the .torrent of each planned version not yet held and add it to the session (its web seeds
   download it); set the piece priorities of the version held by pieces.
6. Report the holdings; delete whatever the portal's answer lists in ``drop``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field

import requests

from . import rank as ranking
from .config import Config
from .httpfile import HTTPRangeFile, RemoteFileChanged
from .portal import Gone, PortalClient, PortalError
from .session import NodeSession

log = logging.getLogger(__name__)

READ_ATTEMPTS = 3  # a catalog renamed over mid-read is read again, at most this often


@dataclass
class CycleResult:
    plan: ranking.Plan | None = None
    deleted: dict[str, str] = field(default_factory=dict)  # infohash → why
    added: list[str] = field(default_factory=list)
    report: dict | None = None
    bytes_fetched: int = 0  # catalog and health, over HTTP
    error: str = ""


class Node:
    def __init__(self, config: Config, *, http: requests.Session | None = None):
        self.config = config.check()
        self.http = http or requests.Session()
        self.portal = PortalClient(config.portal, config.token, timeout=config.timeout, session=self.http)
        self.folder = config.data
        self.folder.mkdir(parents=True, exist_ok=True)
        self.session = NodeSession(
            self.folder,
            listen=config.listen,
            upload_limit=config.upload_limit,
            download_limit=config.download_limit,
            dht=config.dht,
            salt=config.name or config.portal,
        )
        self.session.load()
        self.registration: dict = {}

    # --- registration ---------------------------------------------------------------------------------

    @property
    def _state_path(self):
        return self.folder / "state.json"

    def register(self, *, force: bool = False) -> dict:
        """The portal's registration answer; registers when there is none for this configuration."""
        fingerprint = self.config.fingerprint()
        if not force and not self.registration and self._state_path.exists():
            state = json.loads(self._state_path.read_text())
            if state.get("fingerprint") == fingerprint:
                self.registration = state["registration"]
        if force or not self.registration:
            self.registration = self.portal.register(self.config.registration())
            tmp = self._state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"fingerprint": fingerprint, "registration": self.registration}))
            os.replace(tmp, self._state_path)
            log.info(
                "registered as node %s (%s)", self.registration.get("node"), self.registration.get("name")
            )
        return self.registration

    @property
    def poll_seconds(self) -> int:
        return self.config.poll_seconds or int(self.registration.get("poll_seconds") or 300)

    # --- the plan -------------------------------------------------------------------------------------

    def plan(self) -> tuple[ranking.Plan, set[str], int]:
        """(the plan, held infohashes to delete because they are no longer public, bytes fetched). The
        catalog and health are read by Range as the ranking goes (``rank``), the catalog's ``id`` column
        last: all of it again if either file changed mid-read."""
        reg = self.registration
        holdings = self.session.holdings()
        complete = [ih for ih, h in holdings.items() if h.complete]
        for attempt in range(READ_ATTEMPTS):
            catalog = health = None
            try:
                catalog_file = HTTPRangeFile(
                    reg["catalog_url"], session=self.http, timeout=self.config.timeout
                )
                catalog = ranking.read_catalog(
                    catalog_file, subjects=self.config.subjects, scopes=self.config.scopes
                )
                health_file = HTTPRangeFile(reg["health_url"], session=self.http, timeout=self.config.timeout)
                health = ranking.read_health(health_file)
                ranked = ranking.rank(
                    catalog,
                    health,
                    budget=self.config.budget,
                    held=holdings,
                    held_complete=complete,
                    favour=self.config.favour,
                )
                fetched = catalog_file.bytes_fetched + health_file.bytes_fetched
                return ranking.fill(ranked.rows, self.config.budget), ranked.gone, fetched
            except RemoteFileChanged:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                log.info("the catalog or health changed while being read; reading again")
            finally:  # the Parquet readers end here, not at interpreter shutdown (Catalog.close)
                if health is not None:
                    health.close()
                if catalog is not None:
                    catalog.close()
        raise AssertionError("unreachable")

    # --- the cycle ------------------------------------------------------------------------------------

    def cycle(self, *, wait: float = 0) -> CycleResult:
        """One cycle (module docstring). ``wait``: seconds to let the planned downloads finish before
        reporting (``quayside-node once``); 0 reports at once and lets them go on in the background."""
        result = CycleResult()
        self.register()
        try:
            plan, gone, result.bytes_fetched = self.plan()
        except (requests.RequestException, OSError) as exc:
            # The portal may be rebuilding the catalog (503) or down: keep seeding, report, try later.
            log.warning("could not read the catalog or health: %s", exc)
            result.error = str(exc)
            plan, gone = None, set()
        result.plan = plan
        for infohash in sorted(gone):
            self.session.drop(infohash)
            result.deleted[infohash] = "not public"
        if plan is not None:
            self._apply(plan, result)
        if wait > 0 and plan is not None:
            self.session.wait_until_done(plan.infohashes, wait)
        result.report = self.report(result)
        return result

    def _apply(self, plan: ranking.Plan, result: CycleResult) -> None:
        for infohash in sorted(set(self.session.handles) - plan.infohashes):
            self.session.drop(infohash)
            result.deleted[infohash] = "outranked"
        rows = {r["infohash"]: r for r in plan.rows.to_pylist()}
        for infohash in plan.whole + ([plan.partial[0]] if plan.partial else []):
            pieces = None
            if plan.partial and infohash == plan.partial[0]:
                pieces = self.session.choose_pieces(infohash, plan.partial[1], rows[infohash]["pieces"])
            if infohash in self.session.handles:
                if pieces is not None or self.session.wanted.get(infohash) != rows[infohash]["pieces"]:
                    self.session.want(infohash, pieces)
                continue
            try:
                torrent = self.portal.torrent(self.registration["torrent_url"], infohash)
            except Gone:
                log.info("%s is no longer public; skipped", infohash)
                continue
            self.session.add(infohash, torrent, pieces=pieces)
            result.added.append(infohash)

    def report(self, result: CycleResult | None = None) -> dict:
        holdings = self.session.holdings()
        body = [
            {
                "infohash": h.infohash,
                "pieces_held": h.pieces_held,
                "pieces_total": h.pieces_total,
                "bytes_held": h.bytes_held,
            }
            for h in holdings.values()
        ]
        answer = self.portal.report(
            self.registration["report_url"],
            body,
            uploaded=sum(h.uploaded for h in holdings.values()),
            downloaded=sum(h.downloaded for h in holdings.values()),
        )
        for infohash in answer.get("drop", []):
            if infohash in self.session.handles:
                self.session.drop(infohash)
                if result is not None:
                    result.deleted[infohash] = "dropped by the portal"
        return answer

    def run(self, stop=None) -> None:
        """Cycle every ``poll_seconds`` until ``stop`` (a threading.Event) is set; saves resume data
        every cycle and at the end."""
        import threading

        stop = stop or threading.Event()
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    result = self.cycle()
                    log.info(
                        "cycle: %d held, %d added, %d deleted, %s bytes read",
                        len(self.session.handles),
                        len(result.added),
                        len(result.deleted),
                        f"{result.bytes_fetched:,}",
                    )
                except requests.RequestException as exc:
                    log.warning("cycle failed: %s", exc)
                except PortalError as exc:
                    if exc.status in (401, 403):  # token revoked or role lost: nothing to retry
                        raise
                    log.warning("cycle failed: %s", exc)
                self.session.save_resume()
                while not stop.is_set() and time.monotonic() - started < self.poll_seconds:
                    self.session.pump(1.0)
        finally:
            self.close()

    def close(self) -> None:
        self.session.close()
