"""A deposit client for a Zenodo-compatible REST API (https://developers.zenodo.org/#deposit), and the
claimed, resumable job that pushes a published version and records the result as a mirror.

Steps, each saved on the ``Deposit`` row so a retry resumes after the last one that succeeded:

1. ``POST {api}/deposit/depositions`` → the deposition id and its bucket URL;
2. ``PUT {bucket}/{key}`` per file (streamed from storage; the returned ``md5:`` checksum is compared);
3. ``PUT {api}/deposit/depositions/{id}`` with the metadata (title, description, creators, version,
   licence, the version DOI as ``isIdenticalTo``);
4. ``POST {api}/deposit/depositions/{id}/actions/publish`` → the record id and its DOI;
5. ``GET {api}/records/{record id}`` → each file's public URL; a ``Mirror`` (kind zenodo) is registered
   with them, and verified like any other.

Zenodo's buckets are flat: a path in the tree with folders (``parquet/x.parquet``) is uploaded as
``parquet__x.parquet``; the mirror's ``file_urls`` map paths to the record's URLs, so nothing is lost.
A temporary failure (network, 5xx, 429) is retried with backoff (one minute doubling, at most an hour)
by ``retry_due_deposits``; after ``DEPOSIT_MAX_ATTEMPTS`` the deposit is failed and data managers see it.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from urllib.parse import quote

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.publishing.files import version_files
from apps.storage.services import open_blob
from portal.tasks import claim

from . import http
from .models import Deposit, Mirror

LEASE = datetime.timedelta(minutes=30)


class DepositError(Exception):
    def __init__(self, message: str, *, temporary: bool = False):
        super().__init__(message)
        self.temporary = temporary


class ZenodoClient:
    """The calls of Zenodo's deposit API that a deposit needs (bearer-token auth, JSON bodies)."""

    def __init__(self, api_url: str, token: str):
        self.api = api_url.rstrip("/")
        self.token = token

    def _call(self, method: str, url: str, *, json_body=None, body=None, headers=None, ok=(200, 201, 202)):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = http.request(method, url, headers=headers, body=body, follow=False)
        except http.HttpError as exc:
            raise DepositError(str(exc), temporary=exc.temporary) from exc
        try:
            raw = response.read()
        finally:
            response.close()
        if response.status not in ok:
            temporary = response.status >= 500 or response.status == 429
            raise DepositError(
                f"{method} {url} answered HTTP {response.status}: {raw[:300]!r}", temporary=temporary
            )
        return json.loads(raw or b"{}")

    def create(self) -> dict:
        return self._call("POST", f"{self.api}/deposit/depositions", json_body={})

    def upload(self, bucket_url: str, key: str, stream, size: int) -> dict:
        return self._call(
            "PUT",
            f"{bucket_url.rstrip('/')}/{quote(key)}",
            body=stream,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )

    def set_metadata(self, deposition_id: str, metadata: dict) -> dict:
        return self._call(
            "PUT", f"{self.api}/deposit/depositions/{deposition_id}", json_body={"metadata": metadata}
        )

    def publish(self, deposition_id: str) -> dict:
        return self._call("POST", f"{self.api}/deposit/depositions/{deposition_id}/actions/publish")

    def record(self, record_id: str) -> dict:
        return self._call("GET", f"{self.api}/records/{record_id}")


def bucket_key(path: str) -> str:
    return path.replace("/", "__")


def _orcid(value) -> str:
    """A creator's ORCID iD as Zenodo takes it (``0000-0002-1825-0097``), only when its ISO 7064 11-2
    check digit is right: Zenodo refuses a whole deposit for one malformed iD."""
    from apps.search.creators import normalise_orcid

    orcid = normalise_orcid(value)
    if not orcid:
        return ""
    total = 0
    for digit in orcid.replace("-", "")[:-1]:
        total = (total + int(digit)) * 2
    check = (12 - total % 11) % 11
    return orcid if orcid[-1] == ("X" if check == 10 else str(check)) else ""


def _creator(c: dict) -> dict:
    from apps.publishing.crosswalks import metadata as crosswalk

    out = {"name": crosswalk.display_name(c)}
    if c.get("affiliation"):
        out["affiliation"] = str(c["affiliation"])
    if orcid := _orcid(c.get("orcid")):
        out["orcid"] = orcid
    return out


