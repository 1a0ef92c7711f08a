"""The quality report, in the spirit of PASTA's: every check a row (id, name, status, expected, found,
explanation), dataset-level checks first, then one block per entity. Errors block archiving; warnings
and info do not. Serialised as XML in PASTA's qualityReport layout, and rendered as an HTML page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.utils import timezone
from lxml import etree

QR_NS = "eml://ecoinformatics.org/qualityReport"
STATUS_ORDER = {"valid": 0, "info": 1, "warn": 2, "error": 3}


@dataclass
class Check:
    id: str
    name: str
    status: str  # valid, info, warn, error
    expected: str = ""
    found: str = ""
    explanation: str = ""
    entity_id: str = ""  # "" for a dataset-level check
    entity_name: str = ""
    quality_type: str = "metadata"  # metadata or data (PASTA's qualityType)

    def as_dict(self) -> dict:
        return asdict(self)


def row_label(data_row: int, header_lines: int) -> str:
    """A table row as the report names it: "line 3 (data row 2)" — the line an editor shows and the row
    counted from the first data row. It assumes one line per row (a quoted line break shifts the line)."""
    return f"line {data_row + header_lines:,} (data row {data_row:,})"


def bad_values_text(examples: list[tuple[int, str]], header_lines: int) -> str:
    """The listed bad values of a column, one per line (``found`` keeps them as text, so the XML report
    keeps PASTA's layout; the HTML page lists the lines)."""
    return "\n".join(f"{row_label(row, header_lines)}: {value!r}" for row, value in examples)


def worst(checks) -> str:
    status = "valid"
    for c in checks:
        s = c["status"] if isinstance(c, dict) else c.status
        if STATUS_ORDER.get(s, 0) > STATUS_ORDER[status]:
            status = s
    return status


def to_xml(package_id: str, checks: list[dict]) -> str:
    """PASTA's qualityReport XML: datasetReport then entityReport blocks of qualityCheck elements."""
    nsmap = {"qr": QR_NS}
    root = etree.Element(f"{{{QR_NS}}}qualityReport", nsmap=nsmap)
    etree.SubElement(root, "creationDate").text = timezone.now().isoformat(timespec="seconds")
    etree.SubElement(root, "packageId").text = package_id
    etree.SubElement(root, "includeSystem").text = "quayside"
    etree.SubElement(root, "status").text = worst(checks)

    def add(parent, c: dict) -> None:
        q = etree.SubElement(
            parent,
            "qualityCheck",
            qualityType=c.get("quality_type", "metadata"),
            system="quayside",
            statusType=c["status"],
        )
        for key in ("id", "name", "expected", "found", "status", "explanation"):
            etree.SubElement(q, "identifier" if key == "id" else key).text = str(c.get(key, ""))

    dataset = etree.SubElement(root, "datasetReport")
    entities: dict[str, etree._Element] = {}
    for c in checks:
        if not c.get("entity_id"):
            add(dataset, c)
            continue
        block = entities.get(c["entity_id"])
        if block is None:
            block = entities[c["entity_id"]] = etree.SubElement(root, "entityReport")
            etree.SubElement(block, "entityName").text = c.get("entity_name", "")
            etree.SubElement(block, "entityId").text = c["entity_id"]
        add(block, c)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode()


HIDDEN = "Not shown: it quotes the data, which is not public yet."


def without_data(report: bytes) -> bytes:
    """The report as those who may not see the data read it (a held revision's metadata is public):
    what a failed or warning data check found quotes the data itself (a header line, bad values), so its
    ``found`` and ``explanation`` are replaced by ``HIDDEN``. Passing checks only restate the EML."""
    from .eml.parser import safe_parser

    root = etree.fromstring(report, safe_parser())
    for check in root.iter("qualityCheck"):
        if check.get("qualityType") == "data" and check.get("statusType") != "valid":
            for name in ("found", "explanation"):
                el = check.find(name)
                if el is not None and (el.text or "").strip():
                    el.text = HIDDEN
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _worst_first(rows: list[dict]) -> list[dict]:
    # Stable: checks of one severity keep the order they ran in.
    return sorted(rows, key=lambda r: -STATUS_ORDER.get(r["status"] or "", 0))


def from_xml(text: str) -> dict:
    """Read a stored report back for the HTML page: {package_id, status, created, counts, dataset,
    entities}, every list of checks worst first (errors, warnings, info, valid) and the entities with
    errors before the others; ``found_lines`` splits a check's listed values."""
    from .eml.parser import safe_parser

    root = etree.fromstring(text.encode(), safe_parser())

    def rows(parent) -> list[dict]:
        out = []
        for q in parent.findall("qualityCheck"):
            out.append(
                {
                    "id": q.findtext("identifier"),
                    "name": q.findtext("name"),
                    "status": q.findtext("status"),
                    "expected": q.findtext("expected"),
                    "found": q.findtext("found"),
                    "found_lines": (q.findtext("found") or "").splitlines(),
                    "explanation": q.findtext("explanation"),
                    "quality_type": q.get("qualityType"),
                }
            )
        return _worst_first(out)

    ds = root.find("datasetReport")
    dataset = rows(ds) if ds is not None else []
    entities = [
        {"name": e.findtext("entityName"), "id": e.findtext("entityId"), "checks": rows(e)}
        for e in root.findall("entityReport")
    ]
    entities.sort(key=lambda e: -STATUS_ORDER.get(worst(e["checks"]), 0))
    every = dataset + [c for e in entities for c in e["checks"]]
    return {
        "package_id": root.findtext("packageId"),
        "status": root.findtext("status"),
        "created": root.findtext("creationDate"),
        "counts": {s: sum(1 for c in every if c["status"] == s) for s in ("error", "warn")},
        "dataset": dataset,
        "entities": entities,
    }
