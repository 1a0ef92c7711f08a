"""The OAI-PMH client side: oaipmh-scythe for the protocol (requests, resumption tokens, OAI errors,
whatever HTTP status they come with), our hardened parser for every response, and the crosswalks that
read a record's header and metadata (oai_dc, DataCite, EML) into plain, capped values.

Nothing here touches the database: ``services`` stores what ``pages`` yields.

Provider habits the protocol allows and this client follows (docs/federation.md):
- OAI errors may come with HTTP 4xx (Zenodo answers ``noRecordsMatch`` with 422): oaipmh-scythe raises
  the OAI error from the body before looking at the status, and ``noRecordsMatch`` is an empty harvest.
- ``completeListSize`` is only recorded, never trusted to size anything.
- Identifiers are opaque strings (``oai:…``, ``hdl:…``), datestamps are days or seconds (Identify's
  granularity decides the form of our ``from``).
- A response with a DTD (entity declarations: billion laughs, external entities) is refused whole.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from django.conf import settings
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe.exceptions import NoRecordsMatch, OAIPMHException
from oaipmh_scythe.iterator import OAIResponseIterator
from oaipmh_scythe.response import OAIResponse

from portal.xml import safe_parser

OAI = "{http://www.openarchives.org/OAI/2.0/}"
USER_AGENT = "Quayside/0.1 (OAI-PMH harvester)"
MAX_LIST_ITEMS = 200  # creators, dates, identifiers, files … kept per record


class HarvestError(Exception):
    """The harvest cannot go on (unreachable, not OAI-PMH, a refused response); ``temporary`` when a
    later try may succeed."""

    def __init__(self, message: str, temporary: bool = False):
        super().__init__(message)
        self.temporary = temporary


class RefusedRecord(Exception):
    """One record refused (too large, no identifier…): counted, and the harvest goes on."""


class HardenedResponse(OAIResponse):
    """oaipmh-scythe's response, parsed once, with the portal's hardened parser, and refused when it
    declares a DTD or is larger than HARVEST_MAX_RESPONSE_BYTES."""

    @cached_property
    def xml(self) -> etree._Element:
        content = self.http_response.content
        if len(content) > settings.HARVEST_MAX_RESPONSE_BYTES:
            raise HarvestError(
                f"A response of {len(content):,} bytes is larger than HARVEST_MAX_RESPONSE_BYTES "
                f"({settings.HARVEST_MAX_RESPONSE_BYTES:,})."
            )
        try:
            root = etree.fromstring(content, parser=safe_parser(remove_blank_text=True))
        except etree.XMLSyntaxError as exc:
            status = self.http_response.status_code
            raise HarvestError(
                f"The answer to {self.params.get('verb')} is not XML (HTTP {status}): {exc}.",
                temporary=status >= 500,
            ) from exc
        docinfo = root.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.doctype:
            raise HarvestError(
                "Refused a response that declares a DTD (entity declarations are how billion-laughs and "
                "external-entity attacks work; OAI-PMH responses never need one)."
            )
        if root.tag != f"{OAI}OAI-PMH":
            # A proxy's or a login page's XHTML, say: taken as a page without records or resumption
            # token, it would end the list early and the next harvest would start after what it missed.
            status = self.http_response.status_code
            raise HarvestError(
                f"The answer to {self.params.get('verb')} (HTTP {status}) is not an OAI-PMH response: its "
                f"root element is {root.tag[:100]!r}.",
                temporary=status >= 500,
            )
        return root


class HardenedScythe(Scythe):
    def harvest(self, query: dict[str, str]) -> OAIResponse:
        http_response = self._request_with_retry(query)
        response = HardenedResponse(http_response, params=query)
        response.raise_for_oaipmh_error()
        if http_response.status_code >= 400:
            raise HarvestError(
                f"The provider answered HTTP {http_response.status_code} without an OAI-PMH error.",
                temporary=http_response.status_code >= 500 or http_response.status_code == 429,
            )
        return response


# --- where the harvester may connect (the fetcher's SSRF rule, at connect time) ----------------------


def connect_address(host: str, port: int) -> str:
    """The address to connect to for ``host``: resolved once, and public (or a host in
    FETCH_ALLOWED_HOSTS, or loopback with HARVEST_ALLOW_LOOPBACK, or the portal's own host and port). Raises
    UserError saying why not. ``services.check_base_url`` asks it when a source is registered, and every
    connection of a harvest asks it again (``CheckedBackend``): a name that resolved to a public address
    then and to a private one now (DNS rebinding) is refused."""
    import ipaddress
    import socket

    from apps.submissions.fetch import FetchError, resolve_checked
    from portal.errors import UserError

    try:
        return resolve_checked(host, port)
    except (UnicodeError, ValueError, OSError) as exc:  # a host name no resolver takes
        raise UserError(f"The host {host} cannot be resolved: {exc}.") from exc
    except FetchError as exc:
        site = urlsplit(settings.SITE_BASE_URL)
        own = (host, port) == (site.hostname, site.port or (443 if site.scheme == "https" else 80))
        if own or settings.HARVEST_ALLOW_LOOPBACK:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            addresses = [i[4][0] for i in infos]
            if own or all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses):
                return addresses[0]
        raise UserError(str(exc).replace("fetch from", "harvest")) from exc


def _checked_transport():
    """An httpx2 transport whose every TCP connection goes to ``connect_address(host)`` — the checked
    address itself, not a name resolved again. TLS still verifies the certificate for the host name:
    httpcore passes the URL's host as the server name whatever address the socket reached.

    httpx2 has no setting for the network backend, so the pool's is replaced (``_pool`` is httpx2's
    own ``httpcore2.ConnectionPool``, pinned with the package)."""
    import httpcore2
    import httpx2

    class CheckedBackend(httpcore2.SyncBackend):
        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            address = connect_address(host, port)
            return super().connect_tcp(address, port, timeout, local_address, socket_options)

    transport = httpx2.HTTPTransport(trust_env=False)  # no proxy from the environment: we connect
    transport._pool._network_backend = CheckedBackend()
    return transport


def client(base_url: str, transport=None) -> HardenedScythe:
    """The client for one harvest: every connection to a checked address (``_checked_transport``).
    ``transport`` (an httpx2 transport) replaces the network: the demo harvests the portal's own feed
    through ``httpx2.WSGITransport`` with no server running."""
    import httpx2
    from oaipmh_scythe.config import HTTPConfig, RetryConfig

    scythe = HardenedScythe(
        base_url,
        iterator=OAIResponseIterator,
        http_config=HTTPConfig(timeout=settings.HARVEST_TIMEOUT, user_agent=USER_AGENT),
        retry_config=RetryConfig(max_retries=3, default_retry_after=5),
    )
    scythe._client = httpx2.Client(
        transport=transport or _checked_transport(),
        headers={
            "Accept": "text/xml; charset=utf-8, application/xml; charset=utf-8",
            "user-agent": USER_AGENT,
        },
        timeout=settings.HARVEST_TIMEOUT,
        trust_env=False,
    )
    return scythe


# --- identify and the harvest's pages -------------------------------------------------------------


@dataclass
class Identity:
    repository_name: str
    granularity: str  # "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ"


def identify(scythe: Scythe) -> Identity:
    try:
        root = scythe.harvest({"verb": "Identify"}).xml
    except OAIPMHException as exc:
        raise HarvestError(f"Identify failed: {type(exc).__name__}: {exc}.") from exc
    ident = root.find(f"{OAI}Identify")
    if ident is None:
        raise HarvestError("The answer to Identify has no Identify element: not an OAI-PMH 2.0 provider.")
    return Identity(
        cap(ident.findtext(f"{OAI}repositoryName") or "", 300),
        (ident.findtext(f"{OAI}granularity") or "YYYY-MM-DD").strip(),
    )


def from_argument(response_date: str, granularity: str) -> str:
    """The ``from`` for an incremental harvest: the last harvest's responseDate in the provider's
    granularity (a day-granular provider gets the day: records of that day come again, harmlessly)."""
    if not response_date:
        return ""
    if granularity.startswith("YYYY-MM-DDThh"):
        return response_date
    return response_date[:10]


@dataclass
class Page:
    response_date: str
    complete_list_size: int | None
    records: list[etree._Element]


def pages(scythe: Scythe, prefix: str, set_spec: str, from_: str) -> Iterator[Page]:
    """The harvest's pages, following resumption tokens; none when the provider says noRecordsMatch."""
    try:
        for response in scythe.list_records(
            from_=from_ or None, metadata_prefix=prefix, set_=set_spec or None
        ):
            root = response.xml
            token = root.find(f".//{OAI}resumptionToken")
            size = token.get("completeListSize") if token is not None else None
            yield Page(
                (root.findtext(f"{OAI}responseDate") or "").strip(),
                int(size) if size and size.isdigit() and len(size) < 19 else None,
                root.findall(f"{OAI}ListRecords/{OAI}record"),
            )
    except NoRecordsMatch:
        return
    except OAIPMHException as exc:
        raise HarvestError(f"The provider answered an OAI-PMH error: {type(exc).__name__}: {exc}.") from exc