def zenodo_metadata(revision) -> dict:
    """The deposition's metadata (Zenodo's legacy deposit API fields). The description is HTML there: the
    abstract is escaped, a paragraph per blank-line-separated block, so nothing a submitter typed is markup."""
    from apps.publishing.crosswalks import metadata as crosswalk

    creators = [_creator(c) for c in crosswalk.creators_of(revision)] or [{"name": settings.SITE_NAME}]
    text = revision.abstract or revision.title or revision.package_id_text
    paragraphs = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]
    result = {
        "upload_type": "dataset",
        "title": revision.title or revision.package_id_text,
        "description": "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs),
        "creators": creators,
        "version": str(revision.number),
        "keywords": [str(k) for k in revision.keywords or []],
        "related_identifiers": [{"identifier": revision.doi, "relation": "isIdenticalTo", "scheme": "doi"}]
        if revision.doi
        else [],
        "notes": f"Mirror of {crosswalk.absolute(crosswalk.version_path(revision))}",
    }
    if revision.licence and "://" not in revision.licence:
        result["license"] = revision.licence.lower()
    published = getattr(revision, "published_at", None)
    if published:
        result["publication_date"] = published.date().isoformat()
    return result


def due_deposits(now=None) -> QuerySet:
    now = now or timezone.now()
    return Deposit.objects.filter(state=Deposit.State.PENDING).filter(
        Q(next_try_at__isnull=True) | Q(next_try_at__lte=now)
    )


def _backoff(attempts: int) -> datetime.timedelta:
    return datetime.timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def run(deposit_id: int) -> str:
    """Carry one deposit as far as it goes; failures are recorded and rescheduled (never raised)."""
    lease = claim(Deposit.objects.filter(state=Deposit.State.PENDING), deposit_id, duration=LEASE)
    if lease is None:
        return "busy or done"
    deposit = Deposit.objects.select_related("revision__package").get(pk=deposit_id)
    revision = deposit.revision
    client = ZenodoClient(deposit.api_url, settings.ZENODO_TOKEN)
    try:
        with lease.heartbeat(60):
            if revision.state != "published":
                raise DepositError(
                    f"{revision.package_id_text} is {revision.state}; only published versions are deposited."
                )
            if not deposit.deposition_id:
                created = client.create()
                deposit.deposition_id = str(created["id"])
                deposit.bucket_url = created["links"]["bucket"]
                Deposit.objects.filter(pk=deposit.pk).update(
                    deposition_id=deposit.deposition_id, bucket_url=deposit.bucket_url
                )
            files = version_files(revision)
            for f in files:
                if f.path in deposit.uploaded:
                    continue
                key = bucket_key(f.path)
                with open_blob(f.blob) as stream:
                    answer = client.upload(deposit.bucket_url, key, stream, f.size)
                checksum = str(answer.get("checksum", ""))
                if checksum and checksum != f"md5:{f.md5}":
                    raise DepositError(
                        f"{f.path}: the repository stored {checksum}, expected md5:{f.md5}", temporary=True
                    )
                deposit.uploaded[f.path] = key
                Deposit.objects.filter(pk=deposit.pk).update(uploaded=deposit.uploaded)
            if not deposit.metadata_sent:
                client.set_metadata(deposit.deposition_id, zenodo_metadata(revision))
                deposit.metadata_sent = True
                Deposit.objects.filter(pk=deposit.pk).update(metadata_sent=True)
            if not deposit.record_id:
                published = client.publish(deposit.deposition_id)
                deposit.record_id = str(published.get("record_id") or published["id"])
                deposit.doi = published.get("doi", "")
                Deposit.objects.filter(pk=deposit.pk).update(record_id=deposit.record_id, doi=deposit.doi)
            record = client.record(deposit.record_id)
    except DepositError as exc:
        attempts = deposit.attempts + 1
        give_up = not exc.temporary or attempts >= settings.DEPOSIT_MAX_ATTEMPTS
        lease.release(
            attempts=attempts,
            last_error=str(exc),
            next_try_at=timezone.now() + _backoff(attempts),
            state=Deposit.State.FAILED if give_up else Deposit.State.PENDING,
        )
        record_event(
            service="catalog",
            method="deposit",
            resource_id=revision.package_id_text,
            category=AuditEvent.Category.WARN,
            text=f"deposit attempt {attempts} failed{' (gave up)' if give_up else ''}: {exc}",
            auth_system="worker",
        )
        return f"failed: {exc}"
    by_key = {f.get("key"): f for f in record.get("files", [])}
    file_urls = {}
    for path, key in deposit.uploaded.items():
        entry = by_key.get(key) or {}
        url = (entry.get("links") or {}).get("self") or (
            f"{deposit.api_url.rstrip('/')}/records/{deposit.record_id}/files/{quote(key)}/content"
        )
        file_urls[path] = url
    record_url = (record.get("links") or {}).get("html") or (
        f"https://doi.org/{deposit.doi}" if deposit.doi else ""
    )
    from .services import register_mirror

    mirror = register_mirror(
        revision,
        kind=Mirror.Kind.ZENODO,
        file_urls=file_urls,
        record_url=record_url,
        doi=deposit.doi,
        label=f"record {deposit.record_id}",
    )
    lease.release(state=Deposit.State.DONE, mirror=mirror, attempts=deposit.attempts + 1, last_error="")
    return f"done: {deposit.doi or deposit.record_id}"
