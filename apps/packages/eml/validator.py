"""EML 2.2.0 validation: the official XSDs, then EML's own rules beyond the schema.

The rules are those of EML's reference validator (NCEAS ``EMLValidator.java`` in the EML repository),
rule for rule: where it accepts a document Quayside accepts it, and where it refuses one Quayside refuses
it, with a message that says what to fix. EDI's ``emlvp`` was the starting point and disagrees in places
(it demands an ``id`` on ``metadata`` for an annotation in ``additionalMetadata``, where the subject is
what ``describes`` names); the reference wins. See ``check_rules`` for the list.
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


def _written(el) -> str:
    """The element's name as written in the document (``prefix:local`` or ``local``).

    EML's reference validator (NCEAS ``EMLValidator``) parses without namespaces and matches names as
    written: ``//annotation`` is an unprefixed ``annotation``, whatever its namespace, and
    ``stmml:annotation`` is not one. Matching the same way keeps Quayside's verdict equal to it."""
    return f"{el.prefix}:{_local(el)}" if el.prefix else _local(el)


def _first_text(el) -> str:
    """The value of the element's first text node, unstripped, as the reference validator reads it."""
    return el.text or ""


def check_rules(root) -> list[Finding]:
    """EML's rules beyond the schema, rule for rule as EML's reference validator checks them
    (``EMLValidator.validate`` in the EML repository). ``root`` is the ``eml:eml`` element.

    - every ``id`` attribute, on any element in any namespace (stmml unit ids too), and every
      ``packageId``, is unique;
    - ``references`` elements, ``annotation/@references`` and ``describes`` name an existing id — and
      the ``packageId`` counts as one (an annotation may describe the whole package);
    - an element with an ``annotation`` child has an ``id``, unless one of those annotations carries
      ``references`` or the element's parent has a ``describes`` child (annotations in
      ``additionalMetadata/metadata``);
    - an element with a ``references`` child has no ``id``;
    - every ``unit/customUnit`` is defined by a ``unit`` in a ``unitList`` anywhere in the document,
      in whichever STMML namespace version (``stmml-1.1``, ``stmml-1.2``) or none.
    """
    findings: list[Finding] = []
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    id_elements = [el for el in elements if "id" in el.attrib]
    package_ids = [el for el in elements if "packageId" in el.attrib]
    counts = Counter([el.get("id") for el in id_elements] + [el.get("packageId") for el in package_ids])
    for value, n in sorted(counts.items()):
        if n > 1:
            holders = [el for el in id_elements if el.get("id") == value]
            holders += [el for el in package_ids if el.get("packageId") == value]
            lines = sorted(str(el.sourceline) for el in holders)
            findings.append(
                Finding(
                    "duplicate-id",
                    f'The id "{value}" is used {n} times (lines {", ".join(lines)}); ids (and the '
                    "packageId) must be unique within the document.",
                    int(lines[1]),
                )
            )
    ids = set(counts)

    def dangling(rule: str, what: str, target: str, line: int | None) -> None:
        hint = " (mind the spaces around it)" if target.strip() != target and target.strip() in ids else ""
        findings.append(Finding(rule, f"{what} points at no element with that id{hint}.", line))

    for el in elements:
        name = _written(el)
        if name == "references":
            target = _first_text(el)
            if target not in ids:
                dangling("dangling-reference", f"<references>{target}</references>", target, el.sourceline)
        elif name == "describes":
            target = _first_text(el)
            if target not in ids:
                dangling("dangling-describes", f"<describes>{target}</describes>", target, el.sourceline)
        elif name == "annotation" and "references" in el.attrib:
            target = el.get("references")
            if target not in ids:
                dangling("annotation-subject", f'<annotation references="{target}">', target, el.sourceline)

    for el in elements:
        children = [c for c in el if isinstance(c.tag, str)]
        annotations = [c for c in children if _written(c) == "annotation"]
        if annotations and "id" not in el.attrib and not any("references" in a.attrib for a in annotations):
            parent = el.getparent()
            if parent is None or not any(
                _written(c) == "describes" for c in parent if isinstance(c.tag, str)
            ):
                pname = _written(el)
                findings.append(
                    Finding(
                        "annotation-subject",
                        f"An <annotation> inside <{pname}> has no subject: give the <{pname}> element an id "
                        "attribute, give the annotation a references attribute, or (in additionalMetadata) "
                        "name the subject with <describes>.",
                        annotations[0].sourceline,
                    )
                )
        if "id" in el.attrib and any(_written(c) == "references" for c in children):
            findings.append(
                Finding(
                    "id-with-references",
                    f'<{_written(el)} id="{el.get("id")}"> has a '
                    "<references> child; an element that references another must not carry an id.",
                    el.sourceline,
                )
            )

    defined_units = {
        unit.get("id")
        for unit_list in elements
        if _local(unit_list) == "unitList"
        for unit in unit_list
        if isinstance(unit.tag, str) and _local(unit) == "unit" and unit.get("id") is not None
    }
    for cu in elements:
        parent = cu.getparent()
        if _written(cu) == "customUnit" and parent is not None and _written(parent) == "unit":
            name = _first_text(cu)
            if name not in defined_units:
                findings.append(
                    Finding(
                        "undefined-unit",
                        f'The custom unit "{name}" is not defined by a <unit id="{name.strip()}"> in a '
                        "<unitList> (usually in additionalMetadata).",
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
