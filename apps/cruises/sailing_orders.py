"""Sailing-orders XML: validation against ``schemas/sailing-orders.xsd`` with a hardened parser, the
mapping to and from a Cruise, and the operations report (XSLT to HTML; WeasyPrint turns that HTML into PDF).

Errors are returned as a list of ``"line N: message"`` strings the sender can act on.
"""

from __future__ import annotations

import copy
import datetime
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

from portal.xml import safe_parser

from . import extensions

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sailing-orders.xsd"
REPORT_XSLT_PATH = Path(__file__).parent / "schemas" / "operations-report.xsl"
EXAMPLE_PATH = Path(__file__).parent / "schemas" / "sailing-orders-example.xml"
MAX_BYTES = 2 * 1024 * 1024  # sailing orders are a few kilobytes; refuse anything absurd


class SailingOrdersError(ValueError):
    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def _parser() -> etree.XMLParser:
    return safe_parser(remove_comments=True, remove_pis=True)


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH), _parser()))


def parse_xml(data: bytes) -> etree._Element:
    """Only parse (size, well-formedness, no DOCTYPE): enough to find the vessel, and so who may file
    the document, before anything about its validity is said. Raises SailingOrdersError."""
    if len(data) > MAX_BYTES:
        raise SailingOrdersError([f"line 1: the document is larger than {MAX_BYTES // 1024} KiB"])
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 1)
        raise SailingOrdersError([f"line {line}: not well-formed XML: {exc.msg}"]) from exc
    if tree.docinfo.doctype:
        raise SailingOrdersError(["line 1: DOCTYPE declarations are not allowed in sailing orders"])
    return tree.getroot()


def vessel_code(root: etree._Element) -> tuple[str, int]:
    """The vessel code the document names and its line ("" when there is none)."""
    vessel = root.find("cruise/vessel") if root.tag == "sailingOrders" else None
    if vessel is None:
        return "", root.sourceline or 1
    return (vessel.get("code") or "").strip(), vessel.sourceline


# --- every schema error at once, in plain words ------------------------------------------------------

PATTERN_WORDS = {
    "id": "a cruise id (2 to 40 letters, digits, '-' or '_', starting with a letter or digit)",
    "orcid": "an ORCID iD (0000-0000-0000-0000; the last character may be X)",
    "unlocode": "a UN/LOCODE (five capital letters or digits, e.g. USSAN)",
    "country": "a two-letter country code in capitals (e.g. US)",
}
TYPE_WORDS = {
    "date": "is not a real date (YYYY-MM-DD)",
    "dateTime": "is not a date and time (YYYY-MM-DDThh:mm:ssZ)",
    "nonNegativeInteger": "is not a whole number (0 or more)",
}
_WHERE = r"Element '(?P<el>[^']+)'(?:, attribute '(?P<attr>[^']+)')?: "
_PLAIN = [
    (
        re.compile(_WHERE + r"'(?P<value>.*)' is not a valid value of the atomic type 'xs:(?P<type>\w+)'\.$"),
        lambda m, what: f"{what}: {m['value']} {TYPE_WORDS.get(m['type'], 'is not a valid ' + m['type'])}",
    ),
    (
        re.compile(_WHERE + r"\[facet '(?:pattern|minLength)'\] The value (?:'\s*'|has a length of '0').*$"),
        lambda m, what: f"{what} must not be empty",
    ),
    (
        re.compile(
            _WHERE + r"\[facet 'pattern'\] The value '(?P<value>.*)' is not accepted by the pattern.*$"
        ),
        lambda m, what: (
            f"{what}: '{m['value']}' is not "
            + PATTERN_WORDS.get(m["attr"] or m["el"], "in the expected form")
        ),
    ),
    (
        re.compile(
            _WHERE + r"\[facet 'enumeration'\] The value '(?P<value>.*)' is not an element of the set "
            r"\{(?P<set>.*)\}\.$"
        ),
        lambda m, what: f"{what}: '{m['value']}' is not one of " + m["set"].replace("'", ""),
    ),
    (
        re.compile(_WHERE + r"The attribute '(?P<name>[^']+)' is required but missing\.$"),
        lambda m, what: f"{what} needs the attribute {m['name']}",
    ),
    (
        re.compile(_WHERE + r"The attribute '(?P<name>[^']+)' is not allowed\.$"),
        lambda m, what: f"<{m['el']}> has an attribute {m['name']}, which sailing orders do not know",
    ),
    (
        re.compile(_WHERE + r"This element is not expected\. Expected is (?:one of )?\( (?P<names>.*) \)\.$"),
        lambda m, what: f"{what} is not expected here; expected " + _names(m["names"]),
    ),
    (
        re.compile(_WHERE + r"This element is not expected\.$"),
        lambda m, what: f"{what} is not allowed here",
    ),
    (
        re.compile(_WHERE + r"Missing child element\(s\)\. Expected is (?:one of )?\( (?P<names>.*) \)\.$"),
        lambda m, what: f"{what} is missing " + _names(m["names"]),
    ),
    (
        re.compile(
            _WHERE + r"The value '(?P<value>.*)' does not match the fixed value constraint '(?P<fixed>.*)'\.$"
        ),
        lambda m, what: f"{what} must be {m['fixed']} (found {m['value']})",
    ),
    (
        re.compile(_WHERE + r"No matching global declaration available for the validation root\.$"),
        lambda m, what: f"the document must start with <sailingOrders>, not <{m['el']}>",
    ),
]


