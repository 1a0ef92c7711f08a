"""Writing small EML 2.2.0 documents (the demo, tests and the benchmark describe their tables with it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr


@dataclass
class Column:
    name: str
    kind: str = "text"  # int, natural, whole, real, date, code, text
    unit: str = "dimensionless"
    format: str = "YYYY-MM-DD"
    codes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None


@dataclass
class Table:
    entity_id: str
    name: str
    columns: list[Column]
    url: str = ""
    object_name: str = ""
    size: int | None = None
    md5: str = ""
    records: int | None = None
    header_lines: int = 1
    delimiter: str = ","
    encoding: str = ""  # physical/characterEncoding, when given
    collapse_delimiters: bool = False
    footer_lines: int = 0
    quote: str = '"'

    def describe_file(self, path: str | Path) -> Table:
        """Fill size, MD5 and record count from the file itself."""
        data = Path(path).read_bytes()
        self.size, self.md5 = len(data), hashlib.md5(data).hexdigest()
        self.records = max(0, sum(1 for line in data.splitlines() if line.strip()) - self.header_lines)
        self.object_name = self.object_name or Path(path).name
        return self


def _attribute(c: Column) -> str:
    missing = "".join(
        f"<missingValueCode><code>{escape(m)}</code><codeExplanation>missing</codeExplanation></missingValueCode>"
        for m in c.missing
    )
    head = f"<attribute><attributeName>{escape(c.name)}</attributeName><attributeDefinition>{escape(c.name)}</attributeDefinition>"
    if c.kind in ("int", "natural", "whole", "real"):
        number_type = "integer" if c.kind == "int" else c.kind
        bounds = ""
        if c.minimum is not None or c.maximum is not None:
            bounds = (
                "<bounds>"
                + (f'<minimum exclusive="false">{c.minimum}</minimum>' if c.minimum is not None else "")
                + (f'<maximum exclusive="false">{c.maximum}</maximum>' if c.maximum is not None else "")
                + "</bounds>"
            )
        unit = (
            f"<customUnit>{escape(c.unit[7:])}</customUnit>"
            if c.unit.startswith("custom:")
            else f"<standardUnit>{escape(c.unit)}</standardUnit>"
        )
        scale = (
            f"<ratio><unit>{unit}</unit><numericDomain><numberType>{number_type}</numberType>{bounds}"
            "</numericDomain></ratio>"
        )
    elif c.kind == "date":
        scale = f"<dateTime><formatString>{escape(c.format)}</formatString></dateTime>"
    elif c.kind == "code":
        defs = "".join(
            f"<codeDefinition><code>{escape(x)}</code><definition>{escape(x)}</definition></codeDefinition>"
            for x in c.codes
        )
        scale = f"<nominal><nonNumericDomain><enumeratedDomain>{defs}</enumeratedDomain></nonNumericDomain></nominal>"
    else:
        scale = (
            "<nominal><nonNumericDomain><textDomain><definition>free text</definition></textDomain>"
            "</nonNumericDomain></nominal>"
        )
    return f"{head}<measurementScale>{scale}</measurementScale>{missing}</attribute>"


def table_xml(t: Table) -> str:
    size = f'<size unit="byte">{t.size}</size>' if t.size is not None else ""
    md5 = f'<authentication method="MD5">{t.md5}</authentication>' if t.md5 else ""
    url = (
        f'<distribution><online><url function="download">{escape(t.url)}</url></online></distribution>'
        if t.url
        else ""
    )
    records = f"<numberOfRecords>{t.records}</numberOfRecords>" if t.records is not None else ""
    delim = "\\t" if t.delimiter == "\t" else escape(t.delimiter)
    encoding = f"<characterEncoding>{escape(t.encoding)}</characterEncoding>" if t.encoding else ""
    collapse = "<collapseDelimiters>yes</collapseDelimiters>" if t.collapse_delimiters else ""
    footer = f"<numFooterLines>{t.footer_lines}</numFooterLines>" if t.footer_lines else ""
    quote = f"<quoteCharacter>{escape(t.quote)}</quoteCharacter>" if t.quote else ""
    return (
        f"<dataTable id={quoteattr(t.entity_id)}><entityName>{escape(t.name)}</entityName>"
        f"<entityDescription>{escape(t.name)}</entityDescription>"
        f"<physical><objectName>{escape(t.object_name or t.entity_id + '.csv')}</objectName>{size}{md5}{encoding}"
        f"<dataFormat><textFormat><numHeaderLines>{t.header_lines}</numHeaderLines>{footer}<recordDelimiter>\\n</recordDelimiter>"
        f"<attributeOrientation>column</attributeOrientation><simpleDelimited><fieldDelimiter>{delim}</fieldDelimiter>{collapse}"
        f"{quote}</simpleDelimited></textFormat></dataFormat>{url}</physical>"
        f"<attributeList>{''.join(_attribute(c) for c in t.columns)}</attributeList>{records}</dataTable>"
    )


def build_eml(
    package_id: str,
    tables: list[Table],
    *,
    title: str = "Nearshore temperature and salinity observations from a test mooring, 2024",
    abstract: str = "Hourly water temperature and salinity measured at a mooring in the harbour approaches, "
    "with station metadata. The data were quality controlled by the submitting laboratory.",
    keywords: tuple[str, ...] = ("temperature", "salinity", "mooring"),
    cruise_id: str = "",
    creator: dict | None = None,
    extra_dataset: str = "",
    extra_root: str = "",
    bbox: tuple[float, float, float, float] = (-124.5, 44.0, -124.0, 44.6),
    begin: str = "2024-03-01",
    end: str = "2024-03-20",
    coverage_xml: str = "",
) -> bytes:
    """An EML 2.2.0 document of ``tables``; ``coverage_xml`` replaces the one-box, one-range coverage."""
    creator = creator or {
        "given": "Vikram",
        "family": "Patel",
        "org": "Coastal Ecology Lab",
        "email": "vetted@quayside.example",
        "orcid": "0000-0002-1825-0097",
    }
    orcid = (
        f'<userId directory="https://orcid.org">https://orcid.org/{creator["orcid"]}</userId>'
        if creator.get("orcid")
        else ""
    )
    kw = "".join(f"<keyword>{escape(k)}</keyword>" for k in keywords)
    cruise = (
        f"<keywordSet><keyword>{escape(cruise_id)}</keyword><keywordThesaurus>R2R cruise</keywordThesaurus></keywordSet>"
        if cruise_id
        else ""
    )
    w, s, e, n = bbox
    default_coverage = f"""<geographicCoverage><geographicDescription>Harbour approaches</geographicDescription><boundingCoordinates>
