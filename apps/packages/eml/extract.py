"""Reading what Quayside needs out of a (valid) EML 2.2.0 document.

Cruise link: a ``keywordSet`` whose ``keywordThesaurus`` is "R2R cruise" names the cruise: each of its
keywords is a cruise id (e.g. ``RR2401``); the first that matches a Cruise links the package to it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from lxml import etree

CRUISE_THESAURUS = "r2r cruise"
ORCID_DIRECTORY = re.compile(r"orcid\.org", re.I)


@dataclass
class AttributeDecl:
    name: str
    scale: str  # nominal, ordinal, interval, ratio, dateTime
    number_type: str = ""  # natural, whole, integer, real
    minimum: float | None = None
    minimum_exclusive: bool = False
    maximum: float | None = None
    maximum_exclusive: bool = False
    format_string: str = ""
    codes: list[str] | None = None  # enumerated domain, None when free text
    missing_codes: list[str] = field(default_factory=list)
    definition: str = ""  # attributeDefinition
    unit: str = ""  # standardUnit or customUnit of a ratio/interval attribute

    @property
    def expected(self) -> str:
        if self.scale in ("ratio", "interval"):
            bounds = ""
            if self.minimum is not None or self.maximum is not None:
                lo = (
                    ""
                    if self.minimum is None
                    else f"{'>' if self.minimum_exclusive else '≥'}{self.minimum:g}"
                )
                hi = (
                    ""
                    if self.maximum is None
                    else f"{'<' if self.maximum_exclusive else '≤'}{self.maximum:g}"
                )
                bounds = " " + ", ".join(x for x in (lo, hi) if x)
            return f"{self.number_type or 'real'} number{bounds}"
        if self.scale == "dateTime":
            return f"date/time in format {self.format_string}"
        if self.codes is not None:
            shown = ", ".join(self.codes[:10]) + (", …" if len(self.codes) > 10 else "")
            return f"one of the codes {shown}"
        return "text"


@dataclass
class EntityDecl:
    entity_id: str
    name: str
    entity_type: str
    object_name: str = ""
    url: str = ""
    size: int | None = None
    md5: str = ""
    text_format: bool = False
    header_lines: int = 0
    delimiter: str = ","
    quote: str = ""
    encoding: str = ""  # physical/characterEncoding as declared ("" = not declared: UTF-8)
    collapse_delimiters: bool = False  # simpleDelimited/collapseDelimiters = yes
    footer_lines: int = 0  # textFormat/numFooterLines
    number_of_records: int | None = None
    format_name: str = ""
    attributes: list[AttributeDecl] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return self.object_name or self.url.rstrip("/").rsplit("/", 1)[-1] or self.entity_id


@dataclass
class PackageMetadata:
    package_id: str
    title: str = ""
    abstract: str = ""
    keywords: list[str] = field(default_factory=list)
    creators: list[dict] = field(default_factory=list)
    coverage: dict = field(default_factory=dict)
    licence: str = ""
    cruise_ids: list[str] = field(default_factory=list)
    entities: list[EntityDecl] = field(default_factory=list)


def _text(el) -> str:
    if el is None:
        return ""
    return " ".join("".join(el.itertext()).split())


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


# Sites a coverage keeps one by one (a dataset of a thousand stations keeps its union box beyond that).
MAX_SITES = 1000


def _site(gc) -> dict | None:
    """One geographicCoverage: its bounding box, its outer gRing when it has one, its description."""
    bc = gc.find("boundingCoordinates")
    if bc is None:
        return None
    w, e, n, s = (
        _float(_text(bc.find(f"{k}BoundingCoordinate"))) for k in ("west", "east", "north", "south")
    )
    if None in (w, e, n, s):
        return None
    site: dict = {"bbox": [w, s, e, n]}
    ring = _gring(gc.find("datasetGPolygon/datasetGPolygonOuterGRing"))
    if ring:
        site["polygon"] = ring
    desc = _text(gc.find("geographicDescription"))
    if desc:
        site["description"] = desc
    return site


def _gring(outer) -> list[list[float]] | None:
    """An outer G-ring as [lon, lat] points: EML's ``gRing`` text ("lon,lat lon,lat …") or ``gRingPoint``s.
    None unless it has at least three distinct points, all of them numbers in range."""
    if outer is None:
        return None
    points: list[list[float]] = []
    text = _text(outer.find("gRing"))
    if text:
        for pair in text.split():
            lon, _, lat = pair.partition(",")
            points.append([_float(lon), _float(lat)])
    else:
        for pt in outer.findall("gRingPoint"):
            points.append([_float(_text(pt.find("gRingLongitude"))), _float(_text(pt.find("gRingLatitude")))])
    if any(x is None or y is None or not (-180 <= x <= 180 and -90 <= y <= 90) for x, y in points):
        return None
    return points if len({(x, y) for x, y in points}) >= 3 else None


def _union_bbox(boxes: list[list[float]]) -> list[float]:
    """The smallest box holding every site's box: the plain one (west ≤ east) or, when it is narrower or a
    site crosses the antimeridian, the one across it (west > east, as EML and STAC write such boxes)."""
    south, north = min(b[1] for b in boxes), max(b[3] for b in boxes)
    candidates = []
    if all(b[0] <= b[2] for b in boxes):
        candidates.append((max(b[2] for b in boxes) - min(b[0] for b in boxes), min(b[0] for b in boxes)))
    # Longitudes counted 0…360 from Greenwich: a box across the antimeridian is an ordinary interval there.
    starts = [b[0] % 360 for b in boxes]
    ends = [start + b[2] - b[0] + (360 if b[0] > b[2] else 0) for start, b in zip(starts, boxes, strict=True)]
    candidates.append((max(ends) - min(starts), min(starts)))
    width, west = min(candidates)
    if width >= 360:
        return [-180.0, south, 180.0, north]
    west = west - 360 if west > 180 else west
    east = west + width
    return [west, south, east - 360 if east > 180 else east, north]


def _coverage(cov) -> dict:
    """A dataset's coverage: the union box of every geographicCoverage (``bbox``), the first description,
    the sites one by one when there is more than one or one has a polygon (``sites``), and the dates from the
    earliest to the latest of every temporalCoverage (``begin``/``end``)."""
    coverage: dict = {}
    sites = [site for gc in cov.findall("geographicCoverage") if (site := _site(gc))]
    if sites:
        coverage["bbox"] = sites[0]["bbox"] if len(sites) == 1 else _union_bbox([x["bbox"] for x in sites])
        if len(sites) > 1 or "polygon" in sites[0]:
            coverage["sites"] = sites[:MAX_SITES]
    desc = _text(cov.find("geographicCoverage/geographicDescription"))
    if desc:
        coverage["description"] = desc
    begins, ends = [], []
    for tc in cov.findall("temporalCoverage"):
        begin = _text(tc.find("rangeOfDates/beginDate/calendarDate"))
        end = _text(tc.find("rangeOfDates/endDate/calendarDate")) or begin
        singles = [_text(d) for d in tc.findall("singleDateTime/calendarDate")]
        begins += [d for d in [begin, *singles] if d]
        ends += [d for d in [end, *singles] if d]
    if begins:
        # ISO 8601 dates compare as text ("2001" < "2001-05-03"); the same form throughout in practice.
        coverage["begin"], coverage["end"] = min(begins), max(ends)
    return coverage


def unescape_delimiter(value: str) -> str:
    """EML writes delimiters literally, escaped ("\\t") or as hex ("0x09"/"#x09")."""
    v = value or ","
    if v in ("\\t", "\t", "tab", "TAB"):
        return "\t"
    m = re.fullmatch(r"(?:0x|#x|\\x)([0-9a-fA-F]{2})", v)
    if m:
        return chr(int(m.group(1), 16))
    return v[:1]


def _attribute(attr) -> AttributeDecl:
    ms = attr.find("measurementScale")
    scale_el = next((c for c in ms if isinstance(c.tag, str)), None) if ms is not None else None
    scale = etree.QName(scale_el).localname if scale_el is not None else "nominal"
    decl = AttributeDecl(
        name=_text(attr.find("attributeName")),
        scale=scale,
        definition=_text(attr.find("attributeDefinition")),
    )
    decl.missing_codes = [_text(m.find("code")) for m in attr.findall("missingValueCode")]
    if scale in ("ratio", "interval"):
        decl.unit = _text(scale_el.find("unit/standardUnit")) or _text(scale_el.find("unit/customUnit"))
        dom = scale_el.find("numericDomain")
        if dom is not None:
            decl.number_type = _text(dom.find("numberType"))
            for b in dom.findall("bounds"):
                mn, mx = b.find("minimum"), b.find("maximum")
                if mn is not None:
                    decl.minimum, decl.minimum_exclusive = _float(_text(mn)), mn.get("exclusive") == "true"
                if mx is not None:
                    decl.maximum, decl.maximum_exclusive = _float(_text(mx)), mx.get("exclusive") == "true"
    elif scale == "dateTime":
        decl.format_string = _text(scale_el.find("formatString"))
    else:
        enum = scale_el.find("nonNumericDomain/enumeratedDomain") if scale_el is not None else None
        if enum is not None:
            codes = [_text(c) for c in enum.findall("codeDefinition/code")]
            if codes:
                decl.codes = codes
    return decl


def _entity(el, index: int) -> EntityDecl:
    kind = etree.QName(el).localname
    name = _text(el.find("entityName"))
    entity_id = el.get("id") or hashlib.md5(f"{index}:{name}".encode()).hexdigest()
    decl = EntityDecl(entity_id=entity_id, name=name, entity_type=kind)
    phys = el.find("physical")
    if phys is not None:
        decl.object_name = _text(phys.find("objectName"))
        size = phys.find("size")
        if size is not None and _text(size).isdigit() and size.get("unit", "byte") in ("byte", "bytes"):
            decl.size = int(_text(size))
        for auth in phys.findall("authentication"):
            if (auth.get("method") or "").upper() == "MD5":
                decl.md5 = _text(auth).lower()
        decl.encoding = _text(phys.find("characterEncoding"))
        url = phys.find("distribution/online/url")
        decl.url = _text(url)
        tf = phys.find("dataFormat/textFormat")
        if tf is not None:
            decl.text_format = True
            decl.header_lines = int(_text(tf.find("numHeaderLines")) or 0)
            footer = _text(tf.find("numFooterLines"))
            decl.footer_lines = int(footer) if footer.isdigit() else 0
            sd = tf.find("simpleDelimited")
            if sd is not None:
                decl.delimiter = unescape_delimiter(
                    _text(sd.find("fieldDelimiter")) or sd.findtext("fieldDelimiter")
                )
                decl.quote = (sd.findtext("quoteCharacter") or "")[:1]
                decl.collapse_delimiters = _text(sd.find("collapseDelimiters")).lower() == "yes"
            decl.format_name = "text/csv"
        ext = phys.find("dataFormat/externallyDefinedFormat/formatName")
        if ext is not None:
            decl.format_name = _text(ext)
    decl.attributes = [_attribute(a) for a in el.findall("attributeList/attribute")]
    nrec = _text(el.find("numberOfRecords"))
    decl.number_of_records = int(nrec) if nrec.isdigit() else None
    return decl


def _creator(el) -> dict:
    given = " ".join(_text(g) for g in el.findall("individualName/givenName"))
    family = _text(el.find("individualName/surName"))
    org = _text(el.find("organizationName"))
    orcid = ""
    for uid in el.findall("userId"):
        if ORCID_DIRECTORY.search(uid.get("directory", "")) or "orcid.org" in _text(uid):
            orcid = _text(uid).rsplit("/", 1)[-1]
    name = f"{family}, {given}".strip(", ") if family else (org or _text(el.find("positionName")))
    return {
        "name": name,
        "given": given,
        "family": family,
        "orcid": orcid,
        "affiliation": org,
        "email": _text(el.find("electronicMailAddress")),
    }


def extract(tree) -> PackageMetadata:
    """Metadata of a schema-valid EML 2.2.0 document (the ``eml:eml`` root or its tree)."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    meta = PackageMetadata(package_id=root.get("packageId", ""))
    ds = root.find("dataset")
    if ds is None:
        return meta
    meta.title = _text(ds.find("title"))
    meta.abstract = _text(ds.find("abstract"))
    refs = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for c in ds.findall("creator"):
        ref = c.find("references")
        meta.creators.append(_creator(refs.get(_text(ref), c) if ref is not None else c))
    for ks in ds.findall("keywordSet"):
        words = [_text(k) for k in ks.findall("keyword") if _text(k)]
        if _text(ks.find("keywordThesaurus")).lower() == CRUISE_THESAURUS:
            meta.cruise_ids.extend(words)
        meta.keywords.extend(words)
    lic = ds.find("licensed")
    if lic is not None:
        meta.licence = _text(lic.find("identifier")) or _text(lic.find("licenseName"))
    else:
        meta.licence = _text(ds.find("intellectualRights"))[:200]
    cov = ds.find("coverage")
    if cov is not None:
        meta.coverage = _coverage(cov)
    kinds = ("dataTable", "otherEntity", "spatialRaster", "spatialVector", "storedProcedure", "view")
    index = 0
    for child in ds:
        if isinstance(child.tag, str) and etree.QName(child).localname in kinds:
            meta.entities.append(_entity(child, index))
            index += 1
    return meta