def _names(names: str) -> str:
    tags = [f"<{n.strip()}>" for n in names.split(",") if n.strip()]
    return tags[0] if len(tags) == 1 else "one of " + ", ".join(tags)


def plain_words(message: str) -> str:
    """A libxml2 schema message as a sentence a person can act on ("<arrival> date: 2027-13-40 is not a
    real date (YYYY-MM-DD)"); anything not recognised keeps libxml2's words, tidied."""
    message = message.strip()
    for pattern, say in _PLAIN:
        m = pattern.match(message)
        if m:
            what = f"<{m['el']}> {m['attr']}" if m["attr"] else f"<{m['el']}>"
            return say(m, what)
    message = re.sub(r"\[facet '\w+'\] ", "", message)
    return re.sub(r"Element '([^']+)'", r"<\1>", message)


@lru_cache(maxsize=1)
def known_elements() -> frozenset[str]:
    """Every element name the sailing-orders schema declares."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    return frozenset(el.get("name") for el in etree.parse(str(SCHEMA_PATH), _parser()).iter(f"{xs}element"))


def _unblock(work: etree._Element, error) -> tuple[int | None, str | None]:
    """After an element out of place libxml2 checks none of its later siblings; get it out of the way so
    the next round reaches them. Returns (line whose further errors are not reported, better words for
    this error or None). Raises LookupError when the element cannot be found.

    - the expected element comes later: this one is extra here, and is removed;
    - this one is a sailing-orders element: the expected one is missing before it, and a placeholder is
      put there (its own errors have no line and are not reported);
    - otherwise (a misspelt name): it is renamed to the expected element, and its errors are not reported.
    """
    m = re.search(r"Expected is (?:one of )?\( (?P<names>.*) \)", error.message)
    found = [el for el in work.xpath(error.path) if el.sourceline == error.line] if error.path else []
    if not found:
        raise LookupError(error.path)
    el = found[0]
    expected = [n.strip() for n in m["names"].split(",")] if m else []
    later = {sibling.tag for sibling in el.itersiblings()}
    if not expected or set(expected) & later:
        el.getparent().remove(el)
        return None, None
    if el.tag in known_elements():
        el.addprevious(etree.Element(expected[-1]))
        return None, f"<{el.getparent().tag}> is missing {_names(', '.join(expected))} before <{el.tag}>"
    el.tag = expected[-1]  # of several, the last is the required one (optional ones come first)
    return el.sourceline, None


def schema_errors(root: etree._Element) -> list[tuple[int, str]]:
    """Every schema error of the document as ``(line, plain words)``, in document order.

    libxml2 stops checking an element's children at the first one out of place, so one run names
    only the first problem of each element; the document is validated again (a few rounds at most)
    with the misplaced element out of the way, until no new problem appears."""
    validator = schema()
    work = copy.deepcopy(root)
    seen: dict[tuple[int, str], None] = {}
    quiet: set[int] = set()
    for _ in range(20):
        if validator.validate(work.getroottree()):
            break
        blocking = []
        for e in validator.error_log:
            if e.type_name == "SCHEMAV_ELEMENT_CONTENT" and "not expected" in e.message:
                blocking.append(e)
            elif e.line and e.line not in quiet:
                seen.setdefault((e.line, plain_words(e.message)), None)
        if not blocking:
            break
        try:
            for e in blocking:
                line, words = _unblock(work, e)
                if e.line and e.line not in quiet:
                    seen.setdefault((e.line, words or plain_words(e.message)), None)
                if line is not None:
                    quiet.add(line)
        except LookupError:
            break
    return sorted(seen, key=lambda item: item[0])


def _semantic_errors(root: etree._Element) -> list[tuple[int, str]]:
    """The rules XSD cannot say; each checked only where the parts it needs are valid."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    errors = []
    c = root.find("cruise")
    if c is None:
        return errors
    party = c.find("party")
    if party is not None:
        chiefs = [m for m in party.iterfind("member") if m.get("role") == "chief_scientist"]
        if len(chiefs) != 1:
            errors.append(
                (party.sourceline, f"the party must name exactly one chief_scientist (found {len(chiefs)})")
            )
        for m in party.iterfind("member"):
            email = (m.get("email") or "").strip()
            if email:
                try:
                    validate_email(email)
                except ValidationError:
                    errors.append((m.sourceline, f"'{email}' is not a valid e-mail address"))
    dates = {}
    for tag in ("departure", "arrival"):
        el = c.find(tag)
        try:
            dates[tag] = (datetime.date.fromisoformat(el.get("date")), el.sourceline)
        except (AttributeError, TypeError, ValueError):
            pass
    if len(dates) == 2 and dates["arrival"][0] < dates["departure"][0]:
        errors.append(
            (
                dates["arrival"][1],
                f"arrival date {dates['arrival'][0]} is before departure date {dates['departure'][0]}",
            )
        )
    return errors