def prefetched(items: Iterator, depth: int = 2) -> Iterator:
    """``items`` produced in a thread, up to ``depth`` ahead: the next page downloads and parses while
    the caller stores this one (the harvest takes max(fetch, store), not their sum). The producer's
    exceptions are raised here, in order; leaving the loop early stops the producer."""
    import queue
    import threading

    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, raised there
            put((done, exc))

    thread = threading.Thread(target=produce, name="harvest-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = box.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=30)


# --- reading one record ---------------------------------------------------------------------------


@dataclass
class Harvested:
    identifier: str
    datestamp: str
    deleted: bool
    title: str = ""
    creators: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    description: str = ""
    subjects: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)
    doi: str = ""
    home_url: str = ""
    rights: str = ""
    files: list[dict] = field(default_factory=list)
    # The home's torrent and mirrors, as the record names them (``_copies``): http(s) and magnet only.
    torrent_url: str = ""
    magnet: str = ""
    home_mirrors: list[str] = field(default_factory=list)
    metadata: str = ""


def cap(text: str, limit: int | None = None) -> str:
    text = " ".join((text or "").split()) if limit and limit <= 1000 else (text or "").strip()
    return text[: limit or settings.HARVEST_MAX_FIELD_CHARS]


def _text(element: etree._Element) -> str:
    """All the text inside ``element``. A leaf's is its ``text`` (most metadata elements are leaves):
    ``itertext`` only for mixed content, where it costs a generator a call."""
    if len(element):
        return "".join(element.itertext())
    return element.text or ""


