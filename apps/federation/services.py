"""Federation verbs: register/edit/pause harvest sources, harvest one (incrementally), mirror a remote
dataset here, and honour remote deletions (the record is marked deleted, its local mirror removed).

Contracts:
- ``harvest(source_pk)`` claims the source with a lease (``portal.tasks.claim``) — two workers never
  harvest one source at once — and returns the ``HarvestRun`` (None when someone else holds it). Each
  page is stored in its own transaction (records upserted in bulk, search index with them), so a killed
  harvest keeps its pages and the next one starts ``from`` the last *complete* harvest's responseDate.
- ``mirror(record_pk)`` downloads the files the record's home names (docs/federation.md: the EML
  feed's distribution URLs, else the schema.org JSON-LD ``distribution`` of the home landing page),
  checks size, MD5 and SHA-256 where given, and stores them as blobs.
- A deleted record's mirror is removed with it; its blobs go only when nothing else references them
  (``apps.storage.services.discard_if_unreferenced``).
"""

from __future__ import annotations

import datetime
import json
import logging
import operator
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.search import services as search
from portal import sqlrows
from portal.errors import Conflict, UserError
from portal.tasks import claim, dispatch

from . import harvester
from .models import HarvestRun, HarvestSource, LocalMirror, MirrorFile, RemoteRecord

log = logging.getLogger(__name__)
SERVICE = "federation"
MAX_ERRORS_KEPT = 20


# --- sources --------------------------------------------------------------------------------------


def check_base_url(url: str) -> str:
    """``url`` if Quayside may harvest it: http(s), and its host resolves to public addresses (or a host
    in FETCH_ALLOWED_HOSTS, or loopback with HARVEST_ALLOW_LOOPBACK) — the fetcher's SSRF rule."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UserError(f"{url[:200]} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{url[:200] or 'The base URL'} is not an http(s) URL.")
    if len(url) > 500:
        raise UserError("The base URL is longer than 500 characters.")
    if parts.query or parts.fragment:
        raise UserError("An OAI-PMH base URL has no query string or fragment (the verbs are added to it).")
    if url.startswith(settings.SITE_BASE_URL + "/"):
        return url  # the portal's own feed (the demo's source): the operator's address, not a user's
    harvester.connect_address(parts.hostname, port)
    return url


def register_source(
    *,
    base_url: str,
    metadata_prefix: str = "oai_dc",
    set_spec: str = "",
    name: str = "",
    interval_minutes: int = 60,
    user=None,
    request=None,
) -> HarvestSource:
    base_url = check_base_url(base_url)
    if metadata_prefix not in HarvestSource.Prefix.values:
        raise UserError(f"metadataPrefix must be one of {', '.join(HarvestSource.Prefix.values)}.")
    with transaction.atomic(durable=True):
        if HarvestSource.objects.filter(
            base_url=base_url, metadata_prefix=metadata_prefix, set_spec=set_spec
        ).exists():
            raise Conflict(
                f"{base_url} ({metadata_prefix}{', set ' + set_spec if set_spec else ''}) is registered already."
            )
        source = HarvestSource.objects.create(
            base_url=base_url,
            metadata_prefix=metadata_prefix,
            set_spec=set_spec[:200],
            name=name[:200],
            interval_minutes=max(1, interval_minutes),
            created_by=user if getattr(user, "pk", None) else None,
            next_harvest_at=timezone.now(),
        )
        record_event(
            service=SERVICE,
            method="registerSource",
            text=f"{base_url} {metadata_prefix} {set_spec}".strip(),
            resource_id=f"harvest-source:{source.pk}",
            user=user,
            request=request,
        )
        from . import tasks

        dispatch(tasks.harvest_source, source.pk)
    return source


def update_source(source: HarvestSource, *, user=None, request=None, **fields) -> HarvestSource:
    """Edit name, schedule, set or state (active/paused). Changing the set or prefix starts over (the
    next harvest is a full one)."""
    if "base_url" in fields:
        fields["base_url"] = check_base_url(fields["base_url"])
    if fields.get("state") and fields["state"] not in HarvestSource.State.values:
        raise UserError("state must be active or paused.")
    if fields.get("metadata_prefix") and fields["metadata_prefix"] not in HarvestSource.Prefix.values:
        raise UserError(f"metadataPrefix must be one of {', '.join(HarvestSource.Prefix.values)}.")
    with transaction.atomic(durable=True):
        locked = HarvestSource.objects.select_for_update().get(pk=source.pk)
        changed = [k for k, v in fields.items() if v is not None and getattr(locked, k) != v]
        for key in changed:
            setattr(locked, key, fields[key])
        if {"set_spec", "metadata_prefix", "base_url"} & set(changed):
            locked.last_response_date = ""
        if changed:
            locked.save(
                update_fields=changed
                + (["last_response_date"] if "last_response_date" not in changed else [])
            )
            record_event(
                service=SERVICE,
                method="updateSource",
                text=", ".join(f"{k}={fields[k]}" for k in changed),
                resource_id=f"harvest-source:{locked.pk}",
                user=user,
                request=request,
            )
    return locked


def request_harvest(source: HarvestSource, *, user=None, request=None) -> None:
    """ "Harvest now": queue the source's harvest (the lease keeps it single)."""
    from . import tasks

    with transaction.atomic(durable=True):
        record_event(
            service=SERVICE,
            method="requestHarvest",
            resource_id=f"harvest-source:{source.pk}",
            user=user,
            request=request,
        )
        dispatch(tasks.harvest_source, source.pk)