def check(root: etree._Element, extra: list[tuple[int, str]] = ()) -> None:
    """Raise SailingOrdersError with every problem of the document (schema, the rules the schema cannot
    say, and ``extra`` from the caller), each as "line N: ...", in document order."""
    errors = sorted([*schema_errors(root), *_semantic_errors(root), *extra], key=lambda item: item[0])
    if errors:
        raise SailingOrdersError([f"line {line}: {text}" for line, text in errors])


def parse(data: bytes) -> etree._Element:
    """Parse and validate; raise SailingOrdersError with every problem, line-numbered."""
    root = parse_xml(data)
    check(root)
    return root


def example_document(vessel=None) -> bytes:
    """The example sailing orders (``schemas/sailing-orders-example.xml``), naming ``vessel`` and its
    operator instead of the example ones when given."""
    data = EXAMPLE_PATH.read_bytes()
    if vessel is None:
        return data
    root = etree.fromstring(data, safe_parser())
    el = root.find("cruise/vessel")
    el.attrib.clear()
    el.set("code", vessel.code)
    if vessel.call_sign:
        el.set("callSign", vessel.call_sign)
    el.text = vessel.name
    root.find("cruise/operator").text = vessel.operator.name
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


@dataclass
class ParsedMember:
    role: str
    name: str
    email: str = ""
    orcid: str = ""
    affiliation: str = ""
    line: int = 0


@dataclass
class ParsedCruise:
    cruise_id: str
    vessel_code: str
    vessel_line: int
    operator_name: str
    departure: dict
    arrival: dict
    mission_summary: str
    survey_targets: str
    instruments: list[str]
    members: list[ParsedMember] = field(default_factory=list)
    awards: list[dict] = field(default_factory=list)
    line: int = 0


def _text(el, name: str) -> str:
    child = el.find(name)
    return (child.text or "").strip() if child is not None else ""


def _port(el) -> dict:
    return {
        "port": el.get("port").strip(),
        "unlocode": el.get("unlocode", ""),
        "country": el.get("country", ""),
        "date": datetime.date.fromisoformat(el.get("date")),
        "line": el.sourceline,
    }


