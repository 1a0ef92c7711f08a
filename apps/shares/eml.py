"""The EML 2.2.0 document a quick share builds from its form: the dataset (title, the sharer as creator and
contact, abstract, licence), a ``dataTable`` per CSV with the attribute list the sharer confirmed, and an
``otherEntity`` per other file. Tables are written by ``apps.packages.eml.build`` (the same writer the demo
and tests use), and the result is checked with the project's validator (XSD + EML's own rules) before it
is submitted.
"""

from __future__ import annotations

import datetime
import functools
import re
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from apps.packages.eml.build import Column, Table, table_xml
from apps.packages.eml.validator import SCHEMA_DIR, validate_eml

from . import infer

# The short list on the share page; the first is the default.
LICENCES = [
    ("CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
    ("CC0-1.0", "Creative Commons Zero v1.0 Universal (public domain)"),
    ("CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0 International"),
    ("ODC-By-1.0", "Open Data Commons Attribution License v1.0"),
]
LICENCE_NAMES = dict(LICENCES)
DEFAULT_LICENCE = LICENCES[0][0]


class InvalidEml(ValueError):
    """The built document does not validate (a bug, or a name the schema cannot hold); the message says why."""


@functools.cache
def standard_units() -> frozenset[str]:
    """EML's standard unit dictionary: ``StandardUnitDictionary`` of eml-unitTypeDefinitions.xsd is a union
    of the ``*UnitType`` enumerations."""
    tree = etree.parse(str(SCHEMA_DIR / "eml-unitTypeDefinitions.xsd"))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    found = set()
    for simple in tree.iter(f"{xs}simpleType"):
        if (simple.get("name") or "").endswith("UnitType"):
            found |= {e.get("value") for e in simple.iter(f"{xs}enumeration")}
    return frozenset(found)


def _unit_id(unit: str) -> str:
    """A custom unit's id (an XML NCName) from what the sharer typed ("mg/L" → "mg_L")."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", unit).strip("_") or "unit"
    return slug if re.match(r"[A-Za-z_]", slug) else f"u_{slug}"


def column_for(attribute: dict) -> Column:
    kind = attribute.get("kind") or infer.TEXT
    unit = (attribute.get("unit") or "").strip()
    if kind in (infer.INT, infer.REAL):
        unit = unit or "dimensionless"
        unit = unit if unit in standard_units() else f"custom:{_unit_id(unit)}"
    missing = [attribute["missing"].strip()] if (attribute.get("missing") or "").strip() else []
    if kind in (infer.DATE, infer.DATETIME):
        return Column(attribute["name"], kind="date", format=infer.DATE_FORMAT[kind], missing=missing)
    return Column(attribute["name"], kind=kind, unit=unit, missing=missing)


def _custom_units(files: list[dict]) -> dict[str, str]:
    units = {}
    for f in files:
        for a in f.get("attributes") or []:
            unit = (a.get("unit") or "").strip()
            if a.get("kind") in (infer.INT, infer.REAL) and unit and unit not in standard_units():
                units[_unit_id(unit)] = unit
    return units


def _other_entity(entity_id: str, f: dict) -> str:
    return (
        f"<otherEntity id={quoteattr(entity_id)}><entityName>{escape(f['name'])}</entityName>"
        f'<physical><objectName>{escape(f["name"])}</objectName><size unit="byte">{f["size"]}</size>'
        f'<authentication method="MD5">{f["md5"]}</authentication>'
        "<dataFormat><externallyDefinedFormat><formatName>"
        f"{escape(f.get('media_type') or 'application/octet-stream')}</formatName></externallyDefinedFormat>"
        "</dataFormat></physical><entityType>data file</entityType></otherEntity>"
    )


def _creator(user) -> str:
    name = (user.name or "").strip() or user.email.split("@")[0]
    given, _, family = name.rpartition(" ")
    given_xml = f"<givenName>{escape(given)}</givenName>" if given else ""
    org = f"<organizationName>{escape(user.affiliation)}</organizationName>" if user.affiliation else ""
    orcid = (
        f'<userId directory="https://orcid.org">https://orcid.org/{escape(user.orcid)}</userId>'
        if getattr(user, "orcid", "")
        else ""
    )
    return (
        f'<creator id="creator-1"><individualName>{given_xml}<surName>{escape(family)}</surName>'
        f"</individualName>{org}<electronicMailAddress>{escape(user.email)}</electronicMailAddress>{orcid}"
        "</creator>"
    )


def build(
    package_id: str,
    *,
    user,
    title: str,
    description: str,
    licence: str,
    files: list[dict],
    keywords: list[str] = (),
    pub_date: datetime.date | None = None,
) -> bytes:
    """The EML of a share. ``files`` are a draft's file entries (name, size, md5, attributes or None,
    records, delimiter); entity ids are ``e1``, ``e2``… in the order given."""
    entities = []
    for i, f in enumerate(files, start=1):
        if f.get("attributes"):
            table = Table(
                entity_id=f"e{i}",
                name=f["name"],
                columns=[column_for(a) for a in f["attributes"]],
                object_name=f["name"],
                size=f["size"],
                md5=f["md5"],
                records=f.get("records"),
                delimiter=f.get("delimiter") or ",",
            )
            entities.append(table_xml(table))
        else:
            entities.append(_other_entity(f"e{i}", f))
    units = _custom_units(files)
    additional = ""
    if units:
        defs = "".join(
            f"<stmml:unit id={quoteattr(uid)} name={quoteattr(name)}/>" for uid, name in units.items()
        )
        additional = f"<additionalMetadata><metadata><stmml:unitList>{defs}</stmml:unitList></metadata></additionalMetadata>"
    kw = "".join(f"<keyword>{escape(k)}</keyword>" for k in keywords if k.strip())
    lic_name = LICENCE_NAMES.get(licence, licence)
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:stmml="http://www.xml-cml.org/schema/stmml-1.2"
 xsi:schemaLocation="https://eml.ecoinformatics.org/eml-2.2.0 https://eml.ecoinformatics.org/eml-2.2.0/eml.xsd"
 packageId={quoteattr(package_id)} system="https://quayside.example/share">
<dataset>
<title>{escape(title)}</title>
{_creator(user)}
<pubDate>{(pub_date or datetime.date.today()).isoformat()}</pubDate>
<abstract><para>{escape(description)}</para></abstract>
{f"<keywordSet>{kw}</keywordSet>" if kw else ""}
<licensed><licenseName>{escape(lic_name)}</licenseName><url>https://spdx.org/licenses/{escape(licence)}</url><identifier>{escape(licence)}</identifier></licensed>
<contact><references>creator-1</references></contact>
{"".join(entities)}
</dataset>{additional}
</eml:eml>
"""
    data = doc.encode("utf-8")
    result = validate_eml(data)
    if not result.valid:
        raise InvalidEml("; ".join(str(f) for f in result.findings))
    return data