<westBoundingCoordinate>{w}</westBoundingCoordinate><eastBoundingCoordinate>{e}</eastBoundingCoordinate>
<northBoundingCoordinate>{n}</northBoundingCoordinate><southBoundingCoordinate>{s}</southBoundingCoordinate></boundingCoordinates></geographicCoverage>
<temporalCoverage><rangeOfDates><beginDate><calendarDate>{begin}</calendarDate></beginDate><endDate><calendarDate>{end}</calendarDate></endDate></rangeOfDates></temporalCoverage>"""
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:stmml="http://www.xml-cml.org/schema/stmml-1.2"
 xsi:schemaLocation="https://eml.ecoinformatics.org/eml-2.2.0 https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd"
 packageId="{escape(package_id)}" system="https://quayside.example">
<dataset>
<title>{escape(title)}</title>
<creator id="creator-1"><individualName><givenName>{escape(creator["given"])}</givenName><surName>{escape(creator["family"])}</surName></individualName>
<organizationName>{escape(creator["org"])}</organizationName><electronicMailAddress>{escape(creator["email"])}</electronicMailAddress>{orcid}</creator>
<pubDate>2024-06-01</pubDate>
<abstract><para>{escape(abstract)}</para></abstract>
{f"<keywordSet>{kw}</keywordSet>" if kw else ""}{cruise}
<licensed><licenseName>Creative Commons Attribution 4.0 International</licenseName><url>https://spdx.org/licenses/CC-BY-4.0</url><identifier>CC-BY-4.0</identifier></licensed>
<coverage>{coverage_xml or default_coverage}</coverage>
<contact><references>creator-1</references></contact>
{extra_dataset}{"".join(table_xml(t) for t in tables)}
</dataset>{extra_root}
</eml:eml>
"""
    return doc.encode("utf-8")