def read(data: bytes) -> ParsedCruise:
    """Validate and turn the document into plain values (every problem at once: ``parse``)."""
    return extract(parse(data))


def extract(root: etree._Element) -> ParsedCruise:
    """The plain values of a document that passed ``check``."""
    c = root.find("cruise")
    vessel = c.find("vessel")
    parsed = ParsedCruise(
        cruise_id=c.get("id"),
        vessel_code=vessel.get("code").strip(),
        vessel_line=vessel.sourceline,
        operator_name=_text(c, "operator"),
        departure=_port(c.find("departure")),
        arrival=_port(c.find("arrival")),
        mission_summary=_text(c, "missionSummary"),
        survey_targets=_text(c, "surveyTargets"),
        instruments=[(i.text or "").strip() for i in c.iterfind("instruments/instrument")],
        line=c.sourceline,
    )
    for m in c.iterfind("party/member"):
        parsed.members.append(
            ParsedMember(
                role=m.get("role"),
                name=_text(m, "name"),
                email=(m.get("email") or "").strip(),
                orcid=m.get("orcid", ""),
                affiliation=_text(m, "affiliation"),
                line=m.sourceline,
            )
        )
    for a in c.iterfind("awards/award"):
        parsed.awards.append(
            {
                "funder": a.get("funder"),
                "funder_identifier": a.get("funderIdentifier", ""),
                "number": a.get("number"),
                "title": a.get("title", ""),
            }
        )
    return parsed


def build(
    cruise, *, with_report: bool = False, with_emails: bool = False, with_open_log: bool = False
) -> bytes:
    """The sailing-orders document of a cruise (deterministic bytes). ``with_report`` adds the event
    summary and datasets the operations report shows; e-mail addresses only with ``with_emails``
    (the cruise's own people — public exports leave them out); an event log still open is summed up
    only ``with_open_log`` (the cruise's people: the log is private until it is closed)."""
    root = etree.Element("sailingOrders", version="1")
    c = etree.SubElement(root, "cruise", id=cruise.cruise_id)
    v = cruise.vessel
    vessel = etree.SubElement(c, "vessel", code=v.code)
    if v.call_sign:
        vessel.set("callSign", v.call_sign)
    if v.imo_number:
        vessel.set("imo", v.imo_number)
    vessel.text = v.name
    etree.SubElement(c, "operator").text = cruise.operator.name
    if with_report:
        etree.SubElement(c, "state").text = cruise.get_state_display()
    for tag, port, date in (
        ("departure", cruise.departure_port, cruise.departure_date),
        ("arrival", cruise.arrival_port, cruise.arrival_date),
    ):
        el = etree.SubElement(c, tag, port=port.name if port else "unknown")
        if port and port.unlocode:
            el.set("unlocode", port.unlocode)
        if port and port.country:
            el.set("country", port.country)
        el.set("date", (date or datetime.date(1970, 1, 1)).isoformat())
    etree.SubElement(c, "missionSummary").text = cruise.mission_summary or "-"
    if cruise.survey_targets:
        etree.SubElement(c, "surveyTargets").text = cruise.survey_targets
    if cruise.instruments:
        ins = etree.SubElement(c, "instruments")
        for code in cruise.instruments:
            etree.SubElement(ins, "instrument").text = code
    party = etree.SubElement(c, "party")
    for m in cruise.members.order_by("role", "name", "pk"):
        el = etree.SubElement(party, "member", role=m.role)
        if m.email and with_emails:
            el.set("email", m.email)
        if m.orcid:
            el.set("orcid", m.orcid)
        etree.SubElement(el, "name").text = m.name
        if m.affiliation:
            etree.SubElement(el, "affiliation").text = m.affiliation
    awards = list(cruise.awards.order_by("funder", "number"))
    if awards:
        a_el = etree.SubElement(c, "awards")
        for a in awards:
            el = etree.SubElement(a_el, "award", funder=a.funder, number=a.number)
            if a.funder_identifier:
                el.set("funderIdentifier", a.funder_identifier)
            if a.title:
                el.set("title", a.title)
    if with_report:
        _add_report_parts(cruise, c, with_open_log=with_open_log)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_report_parts(cruise, c, *, with_open_log: bool) -> None:
    from apps.packages.models import Revision

    # The event log's part (apps.eventlogs registers it; "none" when no log was opened). A log that is
    # not closed yet is private: others learn only that there is one, not its counts or times.
    summary = etree.SubElement(c, "eventSummary", state="none", events="0")
    extensions.event_summary(cruise, summary)
    if not with_open_log and summary.get("state") not in ("none", "closed"):
        summary.clear()
        summary.attrib.update({"state": "private", "events": "0"})
    datasets = etree.SubElement(c, "datasets")
    for package in cruise.packages.order_by("scope", "identifier"):
        # The report is public: only revisions whose metadata is public (published, held — "held until" —,
        # withdrawn, tainted) appear; drafts, failed and in-progress revisions never do.
        revision = package.revisions.filter(state__in=Revision.METADATA_PUBLIC).order_by("-number").first()
        if revision is None:
            continue
        el = etree.SubElement(datasets, "dataset", packageId=revision.package_id_text, state=revision.state)
        if revision.state == Revision.State.HELD:
            until = extensions.held_until(revision)
            if until is not None:
                el.set("heldUntil", until.isoformat())
        if revision.doi:
            el.set("doi", revision.doi)
        el.text = revision.title or package.package_key


