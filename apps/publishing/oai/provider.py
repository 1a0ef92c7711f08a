"""OAI-PMH 2.0 data provider (https://www.openarchives.org/OAI/openarchivesprotocol.html).

- Items are revisions that were ever published: ``published`` ones have metadata; ``withdrawn`` and
  ``tainted`` ones stay forever as deleted headers (deletedRecord = persistent). Held and draft
  revisions never appear. The feed is anonymous, so these states are exactly the anonymous
  ``visible_revisions`` minus ``held`` (a test checks that).
- Datestamps: ``Revision.metadata_modified_at`` in UTC, seconds granularity.
- Lists are paged with a stateless signed resumption token holding a keyset cursor
  (datestamp, id): every page is one index range scan, so page 10,000 costs what page 1 costs, and a
  token never expires. ``completeListSize`` is counted once, on the first page, and carried along.
- Each page is fetched with a constant number of queries (select_related/prefetch_related), then
  streamed record by record.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlparse
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.core import signing
from django.db.models import Min, Q, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from lxml import etree

from apps.packages.models import Revision

from .. import extensions
from ..crosswalks import metadata

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
CRUISE_NS = "https://quayside.invalid/schemas/cruise-1.0"
OAI_STATES = Revision.EVER_PUBLISHED
DELETED_STATES = Revision.TOMBSTONED
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
TOKEN_SALT = "quayside.oai.resumption"

DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECONDS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
SETSPEC_UNSAFE = re.compile(r"[^A-Za-z0-9\-_.!~*'()]")


@dataclass(frozen=True)
class Format:
    prefix: str
    schema: str
    namespace: str


def formats() -> dict[str, Format]:
    return {
        "oai_dc": Format("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", metadata.OAI_DC_NS),
        "datacite": Format(
            "datacite", "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd", metadata.DATACITE_NS
        ),
        "eml": Format(
            "eml",
            "https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd",
            "https://eml.ecoinformatics.org/eml-2.2.0",
        ),
        "cruise": Format("cruise", f"{settings.SITE_BASE_URL}/oai/schemas/cruise-1.0.xsd", CRUISE_NS),
    }


ARGUMENTS = {
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), set()),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set"}),
}
RESUMABLE = {"ListSets", "ListIdentifiers", "ListRecords"}


class OaiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def repository_id() -> str:
    return urlparse(settings.SITE_BASE_URL).hostname or "quayside"


def oai_identifier(scope: str, identifier: int, number: int) -> str:
    return f"oai:{repository_id()}:{scope}.{identifier}.{number}"


def datestamp(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_name(text: str) -> str:
    return SETSPEC_UNSAFE.sub("_", text) or "_"


def base_queryset() -> QuerySet:
    return Revision.objects.filter(state__in=OAI_STATES)


def format_filter(qs: QuerySet, prefix: str) -> QuerySet:
    """Items disseminable in ``prefix``: EML only where a document is stored, cruise only with a cruise."""
    if prefix == "eml":
        return qs.filter(eml_blob__isnull=False)
    if prefix == "cruise":
        return qs.filter(package__cruise__isnull=False)
    return qs


def ndc_condition() -> Q:
    """The ``ndc`` set: ready for hand-off to a national data centre — the dataset belongs to a cruise,
    its EML document is archived and it states a licence. Withdrawn members stay in the set as deleted."""
    return Q(package__cruise__isnull=False, eml_blob__isnull=False) & ~Q(licence="")


def set_filter(qs: QuerySet, spec: str) -> QuerySet:
    if spec == "ndc":
        return qs.filter(ndc_condition())
    kind, _, value = spec.partition(":")
    if kind == "scope" and value:
        return qs.filter(package__scope=value)
    if kind == "cruise" and value:
        return qs.filter(package__cruise__cruise_id=value)
    if kind == "vessel" and value:
        return qs.filter(package__cruise__vessel__code=value)
    return qs.none()


def sets_of(scope: str, cruise_id: str | None, vessel_code: str | None, ndc: bool) -> list[str]:
    specs = [f"scope:{set_name(scope)}"]
    if cruise_id:
        specs.append(f"cruise:{set_name(cruise_id)}")
    if vessel_code:
        specs.append(f"vessel:{set_name(vessel_code)}")
    if ndc:
        specs.append("ndc")
    return specs


def parse_identifier(identifier: str) -> Revision:
    prefix = f"oai:{repository_id()}:"
    if not identifier.startswith(prefix):
        raise OaiError(
            "idDoesNotExist",
            f"{identifier} is not an identifier of this repository (they start with {prefix}).",
        )
    scope, _, rest = identifier[len(prefix) :].rpartition(".")
    scope, _, ident = scope.rpartition(".")
    if not (scope and ident.isdigit() and rest.isdigit()):
        raise OaiError(
            "idDoesNotExist", f"{identifier} is not of the form {prefix}scope.identifier.revision."
        )
    revision = (
        metadata.with_record_relations(base_queryset())
        .filter(package__scope=scope, package__identifier=int(ident), number=int(rest))
        .first()
    )
    if revision is None:
        raise OaiError("idDoesNotExist", f"No record {identifier} in this repository.")
    return revision


def parse_date(value: str, *, upper: bool) -> tuple[datetime.datetime, str]:
    """(bound, granularity). ``until`` bounds are exclusive: the next day / second, so a record stamped
    12:00:00.7 (shown as 12:00:00Z) is inside until=12:00:00Z."""
    try:
        if DAY_RE.match(value):
            day = datetime.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=datetime.UTC)
            return (day + datetime.timedelta(days=1) if upper else day), "day"
        if SECONDS_RE.match(value):
            moment = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
            return (moment + datetime.timedelta(seconds=1) if upper else moment), "seconds"
    except OverflowError:
        # until=9999-12-31: the exclusive bound is past the last representable moment; no upper bound.
        return datetime.datetime.max.replace(tzinfo=datetime.UTC), "day" if DAY_RE.match(value) else "seconds"
    except ValueError:
        pass
    raise OaiError("badArgument", f"'{value}' is not a date of the form YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.")


# --- request handling ---------------------------------------------------------------------------


def parse_args(params) -> tuple[str, dict[str, str]]:
    verb_values = params.getlist("verb")
    if len(verb_values) != 1 or verb_values[0] not in ARGUMENTS:
        raise OaiError(
            "badVerb", "Missing, repeated or unknown verb; use one of " + ", ".join(ARGUMENTS) + "."
        )
    verb = verb_values[0]
    args: dict[str, str] = {}
    for key in params.keys():
        if key == "verb":
            continue
        values = params.getlist(key)
        if len(values) != 1:
            raise OaiError("badArgument", f"The argument {key} is repeated.")
        args[key] = values[0]
    required, optional = ARGUMENTS[verb]
    if "resumptionToken" in args:
        if verb not in RESUMABLE:
            raise OaiError("badArgument", f"{verb} takes no resumptionToken.")
        if len(args) != 1:
            raise OaiError("badArgument", "resumptionToken is an exclusive argument.")
        return verb, args
    unknown = set(args) - required - optional
    if unknown:
        raise OaiError("badArgument", f"Illegal argument(s) for {verb}: {', '.join(sorted(unknown))}.")
    missing = required - set(args)
    if missing:
        raise OaiError("badArgument", f"{verb} requires {', '.join(sorted(missing))}.")
    return verb, args


def _head(request_url: str, verb: str | None, args: dict[str, str]) -> str:
    now = timezone.now().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = ""
    if verb is not None:
        attrs = f" verb={quoteattr(verb)}" + "".join(f" {k}={quoteattr(v)}" for k, v in sorted(args.items()))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{OAI_NS} {OAI_SCHEMA}">'
        f"<responseDate>{now}</responseDate><request{attrs}>{escape(request_url)}</request>"
    )


def error_response(request_url: str, verb: str | None, args: dict, errors: list[OaiError]) -> HttpResponse:
    # The request element keeps its attributes except after badVerb/badArgument (OAI-PMH 3.6).
    keep = verb is not None and not any(e.code in ("badVerb", "badArgument") for e in errors)
    body = _head(request_url, verb if keep else None, args if keep else {})
    body += "".join(f'<error code="{e.code}">{escape(e.message)}</error>' for e in errors) + "</OAI-PMH>"
    return HttpResponse(body.encode(), content_type="text/xml; charset=utf-8")


def handle(request_url: str, params) -> HttpResponse:
    verb = None
    args: dict[str, str] = {}
    try:
        verb, args = parse_args(params)
        body = {
            "Identify": identify,
            "ListMetadataFormats": list_metadata_formats,
            "ListSets": list_sets,
            "GetRecord": get_record,
            "ListIdentifiers": list_items,
            "ListRecords": list_items,
        }[verb](verb, args, request_url)
    except OaiError as exc:
        return error_response(request_url, verb, args, [exc])
    head = _head(request_url, verb, args)

    def stream() -> Iterator[bytes]:
        yield head.encode()
        yield from flatten(body)
        yield b"</OAI-PMH>"

    return StreamingHttpResponse(stream(), content_type="text/xml; charset=utf-8")


# --- verbs --------------------------------------------------------------------------------------


def admin_email() -> str:
    """OAI_ADMIN_EMAIL; the schema wants a dotted domain, so a bare "x@localhost" becomes "x@localhost.invalid"."""
    address = settings.OAI_ADMIN_EMAIL
    local, _, domain = address.rpartition("@")
    return address if "." in domain else f"{local or 'admin'}@{domain or 'localhost'}.invalid"


def earliest_datestamp() -> str:
    earliest = base_queryset().aggregate(m=Min("metadata_modified_at"))["m"]
    return datestamp(earliest or datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))


def identify(verb, args, request_url) -> list[str]:
    rid = repository_id()
    return [
        "<Identify>",
        f"<repositoryName>{escape(settings.OAI_REPOSITORY_NAME)}</repositoryName>",
        f"<baseURL>{escape(request_url)}</baseURL>",
        "<protocolVersion>2.0</protocolVersion>",
        f"<adminEmail>{escape(admin_email())}</adminEmail>",
        f"<earliestDatestamp>{earliest_datestamp()}</earliestDatestamp>",
        "<deletedRecord>persistent</deletedRecord>",
        f"<granularity>{GRANULARITY}</granularity>",
        '<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
        'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"><scheme>oai</scheme>'
        f"<repositoryIdentifier>{escape(rid)}</repositoryIdentifier><delimiter>:</delimiter>"
        f"<sampleIdentifier>oai:{escape(rid)}:edi.1.1</sampleIdentifier></oai-identifier></description>",
        "</Identify>",
    ]


def list_metadata_formats(verb, args, request_url) -> list[str]:
    available = list(formats().values())
    if "identifier" in args:
        revision = parse_identifier(args["identifier"])
        if revision.state in DELETED_STATES:
            raise OaiError(
                "noMetadataFormats", "This record is deleted (withdrawn); no metadata is disseminated for it."
            )
        available = [
            f for f in available if format_filter(Revision.objects.filter(pk=revision.pk), f.prefix).exists()
        ]
        if not available:
            raise OaiError("noMetadataFormats", "There are no metadata formats available for this item.")
    parts = ["<ListMetadataFormats>"]
    for f in available:
        parts.append(
            f"<metadataFormat><metadataPrefix>{f.prefix}</metadataPrefix><schema>{escape(f.schema)}</schema>"
            f"<metadataNamespace>{escape(f.namespace)}</metadataNamespace></metadataFormat>"
        )
    parts.append("</ListMetadataFormats>")
    return parts


def all_sets() -> list[tuple[str, str]]:
    base = base_queryset()
    sets: list[tuple[str, str]] = []
    for scope in base.order_by("package__scope").values_list("package__scope", flat=True).distinct():
        sets.append((f"scope:{set_name(scope)}", f"Datasets in scope {scope}"))
    cruises = (
        base.filter(package__cruise__isnull=False)
        .order_by("package__cruise__cruise_id")
        .values_list("package__cruise__cruise_id", "package__cruise__vessel__name")
        .distinct()
    )
    for cruise_id, vessel in cruises:
        sets.append((f"cruise:{set_name(cruise_id)}", f"Datasets from cruise {cruise_id} ({vessel})"))
    vessels = (
        base.filter(package__cruise__isnull=False)
        .order_by("package__cruise__vessel__code")
        .values_list("package__cruise__vessel__code", "package__cruise__vessel__name")
        .distinct()
    )
    for code, name in vessels:
        sets.append((f"vessel:{set_name(code)}", f"Datasets from vessel {name}"))
    if base.filter(ndc_condition()).exists():
        sets.append(
            ("ndc", "Ready for a national data centre: cruise datasets with archived EML and a licence")
        )
    return list(dict.fromkeys(sets))


def list_sets(verb, args, request_url) -> list[str]:
    if "resumptionToken" in args:
        # The set list is short and sent whole, so no token of ours exists for it.
        raise OaiError("badResumptionToken", "ListSets is never split; this token is not valid.")
    sets = all_sets()
    if not sets:
        raise OaiError("noSetHierarchy", "The repository holds no records, so it has no sets yet.")
    parts = ["<ListSets>"]
    for spec, name in sets:
        parts.append(f"<set><setSpec>{escape(spec)}</setSpec><setName>{escape(name)}</setName></set>")
    parts.append("</ListSets>")
    return parts


def _header(revision_id_text: str, stamp: datetime.datetime, deleted: bool, specs: list[str]) -> str:
    status = ' status="deleted"' if deleted else ""
    return (
        f"<header{status}><identifier>{escape(revision_id_text)}</identifier><datestamp>{datestamp(stamp)}</datestamp>"
        + "".join(f"<setSpec>{escape(s)}</setSpec>" for s in specs)
        + "</header>"
    )


def _revision_header(r: Revision) -> str:
    package = r.package
    cruise = package.cruise
    ndc = cruise is not None and r.eml_blob_id is not None and bool(r.licence)
    specs = sets_of(
        package.scope, cruise.cruise_id if cruise else None, cruise.vessel.code if cruise else None, ndc
    )
    return _header(
        oai_identifier(package.scope, package.identifier, r.number),
        r.metadata_modified_at,
        r.state in DELETED_STATES,
        specs,
    )


def metadata_element(revision: Revision, prefix: str) -> etree._Element:
    if prefix == "oai_dc":
        return metadata.oai_dc_element(revision)
    if prefix == "datacite":
        return metadata.datacite_element(revision)
    if prefix == "eml":
        element = metadata.eml_element(revision)
        if element is None:
            raise OaiError("cannotDisseminateFormat", "No EML document is stored for this record.")
        return element
    if prefix == "cruise":
        return cruise_element(revision)
    raise OaiError("cannotDisseminateFormat", f"Unknown metadataPrefix {prefix}.")


def cruise_element(revision: Revision) -> etree._Element:
    cruise = revision.package.cruise
    if cruise is None:
        raise OaiError("cannotDisseminateFormat", "This record belongs to no cruise.")
    q = lambda tag: f"{{{CRUISE_NS}}}{tag}"  # noqa: E731

    root = etree.Element(q("cruise"), nsmap={None: CRUISE_NS, "xsi": metadata.XSI_NS})
    root.set(f"{{{metadata.XSI_NS}}}schemaLocation", f"{CRUISE_NS} {formats()['cruise'].schema}")

    def add(parent, tag, text):
        if text not in (None, ""):
            etree.SubElement(parent, q(tag)).text = str(text)

    add(root, "cruiseId", cruise.cruise_id)
    add(root, "url", metadata.cruise_url(cruise))
    vessel = etree.SubElement(root, q("vessel"))
    add(vessel, "name", cruise.vessel.name)
    add(vessel, "code", cruise.vessel.code)
    add(vessel, "callSign", cruise.vessel.call_sign)
    add(vessel, "imoNumber", cruise.vessel.imo_number)
    add(root, "operator", cruise.operator.name)
    add(root, "departurePort", cruise.departure_port.name if cruise.departure_port_id else "")
    add(root, "arrivalPort", cruise.arrival_port.name if cruise.arrival_port_id else "")
    add(root, "departureDate", cruise.departure_date.isoformat() if cruise.departure_date else "")
    add(root, "arrivalDate", cruise.arrival_date.isoformat() if cruise.arrival_date else "")
    add(root, "missionSummary", cruise.mission_summary)
    for award in cruise.awards.all():
        el = etree.SubElement(root, q("award"))
        add(el, "funder", award.funder)
        add(el, "funderIdentifier", award.funder_identifier)
        add(el, "number", award.number)
        add(el, "title", award.title)
    # A page of records carries its cruises' tracks already (``_records``); a single record asks here.
    known = getattr(cruise, "_oai_track", None)
    found = known if known is not None else metadata.cruise_tracks([cruise.pk]).get(cruise.pk, False)
    if found:
        track = etree.SubElement(root, q("track"))
        for tag, value in zip(
            ("westBoundLongitude", "southBoundLatitude", "eastBoundLongitude", "northBoundLatitude"),
            found.bbox,
            strict=True,
        ):
            add(track, tag, value)
        add(track, "trackline", metadata.track_wkt(found.line))
        add(track, "rating", found.rating)
        add(track, "certificate", metadata.track_certificate_url(cruise))
    dataset = etree.SubElement(root, q("dataset"))
    add(dataset, "packageId", revision.package_id_text)
    add(dataset, "doi", metadata.version_doi_name(revision))
    add(dataset, "title", revision.title or revision.package_id_text)
    return root


def _payload(element: etree._Element) -> bytes:
    payload = etree.tostring(element, encoding="UTF-8")
    return payload if None in element.nsmap else _no_default_namespace(payload)


def _no_default_namespace(payload: bytes) -> bytes:
    """Unqualified elements (EML's <dataset>) must not fall into the OAI-PMH default namespace: ``xmlns=""``
    on the payload's root, whose own namespaces have no default."""
    cut = payload.index(b" ") if b" " in payload[: payload.index(b">")] else payload.index(b">")
    return payload[:cut] + b' xmlns=""' + payload[cut:]


def _record(r: Revision, prefix: str) -> bytes:
    head = _revision_header(r).encode()
    if r.state in DELETED_STATES:
        return b"<record>" + head + b"</record>"
    payload = _payload(metadata_element(r, prefix))
    return b"<record>" + head + b"<metadata>" + payload + b"</metadata></record>"


def get_record(verb, args, request_url) -> list:
    prefix = args["metadataPrefix"]
    if prefix not in formats():
        raise OaiError(
            "cannotDisseminateFormat", f"Unknown metadataPrefix {prefix}; see ListMetadataFormats."
        )
    revision = parse_identifier(args["identifier"])
    if not format_filter(Revision.objects.filter(pk=revision.pk), prefix).exists():
        raise OaiError("cannotDisseminateFormat", f"{args['identifier']} is not available as {prefix}.")
    return [b"<GetRecord>", _record(revision, prefix), b"</GetRecord>"]


# --- lists with resumption tokens ---------------------------------------------------------------


# A resumption token is the signed, compressed JSON of the list's state. Its keys are one letter each, to
# keep tokens short in harvesters' URLs; changing a key's meaning invalidates tokens harvesters hold:
#
#   v  the verb the token belongs to (ListRecords / ListIdentifiers); another verb is refused
#   m  metadataPrefix
#   s  set spec, or None
#   f  from: lower datestamp bound (ISO 8601, inclusive), or None
#   u  until: upper datestamp bound (ISO 8601, exclusive, already widened to the granularity), or None
#   n  completeListSize, counted on the first page and carried along
#   c  cursor: how many records earlier pages sent
#   d  keyset position: the datestamp of the last record sent (ISO 8601)
#   i  keyset position: the primary key of the last record sent (ties on d are broken by it)


def encode_token(state: dict) -> str:
    return signing.dumps(state, salt=TOKEN_SALT, compress=True)


def decode_token(token: str, verb: str) -> dict:
    try:
        state = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise OaiError(
            "badResumptionToken", "The resumptionToken is invalid (altered or not ours)."
        ) from None
    if not isinstance(state, dict) or state.get("v") != verb:
        raise OaiError("badResumptionToken", f"This resumptionToken belongs to another verb, not {verb}.")
    return state


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if value else None


def list_items(verb, args, request_url):
    page_size = max(1, settings.OAI_PAGE_SIZE)
    if "resumptionToken" in args:
        state = decode_token(args["resumptionToken"], verb)
    else:
        state = {"v": verb, "m": args["metadataPrefix"], "s": args.get("set"), "c": 0}
        if state["m"] not in formats():
            raise OaiError(
                "cannotDisseminateFormat", f"Unknown metadataPrefix {state['m']}; see ListMetadataFormats."
            )
        lower = upper = None
        granularity = set()
        if "from" in args:
            lower, g = parse_date(args["from"], upper=False)
            granularity.add(g)
        if "until" in args:
            upper, g = parse_date(args["until"], upper=True)
            granularity.add(g)
        if len(granularity) > 1:
            raise OaiError("badArgument", "from and until must have the same granularity.")
        if lower and upper and lower >= upper:
            raise OaiError("badArgument", "from is later than until.")
        state.update(f=_iso(lower), u=_iso(upper))
    prefix = state["m"]
    qs = format_filter(base_queryset(), prefix)
    if state.get("s"):
        qs = set_filter(qs, state["s"])
    if state.get("f"):
        qs = qs.filter(metadata_modified_at__gte=_dt(state["f"]))
    if state.get("u"):
        qs = qs.filter(metadata_modified_at__lt=_dt(state["u"]))
    if "n" not in state:
        state["n"] = qs.count()
    if state.get("d"):
        # Keyset: rows after (datestamp, id). The plain ``>=`` bound lets the planner range-scan the
        # datestamp index; the OR then drops the rows at the same datestamp already sent.
        last = _dt(state["d"])
        qs = qs.filter(metadata_modified_at__gte=last).filter(
            Q(metadata_modified_at__gt=last) | Q(metadata_modified_at=last, pk__gt=state["i"])
        )
    qs = qs.order_by("metadata_modified_at", "pk")
    if verb == "ListIdentifiers":
        rows, more = _take_page(
            [HeaderRow._make(v) for v in qs.values_list(*HEADER_COLUMNS)[: page_size + 1]], page_size
        )
        last_pk, last_stamp = rows[-1].pk, rows[-1].stamp
        chunks = [b"<ListIdentifiers>"]
        for row in rows:
            head = _header(
                oai_identifier(row.scope, row.identifier, row.number),
                row.stamp,
                row.state in DELETED_STATES,
                _sets(row),
            )
            chunks.append(head.encode())
    elif prefix == "oai_dc":
        # The harvest hot path: plain rows, one query for the formats, no model instances.
        rows, more = _take_page(
            [DcRow._make(v) for v in qs.values_list(*DC_COLUMNS)[: page_size + 1]], page_size
        )
        last_pk, last_stamp = rows[-1].pk, rows[-1].stamp
        chunks = [b"<ListRecords>", _dc_records(rows)]
    else:
        records = metadata.with_record_relations(qs)
        if prefix == "cruise":
            records = records.select_related(
                "package__cruise__operator",
                "package__cruise__departure_port",
                "package__cruise__arrival_port",
            )
        rows, more = _take_page(list(records[: page_size + 1]), page_size)
        last_pk, last_stamp = rows[-1].pk, rows[-1].metadata_modified_at
        chunks = [b"<ListRecords>"]
        chunks.append(_records(rows, prefix))
    cursor = state["c"]
    if more or cursor:
        token = ""
        if more:
            token = encode_token({**state, "d": _iso(last_stamp), "i": last_pk, "c": cursor + len(rows)})
        chunks.append(
            f'<resumptionToken completeListSize="{state["n"]}" cursor="{cursor}">{token}</resumptionToken>'.encode()
        )
    chunks.append(f"</{verb}>".encode())
    return chunks


class HeaderRow(NamedTuple):
    """What an OAI header needs, read as plain values (ListIdentifiers and every record's header)."""

    pk: int
    stamp: datetime.datetime  # metadata_modified_at: the OAI datestamp
    state: str
    number: int
    scope: str
    identifier: int
    cruise_id: str | None  # the cruise's public id (R2R style), for the cruise set
    vessel_code: str | None
    eml_blob_id: int | None
    licence: str


class DcRow(NamedTuple):
    """One oai_dc record as plain values: the header's fields, then what the Dublin Core crosswalk shows."""

    pk: int
    stamp: datetime.datetime
    state: str
    number: int
    scope: str
    identifier: int
    cruise_id: str | None
    vessel_code: str | None
    eml_blob_id: int | None
    licence: str
    title: str
    abstract: str
    keywords: list
    creators: list
    published_at: datetime.datetime | None
    coverage: dict | None
    cruise_pk: int | None
    owner_name: str
    owner_email: str


# The ORM path of each row field, in the rows' order (values_list reads these; the rows are built by position).
DC_COLUMNS = (
    "pk",
    "metadata_modified_at",
    "state",
    "number",
    "package__scope",
    "package__identifier",
    "package__cruise__cruise_id",
    "package__cruise__vessel__code",
    "eml_blob_id",
    "licence",
    "title",
    "abstract",
    "keywords",
    "creators",
    "published_at",
    "coverage",
    "package__cruise_id",
    "package__owner__name",
    "package__owner__email",
)
# A header row is the first columns of a record row (tests check the two rows stay in step).
HEADER_COLUMNS = DC_COLUMNS[: len(HeaderRow._fields)]


def _sets(row: HeaderRow | DcRow) -> list[str]:
    ndc = bool(row.cruise_id and row.eml_blob_id and row.licence)
    return sets_of(row.scope, row.cruise_id, row.vessel_code, ndc)


def _take_page(rows: list, page_size: int) -> tuple[list, bool]:
    """The page's rows (fetched with one extra to learn whether more follow) and whether more follow."""
    if not rows:
        raise OaiError("noRecordsMatch", "No records match these arguments.")
    return rows[:page_size], len(rows) > page_size


def _dc_records(rows: list[DcRow]) -> Iterator[bytes]:
    from apps.packages.models import Entity

    live = [row.pk for row in rows if row.state not in DELETED_STATES]
    formats: dict[int, list[str]] = {}
    for revision_id, fmt, mime in (
        Entity.objects.filter(revision_id__in=live)
        .order_by("revision_id", "pk")
        .values_list("revision_id", "format_name", "mime_type")
    ):
        value = fmt or mime
        bucket = formats.setdefault(revision_id, [])
        if value and value not in bucket:
            bucket.append(value)
    copies = extensions.copies_of(live)  # torrents, their web seeds, verified mirrors: three queries
    for row in rows:
        deleted = row.state in DELETED_STATES
        head = _header(
            oai_identifier(row.scope, row.identifier, row.number), row.stamp, deleted, _sets(row)
        ).encode()
        if deleted:
            yield b"<record>" + head + b"</record>"
            continue
        view = metadata.DcView(
            row.scope,
            row.identifier,
            row.number,
            row.title,
            row.abstract,
            row.keywords,
            metadata.normalise_creators(row.creators, row.owner_name or row.owner_email),
            row.published_at,
            formats.get(row.pk, []),
            row.cruise_pk,
            row.coverage or {},
            row.licence,
            copies.get(row.pk, {}),
        )
        yield (
            b"<record>"
            + head
            + b"<metadata>"
            + _no_default_namespace(metadata.oai_dc_bytes(view))  # _payload(oai_dc_element(view)), faster
            + b"</metadata></record>"
        )


def _records(rows: list[Revision], prefix: str) -> Iterator[bytes]:
    """Rendered lazily while the response streams; the rows and their relations are already loaded (for
    the cruise format, the page's tracks in one query; for DataCite, the page's copies)."""
    if prefix == "cruise":
        tracks = metadata.cruise_tracks(r.package.cruise_id for r in rows)
        for r in rows:
            r.package.cruise._oai_track = tracks.get(r.package.cruise_id, False)
    if prefix == "datacite":
        copies = extensions.copies_of([r.pk for r in rows if r.state not in DELETED_STATES])
        for r in rows:
            r._oai_copies = copies.get(r.pk, {})
    for r in rows:
        yield _record(r, prefix)


def flatten(chunks) -> Iterator[bytes]:
    for c in chunks:
        if isinstance(c, (bytes, str)):
            yield c if isinstance(c, bytes) else c.encode()
        else:
            yield from c
