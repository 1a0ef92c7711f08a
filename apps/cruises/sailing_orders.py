"""Sailing-orders XML: validation against ``schemas/sailing-orders.xsd`` with a hardened parser, the
mapping to and from a Cruise, and the operations report (XSLT to HTML; WeasyPrint turns that HTML into PDF).

Errors are returned as a list of ``"line N: message"`` strings the sender can act on.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lxml import etree

from portal.xml import safe_parser

from . import extensions

SCHEMA_PATH = Path(__file__).parent / "schemas" / "sailing-orders.xsd"
REPORT_XSLT_PATH = Path(__file__).parent / "schemas" / "operations-report.xsl"
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


def parse(data: bytes) -> etree._Element:
    """Parse and validate; raise SailingOrdersError with line-numbered messages."""
    if len(data) > MAX_BYTES:
        raise SailingOrdersError([f"line 1: the document is larger than {MAX_BYTES // 1024} KiB"])
    try:
        tree = etree.fromstring(data, _parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 1)
        raise SailingOrdersError([f"line {line}: not well-formed XML: {exc.msg}"]) from exc
    if tree.docinfo.doctype:
        raise SailingOrdersError(["line 1: DOCTYPE declarations are not allowed in sailing orders"])
    validator = schema()
    if not validator.validate(tree):
        raise SailingOrdersError([f"line {e.line}: {e.message}" for e in validator.error_log])
    return tree.getroot()


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
    """Validate and turn the document into plain values; semantic checks with line numbers."""
    root = parse(data)
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
    errors = []
    chiefs = [m for m in parsed.members if m.role == "chief_scientist"]
    if len(chiefs) != 1:
        errors.append(
            f"line {c.find('party').sourceline}: the party must name exactly one chief_scientist (found {len(chiefs)})"
        )
    if parsed.arrival["date"] < parsed.departure["date"]:
        errors.append(
            f"line {parsed.arrival['line']}: arrival date {parsed.arrival['date']} is before departure date {parsed.departure['date']}"
        )
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    for m in parsed.members:
        if m.email:
            try:
                validate_email(m.email)
            except ValidationError:
                errors.append(f"line {m.line}: '{m.email}' is not a valid e-mail address")
    if errors:
        raise SailingOrdersError(errors)
    return parsed


def build(cruise, *, with_report: bool = False, with_emails: bool = False) -> bytes:
    """The sailing-orders document of a cruise (deterministic bytes). ``with_report`` adds the event
    summary and datasets the operations report shows; e-mail addresses only with ``with_emails``
    (the cruise's own people — public exports leave them out)."""
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
        _add_report_parts(cruise, c)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _add_report_parts(cruise, c) -> None:
    from apps.packages.models import Revision

    # The event log's part (apps.eventlogs registers it; "none" when no log was opened).
    summary = etree.SubElement(c, "eventSummary", state="none", events="0")
    extensions.event_summary(cruise, summary)
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


def operations_report(cruise, *, pdf_url: str = "") -> str:
    """The Operations Report (HTML) from the cruise record XML through the XSLT stylesheet. ``pdf_url``
    adds a "Download PDF" link (screen only; the stylesheet hides it in print)."""
    doc = etree.fromstring(build(cruise, with_report=True), _parser())
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


def operations_report_pdf(cruise) -> bytes:
    """The Operations Report as PDF: the same HTML, rendered for A4 by the stylesheet's @page rules."""
    return html_to_pdf(operations_report(cruise))