@lru_cache(maxsize=1)
def report_transform() -> etree.XSLT:
    return etree.XSLT(
        etree.parse(str(REPORT_XSLT_PATH), _parser()), access_control=etree.XSLTAccessControl.DENY_ALL
    )


def operations_report(cruise, *, pdf_url: str = "", with_open_log: bool = False) -> str:
    """The Operations Report (HTML) from the cruise record XML through the XSLT stylesheet. ``pdf_url``
    adds a "Download PDF" link (screen only; the stylesheet hides it in print); ``with_open_log`` for
    the cruise's people (``build``)."""
    doc = etree.fromstring(build(cruise, with_report=True, with_open_log=with_open_log), _parser())
    result = report_transform()(
        doc,
        generated=etree.XSLT.strparam(datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        pdf_url=etree.XSLT.strparam(pdf_url),
    )
    return str(result)


class PdfUnavailable(RuntimeError):
    """WeasyPrint, or the Pango library it loads at import, is missing on this server."""


def _weasyprint():
    # Imported on first use, not at module load: WeasyPrint loads Pango through cffi when imported and
    # raises OSError where the library is missing; every other page must keep working there.
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"{type(exc).__name__}: {exc}") from exc
    progress = logging.getLogger("weasyprint.progress")
    if progress.level == logging.NOTSET:
        # It logs each rendering step at INFO, the root logger's level; a LOGGING entry for it still wins.
        progress.setLevel(logging.WARNING)
    return weasyprint


def pdf_available() -> bool:
    try:
        _weasyprint()
    except PdfUnavailable:
        return False
    return True


def offline_url_fetcher():
    """A WeasyPrint URL fetcher that reads ``data:`` URIs and refuses every other URL (http, https, ftp,
    file, …) before any connection or file access: a report never reaches the network or the disk.
    Raises PdfUnavailable like ``html_to_pdf``."""
    weasyprint = _weasyprint()

    class OfflineURLFetcher(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            if not url.lower().startswith("data:"):
                # WeasyPrint logs this and renders the document without the resource.
                raise ValueError(f"refused to fetch {url[:200]!r}: the PDF report reads data: URIs only")
            return super().fetch(url, headers)

    return OfflineURLFetcher()


def html_to_pdf(html: str) -> bytes:
    """Render HTML to PDF bytes with WeasyPrint (print media, nothing fetched: see ``offline_url_fetcher``).
    Raises PdfUnavailable when WeasyPrint or Pango is missing."""
    weasyprint = _weasyprint()
    return weasyprint.HTML(string=html, url_fetcher=offline_url_fetcher()).write_pdf()


def operations_report_pdf(cruise, *, with_open_log: bool = False) -> bytes:
    """The Operations Report as PDF: the same HTML, rendered for A4 by the stylesheet's @page rules."""
    return html_to_pdf(operations_report(cruise, with_open_log=with_open_log))
