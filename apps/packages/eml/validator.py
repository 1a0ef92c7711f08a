"""EML 2.2.0 validation: the official XSDs, then EML's own rules beyond the schema.

The rules follow the EML 2.2.0 specification (sections on identifiers, references, semantic annotation
and units). EDI's ``emlvp`` parser was the starting point; where it differs from the specification
the specification wins:

- ``annotation`` inside ``additionalMetadata`` takes its subject from the ``describes`` elements of that
  ``additionalMetadata`` (emlvp wrongly demands an ``id`` on the ``metadata`` parent);
- the ``references`` attribute of a top-level ``annotations/annotation`` is required and must point at an
  existing id;
- every ``describes`` must point at an existing id (emlvp does not check it);
- stmml's own ``annotation`` element (another namespace) is not an EML annotation.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from .parser import EmlParseError, parse_eml, safe_parser

EML_220 = "https://eml.ecoinformatics.org/eml-2.2.0"
SUPPORTED = {EML_220: "2.2.0"}
KNOWN_OLD = {
    "eml://ecoinformatics.org/eml-2.1.1": "2.1.1",
    "eml://ecoinformatics.org/eml-2.1.0": "2.1.0",
    "eml://ecoinformatics.org/eml-2.0.1": "2.0.1",
}
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "eml-2.2.0"
STMML_NS = "http://www.xml-cml.org/schema/stmml-1.2"


@dataclass
class Finding:
    rule: str  # machine name: schema, duplicate-id, dangling-reference, …
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"[{self.rule}] {where}{self.message}"


@dataclass
class ValidationResult:
    version: str = ""
    findings: list[Finding] = field(default_factory=list)
    tree: etree._ElementTree | None = None

    @property
    def valid(self) -> bool:
        return not self.findings

    @property
    def reasons(self) -> list[str]:
        return [str(f) for f in self.findings]


@functools.lru_cache(maxsize=1)
def eml_schema() -> etree.XMLSchema:
    """The official EML 2.2.0 XSDs (vendored from the EML repository; all imports are local files)."""
    doc = etree.parse(str(SCHEMA_DIR / "eml.xsd"), safe_parser())
    return etree.XMLSchema(doc)


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el) -> str:
    return etree.QName(el).namespace or "" if isinstance(el.tag, str) else ""


def check_rules(root) -> list[Finding]:
    """EML's rules beyond the schema. ``root`` is the ``eml:eml`` element."""
    findings: list[Finding] = []
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    # stmml unit definitions use their own id attributes; EML ids are on EML (unqualified) elements.
    id_elements = [el for el in elements if "id" in el.attrib and _ns(el) in ("", EML_220)]
    counts = Counter(el.get("id") for el in id_elements)
    for value, n in sorted(counts.items()):
        if n > 1:
            lines = [str(el.sourceline) for el in id_elements if el.get("id") == value]
            findings.append(
                Finding(
                    "duplicate-id",
                    f'The id "{value}" is used {n} times (lines {", ".join(lines)}); '
                    "ids must be unique within the document.",
                    int(lines[1]),
                )
            )
    ids = set(counts)

    for ref in (el for el in elements if _local(el) == "references" and _ns(el) == ""):
        target = (ref.text or "").strip()
        if target not in ids:
            findings.append(
                Finding(
                    "dangling-reference",
                    f"<references>{target}</references> points at no element with that id.",
                    ref.sourceline,
                )
            )
        parent = ref.getparent()
        if parent is not None and "id" in parent.attrib:
            findings.append(
                Finding(
                    "id-with-references",
                    f'<{_local(parent)} id="{parent.get("id")}"> has a '
                    "<references> child; an element that references another must not carry an id.",
                    parent.sourceline,
                )
            )

    for ann in (el for el in elements if _local(el) == "annotation" and _ns(el) == ""):
        parent = ann.getparent()
        pname = _local(parent) if parent is not None else ""
        if pname == "annotations":
            target = ann.get("references")
            if not target:
                findings.append(
                    Finding(
                        "annotation-subject",
                        "An <annotation> in <annotations> has no references attribute naming its subject.",
                        ann.sourceline,
                    )
                )
            elif target not in ids:
                findings.append(
                    Finding(
                        "annotation-subject",
                        f'<annotation references="{target}"> points at no element with that id.',
                        ann.sourceline,
                    )
                )
            continue
        am = next(
            (a for a in ann.iterancestors() if _local(a) == "additionalMetadata" and _ns(a) == ""), None
        )
        if am is not None:
            if not [d for d in am if _local(d) == "describes"]:
                findings.append(
                    Finding(
                        "annotation-subject",
                        "An <annotation> in <additionalMetadata> needs a <describes> naming its subject.",
                        ann.sourceline,
                    )
                )
            continue
        if parent is None or "id" not in parent.attrib:
            findings.append(
                Finding(
                    "annotation-subject",
                    f"An <annotation> inside <{pname}> has no subject: give "
                    f"the <{pname}> element an id attribute.",
                    ann.sourceline,
                )
            )

    for desc in (el for el in elements if _local(el) == "describes" and _ns(el) == ""):
        target = (desc.text or "").strip()
        if target not in ids:
            findings.append(
                Finding(
                    "dangling-describes",
                    f"<describes>{target}</describes> points at no element with that id.",
                    desc.sourceline,
                )
            )

    defined_units = {
        u.get("id")
        for am in root.findall("additionalMetadata")
        for u in am.iter(f"{{{STMML_NS}}}unit", "unit")
        if u.get("id") and any(_local(a) == "unitList" for a in u.iterancestors())
    }
    for cu in (el for el in elements if _local(el) == "customUnit"):
        name = (cu.text or "").strip()
        if name not in defined_units:
            findings.append(
                Finding(
                    "undefined-unit",
                    f'The custom unit "{name}" is not defined in a <unitList> in additionalMetadata.',
                    cu.sourceline,
                )
            )
    return findings


def validate_eml(data: bytes) -> ValidationResult:
    """Validate EML bytes against the specification alone (no repository policy)."""
    result = ValidationResult()
    try:
        tree = parse_eml(data)
    except EmlParseError as exc:
        result.findings.append(Finding("xml", str(exc)))
        return result
    root = tree.getroot()
    ns = _ns(root)
    if _local(root) != "eml" or (ns not in SUPPORTED and ns not in KNOWN_OLD):
        result.findings.append(
            Finding(
                "version",
                f"The root element is {{{ns}}}{_local(root)}, not an EML document; "
                f"Quayside accepts EML 2.2.0 ({EML_220}).",
            )
        )
        return result
    if ns in KNOWN_OLD:
        result.version = KNOWN_OLD[ns]
        result.findings.append(
            Finding(
                "version",
                f"This is EML {KNOWN_OLD[ns]}; Quayside accepts EML 2.2.0 only "
                f"(namespace {EML_220}). Convert the document to 2.2.0.",
            )
        )
        return result
    result.version = SUPPORTED[ns]
    result.tree = tree
    schema = eml_schema()
    if not schema.validate(tree):
        for err in schema.error_log:
            result.findings.append(Finding("schema", err.message, err.line))
        return result  # the rules below assume a schema-valid structure
    result.findings.extend(check_rules(root))
    return result
