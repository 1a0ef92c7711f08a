"""A small client for DataCite's REST API (JSON:API): POST /dois, PUT /dois/{doi}, GET /dois/{doi}.

https://support.datacite.org/docs/api-create-dois — Basic auth with the repository id and password,
``Content-Type: application/vnd.api+json``, the metadata as base64 DataCite XML in ``attributes.xml``,
and an ``event`` (publish / register / hide) to move the DOI's state.
"""

from __future__ import annotations

import base64

import requests
from django.conf import settings

JSONAPI = "application/vnd.api+json"


class DataCiteError(Exception):
    """DataCite refused or could not be reached; ``status`` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _errors_text(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(str(e.get("title") or e.get("detail") or e) for e in errors)
    except ValueError:
        text = response.text[:300]
    return f"DataCite answered {response.status_code}: {text or response.reason}"


class DataCiteClient:
    def __init__(
        self,
        base_url: str | None = None,
        repository_id: str | None = None,
        password: str | None = None,
        timeout: float = 15.0,
    ):
        self.base_url = (base_url if base_url is not None else settings.DATACITE_API_URL).rstrip("/")
        self.auth = (
            repository_id if repository_id is not None else settings.DATACITE_REPOSITORY_ID,
            password if password is not None else settings.DATACITE_PASSWORD,
        )
        self.timeout = timeout

    def _call(self, method: str, path: str, document: dict | None = None) -> tuple[int, dict]:
        try:
            response = requests.request(
                method,
                f"{self.base_url}{path}",
                json=document,
                auth=self.auth,
                timeout=self.timeout,
                headers={"Content-Type": JSONAPI, "Accept": JSONAPI},
            )
        except requests.RequestException as exc:
            raise DataCiteError(f"DataCite could not be reached: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise DataCiteError(_errors_text(response), response.status_code)
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, {}

    def create_draft(self, doi: str) -> int:
        """POST /dois without an event: a draft DOI. A DOI already taken (by an earlier try) counts as done."""
        try:
            status, _ = self._call("POST", "/dois", {"data": {"type": "dois", "attributes": {"doi": doi}}})
        except DataCiteError as exc:
            if exc.status == 422 and "taken" in str(exc).lower():
                return 422
            raise
        return status

    def update(self, doi: str, *, xml: bytes, url: str, event: str | None) -> dict:
        attributes = {"doi": doi, "url": url, "xml": base64.b64encode(xml).decode("ascii")}
        if event:
            attributes["event"] = event
        _, body = self._call(
            "PUT", f"/dois/{doi}", {"data": {"id": doi, "type": "dois", "attributes": attributes}}
        )
        return body.get("data", {}).get("attributes", {})

    def get(self, doi: str) -> dict:
        _, body = self._call("GET", f"/dois/{doi}")
        return body.get("data", {}).get("attributes", {})
