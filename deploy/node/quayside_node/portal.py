"""The portal's node API (docs/node.md; the contract is in the portal's docs/nodes.md):
``POST /api/nodes/register``, ``POST /api/nodes/report``, ``GET <torrent_url>``, each with
``Authorization: Bearer qn_…``."""

from __future__ import annotations

import requests

from . import __version__


class PortalError(RuntimeError):
    """The portal refused a request; ``status`` is the HTTP status (401: token unknown or revoked)."""

    def __init__(self, status: int, detail: str):
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class Gone(PortalError):
    """404/410 for a torrent: the version is not (or no longer) public."""


class PortalClient:
    def __init__(
        self, portal: str, token: str, *, timeout: float = 60, session: requests.Session | None = None
    ):
        self.portal = portal.rstrip("/")
        self.http = session or requests.Session()
        self.http.headers["User-Agent"] = f"quayside-node/{__version__}"
        self.auth = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout

    def _check(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text[:300])
            except ValueError:
                detail = response.text[:300]
            kind = Gone if response.status_code in (404, 410) else PortalError
            raise kind(response.status_code, str(detail))
        return response

    def register(self, body: dict) -> dict:
        """Registers (or re-registers) the node; returns the catalog, health, report and torrent URLs."""
        response = self.http.post(
            f"{self.portal}/api/nodes/register", json=body, headers=self.auth, timeout=self.timeout
        )
        return self._check(response).json()

    def report(self, url: str, holdings: list[dict], *, uploaded: int, downloaded: int) -> dict:
        """Replaces the node's holdings at the portal; returns ``{"accepted": n, "drop": [infohash…]}``."""
        body = {"holdings": holdings, "uploaded": uploaded, "downloaded": downloaded}
        response = self.http.post(url, json=body, headers=self.auth, timeout=self.timeout)
        return self._check(response).json()

    def torrent(self, template: str, infohash: str) -> bytes:
        response = self.http.get(template.format(infohash=infohash), headers=self.auth, timeout=self.timeout)
        return self._check(response).content
