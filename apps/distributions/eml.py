"""The EML 2.2.0 document of a classified dataset, derived from its cruise and its files.

Built with lxml in the schema's element order (eml-dataset.xsd): title, creators (the chief scientists,
else the operator), associated parties (the rest of the science party), pubDate, abstract, keywords (the
instrument, the vessel, and the "R2R cruise" keyword that links the package to its cruise), the licence,
coverage (the cruise's dates; a bounding box around its ports until navigation supplies a trackline),
the operator as contact, the cruise's awards as the project's awards, then the data entities.

Entities (documented in docs/distributions.md): every dataset carries its file inventory as a table
(``files.csv``: path, size, MD5, SHA-256). Up to ``DISTRIBUTION_MAX_ENTITIES`` files, each file is also an
``otherEntity`` of its own (stored as a blob, downloadable from the landing page); a larger dataset is
described by the inventory table alone, its files staying in the delivery's deep copy and the BagIt export.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from lxml import etree

EML_NS = "https://eml.ecoinformatics.org/eml-2.2.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PAD_DEGREES = 0.5  # the box around the ports: a ship leaves its port behind


@dataclass
class FileEntry:
    path: str
    size: int
    md5: str
    sha256: str
    object_name: str = ""
    on_disk: str = ""  # the name on disk when it differs from ``path`` (NFC)


def object_name(path: str) -> str:
    """A flat, unique file name for a delivery path (uploads are matched by file name, not path)."""
    return path.replace("/", "__")


def inventory_csv(files: list[FileEntry]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "size", "md5", "sha256"])
    for f in files:
        writer.writerow([f.path, f.size, f.md5, f.sha256])
    return out.getvalue().encode()


def _sub(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    element = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        element.text = str(text)
    return element


def _person(parent, tag: str, name: str, *, email: str = "", orcid: str = "", affiliation: str = ""):
    party = _sub(parent, tag)
    given, _, family = name.strip().rpartition(" ")
    individual = _sub(party, "individualName")
    if given:
        _sub(individual, "givenName", given)
    _sub(individual, "surName", family or name)
    if affiliation:
        _sub(party, "organizationName", affiliation)
    if email:
        _sub(party, "electronicMailAddress", email)
    if orcid:
        _sub(party, "userId", f"https://orcid.org/{orcid}", directory="https://orcid.org")
    return party


def _organisation(parent, tag: str, organisation):
    party = _sub(parent, tag)
    _sub(party, "organizationName", organisation.name)
    if organisation.email:
        _sub(party, "electronicMailAddress", organisation.email)
    if organisation.url:
        _sub(party, "onlineUrl", organisation.url)
    return party


def bounding_box(cruise) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) around the cruise's ports, padded; None without port positions."""
    points = [
        (p.longitude, p.latitude)
        for p in (cruise.departure_port, cruise.arrival_port)
        if p is not None and p.latitude is not None and p.longitude is not None
    ]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return (
        max(-180.0, min(lons) - PAD_DEGREES),
        max(-90.0, min(lats) - PAD_DEGREES),
        min(180.0, max(lons) + PAD_DEGREES),
        min(90.0, max(lats) + PAD_DEGREES),
    )


def _other_entity(parent, f: FileEntry, format_name: str, index: int) -> None:
    entity = _sub(parent, "otherEntity", id=f"file-{index}")
    _sub(entity, "entityName", f.path)
    physical = _sub(entity, "physical")
    _sub(physical, "objectName", f.object_name)
    _sub(physical, "size", f.size, unit="byte")
    _sub(physical, "authentication", f.md5, method="MD5")
    fmt = _sub(_sub(physical, "dataFormat"), "externallyDefinedFormat")
    _sub(fmt, "formatName", format_name)
    _sub(entity, "entityType", "instrument data file")


def _inventory_table(parent, files: list[FileEntry], data: bytes) -> None:
    import hashlib

    table = _sub(parent, "dataTable", id="inventory")
    _sub(table, "entityName", "files.csv")
    _sub(
        table, "entityDescription", "The dataset's file inventory: path in the delivery, size, MD5, SHA-256."
    )
    physical = _sub(table, "physical")
    _sub(physical, "objectName", "files.csv")
    _sub(physical, "size", len(data), unit="byte")
    _sub(physical, "authentication", hashlib.md5(data).hexdigest(), method="MD5")
    text = _sub(_sub(physical, "dataFormat"), "textFormat")
    _sub(text, "numHeaderLines", 1)
    _sub(text, "recordDelimiter", "\\n")
    _sub(text, "attributeOrientation", "column")
    delimited = _sub(_sub(text, "simpleDelimited"), "fieldDelimiter", ",")
    delimited.addnext(etree.Element("quoteCharacter"))
    delimited.getnext().text = '"'
    attributes = _sub(table, "attributeList")
    for name, definition, kind in (
        ("path", "Path of the file inside the delivery", "text"),
        ("size", "Size of the file in bytes", "number"),
        ("md5", "MD5 digest of the file (hex)", "text"),
        ("sha256", "SHA-256 digest of the file (hex)", "text"),
    ):
        attribute = _sub(attributes, "attribute")
        _sub(attribute, "attributeName", name)
        _sub(attribute, "attributeDefinition", definition)
        scale = _sub(attribute, "measurementScale")
        if kind == "number":
            ratio = _sub(scale, "ratio")
            _sub(_sub(ratio, "unit"), "standardUnit", "number")
            _sub(_sub(ratio, "numericDomain"), "numberType", "whole")
        else:
            domain = _sub(_sub(scale, "nominal"), "nonNumericDomain")
            _sub(_sub(domain, "textDomain"), "definition", definition)
    _sub(table, "numberOfRecords", len(files))