def due_sources():
    """Active sources whose next harvest is due (the beat job queues them)."""
    from django.db.models import Q

    now = timezone.now()
    return HarvestSource.objects.filter(state=HarvestSource.State.ACTIVE).filter(
        Q(next_harvest_at__isnull=True) | Q(next_harvest_at__lte=now)
    )


# --- harvesting -----------------------------------------------------------------------------------


def harvest(
    source_pk: int, *, owner: str | None = None, full: bool = False, transport=None
) -> HarvestRun | None:
    """Harvest one source (see the module's contract). ``full`` ignores the last responseDate;
    ``transport`` replaces the network (``harvester.client``)."""
    lease = claim(
        HarvestSource.objects.all(),
        source_pk,
        duration=datetime.timedelta(seconds=settings.HARVEST_LEASE_SECONDS),
        owner=owner,
    )
    if lease is None:
        return None
    source = HarvestSource.objects.get(pk=source_pk)
    run = HarvestRun.objects.create(source=source)
    errors: list[str] = []
    try:
        with lease.heartbeat(max(5, settings.HARVEST_LEASE_SECONDS // 3)):
            _harvest(source, run, errors, full=full, transport=transport)
    except (harvester.HarvestError, UserError, httpx2.HTTPError) as exc:
        _finish(
            source,
            run,
            errors,
            failed=f"{exc}" if not isinstance(exc, httpx2.HTTPError) else f"{type(exc).__name__}: {exc}",
        )
        lease.release()
        return run
    except Exception as exc:  # an unexpected fault: recorded on the run, then raised for the log
        _finish(source, run, errors, failed=f"{type(exc).__name__}: {exc}")
        lease.release()
        raise
    _finish(source, run, errors)
    lease.release()
    return run


def _harvest(
    source: HarvestSource, run: HarvestRun, errors: list[str], *, full: bool, transport=None
) -> None:
    with harvester.client(source.base_url, transport) as scythe:
        check_base_url(source.base_url)
        identity = harvester.identify(scythe)
        if (identity.repository_name, identity.granularity) != (source.repository_name, source.granularity):
            source.repository_name, source.granularity = identity.repository_name, identity.granularity
            HarvestSource.objects.filter(pk=source.pk).update(
                repository_name=identity.repository_name, granularity=identity.granularity
            )
        run.from_date = (
            "" if full else harvester.from_argument(source.last_response_date, identity.granularity)
        )
        pages = harvester.pages(scythe, source.metadata_prefix, source.set_spec, run.from_date)
        # Download and read the next pages in a thread while this one is stored (lxml and the database
        # both release the GIL): the harvest costs about max(fetch + read, store), not their sum.
        for page, read in harvester.prefetched(_read(pages, source.metadata_prefix)):
            if not run.response_date:
                run.response_date = page.response_date
                run.complete_list_size = page.complete_list_size
            store_page(source, run, page.records, errors, read=read)
            run.pages += 1
            HarvestRun.objects.filter(pk=run.pk).update(
                pages=run.pages,
                records=run.records,
                deleted=run.deleted,
                rejected=run.rejected,
                response_date=run.response_date,
                complete_list_size=run.complete_list_size,
                from_date=run.from_date,
            )
        if not run.response_date:
            # noRecordsMatch: nothing changed. The next harvest still starts from now, by our clock in
            # the provider's form (the error response's date is not kept by the client).
            run.response_date = timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _read(pages, prefix: str):
    for page in pages:
        read = []
        for element in page.records:
            try:
                read.append(harvester.read_record(element, prefix))
            except harvester.RefusedRecord as exc:
                read.append(exc)
        yield page, read


def store_page(source: HarvestSource, run: HarvestRun, elements, errors: list[str], *, read=None) -> None:
    """Store one page: live records upserted in bulk with their search documents, deleted ones marked
    and unindexed, their mirrors removed; refused records counted. One transaction. ``read`` holds the
    page's records already read (``harvester.read_record`` results or RefusedRecord), else ``elements``
    are read here."""
    live: dict[str, harvester.Harvested] = {}
    gone: dict[str, harvester.Harvested] = {}
    if read is None:
        read = list(_read([harvester.Page("", None, list(elements))], source.metadata_prefix))[0][1]
    for record in read:
        if isinstance(record, harvester.RefusedRecord):
            run.rejected += 1
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append(str(record))
            continue
        (gone if record.deleted else live)[record.identifier] = record
        (live if record.deleted else gone).pop(record.identifier, None)
    now = timezone.now()
    with transaction.atomic():
        if live:
            ids = _upsert_records(source, list(live.values()), now)
            search.index_remote(
                [
                    search.RemoteEntry(
                        record_id=ids[r.identifier],
                        home=source.home_name,
                        home_url=r.home_url,
                        title=r.title,
                        creators=r.creators[:20],
                        text="\n".join(
                            [r.title, r.description, " ".join(r.creators), " ".join(r.subjects), r.identifier]
                        ),
                        published=(r.dates[0] if r.dates else "")[:40],
                        torrent_url=r.torrent_url,
                        magnet=r.magnet,
                        mirrors=r.home_mirrors,
                    )
                    for r in live.values()
                ]
            )
            run.records += len(live)
        if gone:
            _apply_deletions(source, gone, now)
            run.deleted += len(gone)


UPSERTED = (
    "datestamp",
    "deleted",
    "title",
    "creators",
    "dates",
    "description",
    "subjects",
    "identifiers",
    "doi",
    "home_url",
    "rights",
    "files",
    "torrent_url",
    "magnet",
    "home_mirrors",
    "metadata",
    "harvested_at",
)
JSON_FIELDS = {"creators", "dates", "subjects", "identifiers", "files", "home_mirrors"}


def _upsert_records(source: HarvestSource, records: list, now) -> dict[str, int]:
    """Insert or update one page's live records; {identifier: pk}. On PostgreSQL one INSERT … ON CONFLICT
    … RETURNING built here: Django's bulk_create spends more CPU adapting 500 rows × 15 columns (arrays
    for UNNEST) than the database spends storing them, and the harvest must keep up with the provider."""
    if connection.vendor != "postgresql":
        stored = RemoteRecord.objects.bulk_create(
            [
                RemoteRecord(
                    source=source,
                    identifier=r.identifier,
                    **{f: getattr(r, f) for f in UPSERTED if hasattr(r, f)},
                    harvested_at=now,
                )
                for r in records
            ],
            update_conflicts=True,
            unique_fields=["source", "identifier"],
            update_fields=list(UPSERTED),
        )
        ids = {r.identifier: r.pk for r in stored if r.pk}
        if len(ids) < len(records):
            ids = dict(
                RemoteRecord.objects.filter(
                    source=source, identifier__in=[r.identifier for r in records]
                ).values_list("identifier", "pk")
            )
        return ids
    # One statement per page: the rows go as one array per column (UNNEST) in binary (``%b``), neither a
    # statement per row nor a VALUES list of 7,000 placeholders that psycopg must parse on every page.
    # Through ``sqlrows.cursor()``: server-side binding (Django's own cursors bind on the client, which
    # quotes every array element with a regular expression: most of the harvester's CPU) and the one
    # statement text prepared once per connection.
    # The list fields travel as one JSON array a row (one json.dumps and one array element instead of
    # one a field), cast to jsonb once per row by the text[]::jsonb[] array cast.
    texts = [f for f in UPSERTED if f not in JSON_FIELDS and f not in ("deleted", "harvested_at")]
    lists = [f for f in UPSERTED if f in JSON_FIELDS]
    columns = [[getattr(r, f) for r in records] for f in texts]
    of_lists = operator.attrgetter(*lists)
    columns.append([json.dumps(of_lists(r)) for r in records])
    table = RemoteRecord._meta.db_table
    sql = (
        f"INSERT INTO {table} (source_id, identifier, deleted, harvested_at, {', '.join(texts + lists)}) "
        f"SELECT %s, u.identifier, false, %s, {', '.join(f'u.{f}' for f in texts)}, "
        f"{', '.join(f'u.lists -> {n}' for n in range(len(lists)))} "
        f"FROM unnest(%b::text[], {', '.join(['%b::text[]'] * len(texts))}, %b::text[]::jsonb[]) "
        f"AS u(identifier, {', '.join(texts)}, lists) "
        "ON CONFLICT (source_id, identifier) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in UPSERTED)
        + " RETURNING identifier, id"
    )
    with sqlrows.cursor() as cursor:
        cursor.execute(sql, [source.pk, now, [r.identifier for r in records], *columns])
        return dict(cursor.fetchall())


def _apply_deletions(source: HarvestSource, gone: dict[str, harvester.Harvested], now) -> None:
    existing = RemoteRecord.objects.filter(source=source, identifier__in=list(gone))
    known = dict(existing.values_list("identifier", "pk"))
    if known:  # (a first harvest knows none: no UPDATE that matches nothing, on every page)
        existing.update(
            deleted=True, metadata="", files=[], torrent_url="", magnet="", home_mirrors=[], harvested_at=now
        )
    new = [i for i in gone if i not in known]
    if new:
        RemoteRecord.objects.bulk_create(
            [
                RemoteRecord(
                    source=source, identifier=i, datestamp=gone[i].datestamp, deleted=True, harvested_at=now
                )
                for i in new
            ],
            ignore_conflicts=True,
        )
    if not known:  # a first harvest: nothing to re-date, unindex or unmirror
        return
    # The known ones take their new datestamps: one UPDATE per distinct datestamp (usually one a page).
    for stamp in {gone[i].datestamp for i in known}:
        RemoteRecord.objects.filter(pk__in=[known[i] for i in known if gone[i].datestamp == stamp]).update(
            datestamp=stamp
        )
    search.unindex_remote(known.values())
    for mirror in LocalMirror.objects.filter(record_id__in=list(known.values())).select_related("record"):
        remove_mirror(mirror, reason="deleted at its home")


def _finish(source: HarvestSource, run: HarvestRun, errors: list[str], *, failed: str = "") -> None:
    now = timezone.now()
    run.finished_at = now
    run.errors = "\n".join(errors)
    run.state = HarvestRun.State.FAILED if failed else HarvestRun.State.DONE
    run.message = (
        failed
        or f"{run.records} records, {run.deleted} deleted, {run.rejected} refused in {run.pages} pages."
    )
    run.save()
    updates = {
        "last_harvest_at": now,
        "next_harvest_at": now + datetime.timedelta(minutes=source.interval_minutes),
        "last_error": failed or ("\n".join(errors[:5]) if errors else ""),
        "record_count": RemoteRecord.objects.filter(source=source, deleted=False).count(),
        "deleted_count": RemoteRecord.objects.filter(source=source, deleted=True).count(),
        "error_count": source.error_count + run.rejected + (1 if failed else 0),
    }
    if not failed and run.response_date:
        updates["last_response_date"] = run.response_date
    HarvestSource.objects.filter(pk=source.pk).update(**updates)
    record_event(
        service=SERVICE,
        method="harvest",
        text=run.message[:1000],
        resource_id=f"harvest-source:{source.pk}",
        category="error" if failed else "info",
    )


# --- local mirrors --------------------------------------------------------------------------------


def request_mirror(record: RemoteRecord, *, user=None, request=None) -> LocalMirror:
    if record.deleted:
        raise Conflict("This record is deleted at its home; there is nothing to mirror.")
    from . import tasks

    with transaction.atomic(durable=True):
        mirror, created = LocalMirror.objects.get_or_create(
            record=record, defaults={"requested_by": user if getattr(user, "pk", None) else None}
        )
        if not created and mirror.state == LocalMirror.State.DONE:
            raise Conflict("This record is mirrored here already.")
        if not created:
            LocalMirror.objects.filter(pk=mirror.pk).update(state=LocalMirror.State.PENDING, error="")
        record_event(
            service=SERVICE,
            method="requestMirror",
            text=record.identifier[:500],
            resource_id=f"remote-record:{record.pk}",
            user=user,
            request=request,
        )
        dispatch(tasks.mirror_record, mirror.pk)
    return mirror


@dataclass
class Home:
    """What the record's home offers to mirror: its files and, when it names one, its torrent."""

    files: list[dict]
    torrent_url: str = ""


def home_of(record: RemoteRecord) -> Home:
    """The files to mirror: the feed's (EML distribution URLs) or, failing that, the ``distribution`` of
    the schema.org Dataset JSON-LD embedded in the home landing page (name, contentUrl, contentSize,
    sha256 — what Quayside's landing pages and Google Dataset Search's providers publish); and the
    torrent the landing page names as ``<link rel="alternate" type="application/x-bittorrent">``."""
    if not record.home_url:
        if record.files:
            return Home(record.files)
        raise UserError("The record names no landing page and no files; there is nothing to mirror.")
    from apps.submissions.fetch import FetchError, fetch

    with tempfile.TemporaryDirectory(dir=_scratch()) as folder:
        try:
            page = fetch(
                record.home_url,
                Path(folder) / "landing.html",
                max_bytes=settings.HARVEST_MAX_RECORD_BYTES * 16,
            )
        except FetchError as exc:
            if record.files:  # the feed's list is enough without the page
                return Home(record.files)
            raise UserError(f"The landing page {record.home_url} could not be read: {exc}") from exc
        html = page.path.read_bytes()
    try:
        tree = _landing_tree(html)
    except UserError:
        if record.files:
            return Home(record.files)
        raise
    torrent = _torrent_link(tree, page.url)
    if record.files:
        return Home(record.files, torrent)
    return Home(distribution_from_html(tree, page.url), torrent)


def _landing_tree(html: bytes):
    from lxml import html as lxml_html

    try:
        return lxml_html.fromstring(html, parser=lxml_html.HTMLParser(no_network=True, huge_tree=False))
    except Exception as exc:  # lxml raises several kinds for garbage
        raise UserError(f"The landing page is not HTML: {exc}") from exc


def _torrent_link(tree, base: str) -> str:
    from urllib.parse import urljoin

    from apps.swarm.torrents import MEDIA_TYPE

    for href in tree.xpath('//link[@rel="alternate"][@type=$t]/@href', t=MEDIA_TYPE):
        url = harvester.web_url(urljoin(base, str(href)))
        if url:
            return url
    return ""


def distribution_from_html(html, base: str) -> list[dict]:
    """The schema.org ``distribution`` of the page (bytes, or a parsed lxml tree)."""
    from urllib.parse import urljoin

    tree = _landing_tree(html) if isinstance(html, bytes) else html
    files = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in (data.get("distribution") or []) if isinstance(data, dict) else []:
            if not isinstance(item, dict):
                continue
            url = harvester.web_url(urljoin(base, str(item.get("contentUrl") or "")))
            if not url:
                continue
            entry = {"name": harvester.cap(str(item.get("name") or url.rsplit("/", 1)[-1]), 300), "url": url}
            size = str(item.get("contentSize") or "").split(" ")[0]
            if size.isdigit() and len(size) < 19:
                entry["size"] = int(size)
            sha = str(item.get("sha256") or "").lower()
            if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
                entry["sha256"] = sha
            files.append(entry)
    if not files:
        raise UserError("The landing page lists no downloadable files (no schema.org distribution).")
    return files[: harvester.MAX_LIST_ITEMS]


def _scratch() -> str:
    folder = Path(settings.SCRATCH_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def mirror(mirror_pk: int, *, owner: str | None = None) -> LocalMirror | None:
    """Download and verify the record's files, store them as blobs, record the mirror (claimed). By the
    home's torrent when its landing page names one (every piece checked, then seeded here too), else file by
    file over HTTP; either way each file the home describes is checked against its size, MD5 and SHA-256.
    A torrent that cannot be had (``TorrentUnavailable``) falls back to HTTP, its reason kept in ``error``
    of the finished mirror; a torrent whose files disagree with the home's list fails the mirror."""
    lease = claim(
        LocalMirror.objects.exclude(state=LocalMirror.State.DONE),
        mirror_pk,
        duration=datetime.timedelta(seconds=settings.HARVEST_LEASE_SECONDS),
        owner=owner,
    )
    if lease is None:
        return None
    item = LocalMirror.objects.select_related("record").get(pk=mirror_pk)
    record = item.record
    got = Mirrored()
    note = ""  # why the home's torrent was not used, when it was not
    try:
        with lease.heartbeat(max(5, settings.HARVEST_LEASE_SECONDS // 3)):
            if record.deleted:
                raise UserError("The record was deleted at its home.")
            home = home_of(record)
            with tempfile.TemporaryDirectory(dir=_scratch()) as folder:
                if home.torrent_url:
                    try:
                        _by_torrent(home, Path(folder), got)
                    except TorrentUnavailable as exc:
                        # The torrent could not be had (unreadable, no peer or web seed, stalled): the same
                        # files, each checked the same way, over HTTP; the reason stays on the mirror.
                        try:
                            _by_http(home, Path(folder), got)
                        except UserError as http:
                            raise UserError(f"{exc} Over HTTP: {http}") from http
                        note = f"{exc} Mirrored over HTTP instead."
                else:
                    _by_http(home, Path(folder), got)
    except UserError as exc:
        with transaction.atomic():
            LocalMirror.objects.filter(pk=item.pk).update(
                state=LocalMirror.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )
            record_event(
                service=SERVICE,
                method="mirror",
                text=str(exc)[:1000],
                category="error",
                resource_id=f"remote-record:{record.pk}",
            )
        lease.release()
        _discard(got.blobs())
        return LocalMirror.objects.get(pk=item.pk)
    with transaction.atomic():
        current = RemoteRecord.objects.select_for_update().get(pk=record.pk)
        if current.deleted:  # deleted at home while we downloaded: keep nothing
            LocalMirror.objects.filter(pk=item.pk).update(
                state=LocalMirror.State.FAILED, error="Deleted at its home."
            )
        else:
            item.files.all().delete()
            for f in got.files:
                f.mirror = item
            MirrorFile.objects.bulk_create(got.files)
            LocalMirror.objects.filter(pk=item.pk).update(
                state=LocalMirror.State.DONE,
                error=note[:2000],
                finished_at=timezone.now(),
                torrent_url=home.torrent_url if got.torrent else "",
                torrent=got.torrent,
                infohash=got.infohash,
            )
            record_event(
                service=SERVICE,
                method="mirror",
                text=(f"{len(got.files)} files" + (f", torrent {got.infohash}" if got.torrent else ""))
                + (f"; {note}" if note else ""),
                resource_id=f"remote-record:{record.pk}",
            )
    lease.release()
    if current.deleted:
        _discard(got.blobs())
    return LocalMirror.objects.get(pk=item.pk)


class TorrentUnavailable(UserError):
    """The home's torrent could not be had: the .torrent unreadable, or its download failed or stalled.
    (A torrent that downloads but disagrees with the home's file list is not this: it fails the mirror.)"""


@dataclass
class Mirrored:
    """What a mirror stored so far (so that a failure can discard it)."""

    files: list = field(default_factory=list)  # MirrorFile, unsaved
    torrent: object = None  # the .torrent's Blob
    infohash: str = ""

    def blobs(self) -> list:
        return [f.blob for f in self.files] + ([self.torrent] if self.torrent else [])


def _check(entry: dict, size: int | None, md5: str | None, sha256: str | None) -> list[str]:
    """Compare a downloaded file with what the home says of it (a None value is not compared); the names
    of the checks made."""
    checked = []
    if "size" in entry and size is not None:
        if size != entry["size"]:
            raise UserError(f"{entry['name']}: {size:,} bytes, the home says {entry['size']:,}.")
        checked.append("size")
    if entry.get("md5") and md5 is not None:
        if md5 != entry["md5"]:
            raise UserError(f"{entry['name']}: MD5 {md5}, the home says {entry['md5']}.")
        checked.append("md5")
    if entry.get("sha256") and sha256 is not None:
        if sha256 != entry["sha256"]:
            raise UserError(f"{entry['name']}: SHA-256 {sha256}, the home says {entry['sha256']}.")
        checked.append("sha256")
    return checked


def _by_http(home: Home, folder: Path, got: Mirrored) -> None:
    from apps.storage.services import store_file
    from apps.submissions.fetch import FetchError, fetch

    for n, entry in enumerate(home.files):
        try:
            fetched = fetch(entry["url"], folder / f"{n}")
        except FetchError as exc:
            raise UserError(f"{entry['name']}: {exc}") from exc
        checks = ["md5 computed", *_check(entry, fetched.size, fetched.md5, None)]  # before storing anything
        stored = MirrorFile(name=entry["name"], url=entry["url"], blob=store_file(fetched.path))
        got.files.append(stored)  # before the SHA-256 check: a failure discards its blob with the rest
        checks += _check(entry, None, None, stored.blob.sha256)
        stored.checked = ", ".join(checks)


def _by_torrent(home: Home, folder: Path, got: Mirrored) -> None:
    """The torrent's every file, pieces checked by libtorrent; then each file the home describes must be
    one of them, by name, size and SHA-256 (so the torrent is of this dataset, not any torrent)."""
    from apps.storage.services import store_bytes, store_file
    from apps.submissions.fetch import FetchError, fetch
    from apps.swarm import download

    try:
        fetched = fetch(home.torrent_url, folder / "home.torrent", max_bytes=download.MAX_TORRENT_BYTES)
    except FetchError as exc:
        raise TorrentUnavailable(f"The torrent {home.torrent_url}: {exc}") from exc
    data = fetched.path.read_bytes()
    try:
        done = download.download(data, folder / "files")
    except download.DownloadError as exc:
        raise TorrentUnavailable(f"The torrent {home.torrent_url}: {exc}") from exc
    got.torrent = store_bytes(data)
    got.infohash = done.infohash
    checks: dict[str, list[str]] = {}
    by_name: dict[str, list[tuple[str, int, object]]] = {}
    for path, size in done.files:
        blob = store_file(folder / "files" / path)
        got.files.append(MirrorFile(name=path, url=home.torrent_url, blob=blob))
        checks[path] = ["torrent pieces"]
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append((path, size, blob))
    for entry in home.files:
        candidates = by_name.get(entry["name"].rsplit("/", 1)[-1], [])
        if not candidates:
            raise UserError(f"The torrent {home.torrent_url} lacks {entry['name']}, a file the home lists.")
        errors = []
        for path, size, blob in candidates:
            try:
                checks[path] += _check(entry, size, None, blob.sha256)
                break
            except UserError as exc:
                errors.append(str(exc))
        else:
            raise UserError(errors[0])
    for f in got.files:
        f.checked = ", ".join(dict.fromkeys(checks[f.name]))[:100]


def remove_mirror(item: LocalMirror, *, reason: str, user=None, request=None) -> None:
    """Remove a local mirror and, after commit, its blobs that nothing else references."""
    blobs = [f.blob for f in item.files.select_related("blob")] + ([item.torrent] if item.torrent else [])
    record_event(
        service=SERVICE,
        method="removeMirror",
        text=reason,
        resource_id=f"remote-record:{item.record_id}",
        user=user,
        request=request,
    )
    item.delete()
    transaction.on_commit(lambda: _discard(blobs))


def _discard(blobs) -> None:
    from apps.storage.services import discard_if_unreferenced

    for blob in {b.pk: b for b in blobs}.values():
        discard_if_unreferenced(blob)


def seedables():
    """The seeder's share of federation (``apps.swarm.extensions``): every finished mirror that came by its
    home's torrent, while its record stands at home."""
    from apps.swarm.extensions import Seedable

    mirrors = (
        LocalMirror.objects.filter(state=LocalMirror.State.DONE, record__deleted=False, torrent__isnull=False)
        .exclude(infohash="")
        .select_related("torrent")
        .prefetch_related("files__blob")
    )
    for m in mirrors:
        yield Seedable(
            infohash=m.infohash,
            torrent=m.torrent,
            files=[(f.name, f.blob) for f in m.files.all()],
            label=f"mirror of remote record {m.record_id}",
        )


def mirror_magnet(item: LocalMirror | None) -> str:
    """A magnet link for a mirror that came by torrent (the home's .torrent as ``xs``), else ""."""
    if item is None or not item.infohash:
        return ""
    from apps.swarm.torrents import magnet_link

    first = item.files.all()[:1]
    name = first[0].name.split("/", 1)[0] if first else item.infohash
    return magnet_link(item.infohash, name, torrent_url=item.torrent_url)