def _texts(elements) -> list[str]:
    out = []
    for el in elements:
        value = cap(_text(el), 1000)
        if value and value not in out:
            out.append(value)
        if len(out) >= MAX_LIST_ITEMS:
            break
    return out


def _local(root: etree._Element, name: str) -> list[etree._Element]:
    """Elements named ``name`` in any namespace (DataCite has had four; EML's children have none)."""
    return list(root.iter(f"{{*}}{name}"))


def _named(root: etree._Element) -> dict[str, list[etree._Element]]:
    """``root`` and every element in it, grouped by local name, in document order: what ``_local`` finds
    for each name, in one walk of the tree instead of one walk a name (a crosswalk asks for up to nine)."""
    groups: dict[str, list[etree._Element]] = {}
    for el in root.iter(etree.Element):
        name = el.tag.rpartition("}")[2]
        if name in groups:
            groups[name].append(el)
        else:
            groups[name] = [el]
    return groups


DOI_RE = re.compile(r"(?:doi:|https?://(?:dx\.)?doi\.org/)?(10\.\d{4,9}/\S+)", re.I)


def web_url(value: str) -> str:
    """``value`` if it is an http(s) URL (only those are ever rendered as links), else ""."""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[x/": a netloc urlsplit refuses; raised here, it failed the whole harvest
        return ""
    if (
        parts.scheme in ("http", "https")
        and parts.netloc
        and len(value) <= 1000
        and not any(c in value for c in '"<> ')
    ):
        return value
    return ""


def identifier_url(value: str) -> str:
    """A web URL for an identifier: http(s) as is, ``hdl:`` through the Handle proxy, a DOI through doi.org."""
    value = value.strip()
    if value.lower().startswith("hdl:"):
        return web_url(f"https://hdl.handle.net/{value[4:].lstrip('/')}")
    doi = DOI_RE.fullmatch(value)
    if doi:
        return web_url(f"https://doi.org/{doi.group(1)}")
    return web_url(value)


def _home_and_doi(identifiers: list[str]) -> tuple[str, str]:
    doi, home = "", ""
    for value in identifiers:
        match = DOI_RE.fullmatch(value.strip())
        if match:
            doi = doi or match.group(1)[:300]
            continue
        if not home:
            url = identifier_url(value)
            if url and "doi.org/" not in url:
                home = url
    if not home and doi:
        home = identifier_url(doi)
    return home, doi


# --- the home's torrent and mirrors ----------------------------------------------------------------

MAX_MAGNET_CHARS = 4000  # a longer magnet link is refused (Quayside's carry a few web seeds: ~1,000)
MAX_WEB_SEEDS = 20
MAX_MIRRORS = 50
BTIH_RE = re.compile(r"urn:btih:([0-9a-f]{40}|[a-z2-7]{32})", re.I | re.ASCII)


@dataclass(frozen=True)
class Magnet:
    """A magnet link's parts that Quayside uses: the v1 infohash (hex), the name, http(s) web seeds (BEP 19
    ``ws``) and the http(s) ``.torrent`` (``xs``); ``uri`` is the link rebuilt from them alone."""

    infohash: str
    name: str
    web_seeds: tuple[str, ...]
    torrent_url: str
    uri: str


def read_magnet(value: str) -> Magnet | None:
    """``value`` as a BitTorrent magnet link (BEP 9), or None: not a magnet link, longer than
    MAX_MAGNET_CHARS (before or after it is rebuilt), or without a v1 infohash. Trackers and any other
    parameter are dropped, and a web seed or ``.torrent`` that is not http(s) too, so the rebuilt link names
    nothing but the infohash, the name and http(s) URLs."""
    import base64
    from urllib.parse import parse_qsl

    from apps.swarm.torrents import magnet_link

    value = (value or "").strip()
    if value[:8].lower() != "magnet:?" or len(value) > MAX_MAGNET_CHARS:
        return None
    infohash, name, seeds, torrent = "", "", [], ""
    for key, item in parse_qsl(value[8:]):
        if key == "xt" and not infohash and (match := BTIH_RE.fullmatch(item)):
            digest = match.group(1)
            infohash = digest.lower() if len(digest) == 40 else base64.b32decode(digest.upper()).hex()
        elif key == "dn" and not name:
            name = cap(item, 300)
        elif key == "ws" and len(seeds) < MAX_WEB_SEEDS and (url := web_url(item)) and url not in seeds:
            seeds.append(url)
        elif key == "xs" and not torrent:
            torrent = web_url(item)
    if not infohash:
        return None
    uri = magnet_link(infohash, name or infohash, seeds, torrent)
    if len(uri) > MAX_MAGNET_CHARS:
        return None
    return Magnet(infohash, name or infohash, tuple(seeds), torrent, uri)


def _without_magnets(elements) -> tuple[list[etree._Element], Magnet | None]:
    """(the elements that are no magnet link, the first valid magnet link among the others)."""
    kept, magnet = [], None
    for el in elements:
        text = (el.text or "").strip()
        if text[:7].lower() == "magnet:" or (el.get("alternateIdentifierType") or "").lower() == "magnet":
            magnet = magnet or read_magnet(text)
        else:
            kept.append(el)
    return kept, magnet


def _copies(record: Harvested, magnet: Magnet | None, torrent: str, mirrors: list[str]) -> None:
    """The record's torrent (named outright, else the magnet link's ``.torrent``), magnet link and mirrors
    (http(s) URLs but the home, at most MAX_MIRRORS)."""
    record.magnet = magnet.uri if magnet else ""
    record.torrent_url = torrent or (magnet.torrent_url if magnet else "")
    kept: list[str] = []
    for url in mirrors:
        if url and url != record.home_url and url not in kept:
            kept.append(url)
    record.home_mirrors = kept[:MAX_MIRRORS]


def _description(elements) -> str:
    return cap("\n\n".join(_text(el).strip() for el in elements))


def _oai_dc(meta: etree._Element, record: Harvested) -> None:
    dc = _named(meta)
    nothing: list[etree._Element] = []
    titles = _texts(dc.get("title", nothing))
    record.title = cap(titles[0]) if titles else ""
    record.creators = _texts(dc.get("creator", nothing))
    record.dates = _texts(dc.get("date", nothing))
    record.description = _description(dc.get("description", nothing))
    record.subjects = _texts(dc.get("subject", nothing))
    identifiers, magnet = _without_magnets(dc.get("identifier", nothing))
    record.identifiers = _texts(identifiers)
    record.rights = cap(" ".join(_texts(dc.get("rights", nothing))), 2000)
    record.home_url, record.doi = _home_and_doi(record.identifiers)
    # Simple DC cannot say which identifier is a mirror: every http(s) one but the home names this resource
    # at another address (a Quayside home writes its verified mirrors so: ``dc_copies`` in publishing).
    # They are shown as mirrors, not identifiers (and so leave with the mirrors when the record is deleted).
    _copies(record, magnet, "", [web_url(i) for i in record.identifiers if not DOI_RE.fullmatch(i.strip())])
    record.identifiers = [i for i in record.identifiers if i not in record.home_mirrors]


def _datacite(meta: etree._Element, record: Harvested) -> None:
    named = _named(meta)
    nothing: list[etree._Element] = []
    titles = _texts(named.get("title", nothing))
    record.title = cap(titles[0]) if titles else ""
    record.creators = _texts(named.get("creatorName", nothing))
    record.dates = _texts(named.get("date", nothing)) + _texts(named.get("publicationYear", nothing))
    record.description = _description(named.get("description", nothing))
    record.subjects = _texts(named.get("subject", nothing))
    alternates, magnet = _without_magnets(named.get("alternateIdentifier", nothing))
    ids = []
    for el in named.get("identifier", nothing) + alternates:
        value = cap(el.text or "", 1000)
        if el.get("identifierType", "").upper() == "DOI" and value:
            value = f"doi:{value}"
        if value:
            ids.append(value)
    record.identifiers = ids[:MAX_LIST_ITEMS]
    record.rights = cap(" ".join(_texts(named.get("rights", nothing))), 2000)
    record.home_url, record.doi = _home_and_doi(record.identifiers)
    torrent, mirrors = "", []
    for el in named.get("relatedIdentifier", nothing):
        relation, kind = el.get("relationType", ""), el.get("relatedIdentifierType", "").upper()
        value = (el.text or "").strip()
        if relation == "IsIdenticalTo":  # the same resource elsewhere: a mirror
            mirrors.append(identifier_url({"DOI": "doi:", "HANDLE": "hdl:"}.get(kind, "") + value))
        elif (
            relation == "HasMetadata"
            and kind == "URL"
            and (el.get("relatedMetadataScheme") or "").lower() == "bittorrent"
        ):
            torrent = torrent or web_url(value)
    _copies(record, magnet, torrent, mirrors)


def _eml(meta: etree._Element, record: Harvested) -> None:
    dataset = next(iter(_local(meta, "dataset")), meta)
    titles = _texts(
        el for el in _local(dataset, "title") if etree.QName(el.getparent()).localname == "dataset"
    )
    record.title = cap(titles[0]) if titles else ""
    creators = []
    for creator in _local(dataset, "creator"):
        name = " ".join(_texts(_local(creator, "givenName")) + _texts(_local(creator, "surName")))
        name = name or " ".join(_texts(_local(creator, "organizationName")))
        if name and name not in creators:
            creators.append(cap(name, 1000))
    record.creators = creators[:MAX_LIST_ITEMS]
    record.dates = _texts(_local(dataset, "pubDate"))
    record.description = _description(_local(dataset, "abstract"))
    record.subjects = _texts(_local(dataset, "keyword"))
    alternates, magnet = _without_magnets(_local(meta, "alternateIdentifier"))
    record.identifiers = _texts(alternates)
    package_id = meta.get("packageId")
    if package_id:
        record.identifiers.insert(0, cap(package_id, 1000))
    record.home_url, record.doi = _home_and_doi(record.identifiers)
    _copies(record, magnet, "", [])
    for physical in _local(dataset, "physical"):
        urls = [web_url(u) for u in _texts(_local(physical, "url"))]
        url = next((u for u in urls if u), "")
        if not url:
            continue
        entry = {"name": cap(physical.findtext("objectName") or url.rsplit("/", 1)[-1], 300), "url": url}
        size = (physical.findtext("size") or "").strip()
        if size.isdigit() and len(size) < 19:
            entry["size"] = int(size)
        for auth in _local(physical, "authentication"):
            if (auth.get("method") or "").upper() == "MD5" and re.fullmatch(
                r"[0-9a-fA-F]{32}", (auth.text or "").strip()
            ):
                entry["md5"] = auth.text.strip().lower()
        record.files.append(entry)
        if len(record.files) >= MAX_LIST_ITEMS:
            break


CROSSWALKS = {"oai_dc": _oai_dc, "datacite": _datacite, "eml": _eml}


def read_record(element: etree._Element, prefix: str) -> Harvested:
    """One ``<record>`` as plain, capped values; RefusedRecord when it cannot be taken."""
    header = element.find(f"{OAI}header")
    if header is None:
        raise RefusedRecord("a record without a header")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip()
    if not identifier or len(identifier) > 500:
        raise RefusedRecord(f"a record with {'no' if not identifier else 'a too long'} identifier")
    stamp = (header.findtext(f"{OAI}datestamp") or "").strip()
    if not parse_datestamp(stamp):
        raise RefusedRecord(f"{identifier[:200]}: the datestamp {stamp[:40]!r} is not a date")
    record = Harvested(identifier, stamp, header.get("status") == "deleted")
    if record.deleted:
        return record
    meta = element.find(f"{OAI}metadata")
    payload = (
        next((child for child in meta if isinstance(child.tag, str)), None) if meta is not None else None
    )
    if payload is None:
        raise RefusedRecord(f"{identifier[:200]}: a live record without metadata")
    raw = etree.tostring(payload, encoding="unicode")
    size = len(raw) if raw.isascii() else len(raw.encode())
    if size > settings.HARVEST_MAX_RECORD_BYTES:
        raise RefusedRecord(
            f"{identifier[:200]}: {size:,} bytes of metadata, more than HARVEST_MAX_RECORD_BYTES "
            f"({settings.HARVEST_MAX_RECORD_BYTES:,})"
        )
    record.metadata = raw
    CROSSWALKS[prefix](payload, record)
    if not record.title:
        record.title = identifier[:300]
    return record


DATESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\dZ)?", re.ASCII)


def parse_datestamp(value: str) -> datetime.datetime | None:
    """An OAI datestamp (a day or a UTC second) as an aware datetime; None if it is neither."""
    if DATESTAMP_RE.fullmatch(value):
        # The two forms the protocol allows, read by fromisoformat: strptime (below, for what else a
        # provider may send) costs more than the rest of reading a header.
        try:
            return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)
        except ValueError:  # a day or an hour that does not exist
            return None
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(value, pattern).replace(tzinfo=datetime.UTC)
        except ValueError:
            continue
    return None