def build(
    dataset, package_id: str, files: list[FileEntry], *, with_entities: bool, inventory: bytes
) -> bytes:
    """The EML document of ``dataset`` (a Dataset) as ``package_id``; see the module docstring."""
    delivery = dataset.delivery
    cruise = delivery.cruise
    vessel, operator = cruise.vessel, cruise.operator
    members = list(cruise.members.all())
    chiefs = [m for m in members if m.role == "chief_scientist"]
    others = [m for m in members if m.role != "chief_scientist"]
    system = " ".join(x for x in (dataset.vendor, dataset.model) if x)
    label = dataset.get_instrument_class_display()

    root = etree.Element(
        f"{{{EML_NS}}}eml",
        nsmap={"eml": EML_NS, "xsi": XSI_NS},
        packageId=package_id,
        system=settings.SITE_BASE_URL,
    )
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{EML_NS} https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd")
    ds = _sub(root, "dataset")
    _sub(ds, "alternateIdentifier", f"{cruise.cruise_id}/{delivery.shipment}/{dataset.instrument_class}")
    title = (
        f"{label} data{f' ({system})' if system else ''} from cruise {cruise.cruise_id} on the {vessel.name}"
    )
    if cruise.departure_date and cruise.arrival_date:
        title += f", {cruise.departure_date.isoformat()} to {cruise.arrival_date.isoformat()}"
    _sub(ds, "title", title)
    for m in chiefs:
        _person(ds, "creator", m.name, email=m.email, orcid=m.orcid, affiliation=m.affiliation)
    if not chiefs:
        _organisation(ds, "creator", operator)
    _organisation(ds, "metadataProvider", operator)
    for m in others:
        party = _person(
            ds, "associatedParty", m.name, email=m.email, orcid=m.orcid, affiliation=m.affiliation
        )
        _sub(party, "role", m.get_role_display())
    _sub(ds, "pubDate", timezone.now().date().isoformat())
    abstract = _sub(ds, "abstract")
    _sub(
        abstract,
        "para",
        f"Underway {label.lower()} data{f' recorded with the {system}' if system else ''} on the {vessel.name} "
        f"({vessel.code}) during cruise {cruise.cruise_id}, operated by {operator.name}, as delivered by the "
        f"operator in shipment {delivery.shipment}: {dataset.files_count} files, {dataset.bytes_total} bytes.",
    )
    if cruise.mission_summary:
        _sub(abstract, "para", cruise.mission_summary)
    keywords = _sub(ds, "keywordSet")
    for word in (
        label,
        dataset.instrument_class,
        dataset.vendor,
        dataset.model,
        vessel.name,
        "underway data",
    ):
        if word:
            _sub(keywords, "keyword", word)
    r2r = _sub(ds, "keywordSet")
    _sub(r2r, "keyword", cruise.cruise_id)
    _sub(r2r, "keywordThesaurus", "R2R cruise")
    licence = _sub(ds, "licensed")
    _sub(licence, "licenseName", "Creative Commons Attribution 4.0 International")
    _sub(licence, "url", "https://spdx.org/licenses/CC-BY-4.0")
    _sub(licence, "identifier", "CC-BY-4.0")
    coverage = _sub(ds, "coverage")
    box = bounding_box(cruise)
    if box is not None:
        geo = _sub(coverage, "geographicCoverage")
        ports = " to ".join(p.name for p in (cruise.departure_port, cruise.arrival_port) if p is not None)
        _sub(geo, "geographicDescription", f"Cruise {cruise.cruise_id}: {ports} (box around the ports)")
        bounds = _sub(geo, "boundingCoordinates")
        w, s, e, n = box
        _sub(bounds, "westBoundingCoordinate", round(w, 6))
        _sub(bounds, "eastBoundingCoordinate", round(e, 6))
        _sub(bounds, "northBoundingCoordinate", round(n, 6))
        _sub(bounds, "southBoundingCoordinate", round(s, 6))
    if cruise.departure_date:
        temporal = _sub(_sub(coverage, "temporalCoverage"), "rangeOfDates")
        _sub(_sub(temporal, "beginDate"), "calendarDate", cruise.departure_date.isoformat())
        end = cruise.arrival_date or cruise.departure_date
        _sub(_sub(temporal, "endDate"), "calendarDate", end.isoformat())
    if not len(coverage):
        ds.remove(coverage)
    _organisation(ds, "contact", operator)
    awards = list(cruise.awards.all())
    project = _sub(ds, "project")
    _sub(project, "title", f"Cruise {cruise.cruise_id} ({vessel.name})")
    personnel = _organisation(project, "personnel", operator)
    _sub(personnel, "role", "operator")
    if cruise.survey_targets:
        _sub(_sub(project, "abstract"), "para", cruise.survey_targets)
    for award in awards:
        element = _sub(project, "award")
        _sub(element, "funderName", award.funder)
        if award.funder_identifier:
            _sub(element, "funderIdentifier", award.funder_identifier)
        _sub(element, "awardNumber", award.number)
        _sub(element, "title", award.title or f"{award.funder} award {award.number}")
    if with_entities:
        for index, f in enumerate(files, 1):
            _other_entity(ds, f, dataset.get_instrument_class_display(), index)
    _inventory_table(ds, files, inventory)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
