"""Metadata documents for a revision: DataCite 4.5 (via the ``datacite`` library), oai_dc, schema.org
JSON-LD, BibTeX and plain-text citations, and the stored EML.

Every builder reads only the revision, its package (with cruise, vessel, awards) and the package's
other revisions through the related managers, so callers that render many records (OAI-PMH lists)
prefetch those once per page (see ``RECORD_PREFETCH``) and no builder runs a query per record.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from datacite import schema45
from django.conf import settings
from lxml import etree

from apps.packages.models import Revision
from portal.xml import safe_parser

from .. import extensions
from ..models import concept_doi_name, doi_for, version_doi_name

# Revisions that carry a DOI: everything that was ever published (withdrawn/tainted keep theirs).
DOI_STATES = Revision.EVER_PUBLISHED
GONE_STATES = Revision.TOMBSTONED

RECORD_SELECT = ("package__cruise__vessel", "package__owner")
RECORD_PREFETCH = ("entities__blob", "package__revisions", "package__cruise__awards")


def with_record_relations(qs):
    """``qs`` (revisions) with everything the record builders read, fetched with it."""
    return qs.select_related(*RECORD_SELECT).prefetch_related(*RECORD_PREFETCH)


OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
DATACITE_NS = "http://datacite.org/schema/kernel-4"

SPDX_URLS = {
    "cc-by-4.0": "https://creativecommons.org/licenses/by/4.0/legalcode",
    "cc0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/legalcode",
    "cc-by-sa-4.0": "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
    "odc-by-1.0": "https://opendatacommons.org/licenses/by/1-0/",
}


# --- URLs ---------------------------------------------------------------------------------------


def dataset_path(package) -> str:
    return f"/dataset/{package.scope}/{package.identifier}/"


def version_path(revision: Revision) -> str:
    return f"{dataset_path(revision.package)}{revision.number}/"


def absolute(path: str) -> str:
    return f"{settings.SITE_BASE_URL}{path}"


def cruise_url(cruise) -> str:
    return absolute(f"/cruises/{cruise.pk}/")


def doi_url(doi: str) -> str:
    return f"https://doi.org/{doi}"


# --- helpers ------------------------------------------------------------------------------------


def public_versions(revision: Revision) -> list[Revision]:
    """The package's versions that carry a DOI, oldest first (from the prefetch cache when present)."""
    return sorted(
        (r for r in revision.package.revisions.all() if r.state in DOI_STATES), key=lambda r: r.number
    )


def creators_of(revision: Revision) -> list[dict]:
    owner = revision.package.owner
    return normalise_creators(
        revision.creators, getattr(owner, "name", "") or owner.email, getattr(owner, "affiliation", "")
    )


def normalise_creators(raw, owner_name: str, owner_affiliation: str = "") -> list[dict]:
    """Every creator with name/given/family/orcid/affiliation/email keys; the package owner when none is given."""
    creators = [c for c in (raw or []) if isinstance(c, dict) and (c.get("name") or c.get("family"))]
    if not creators:
        creators = [{"name": owner_name, "affiliation": owner_affiliation}]
    normalised = []
    for c in creators:
        full = c.get("name") or " ".join(p for p in (c.get("given"), c.get("family")) if p)
        normalised.append(
            {"given": "", "family": "", "orcid": "", "affiliation": "", "email": "", **c, "name": full}
        )
    return normalised


def display_name(creator: dict) -> str:
    if creator.get("family"):
        return f"{creator['family']}, {creator.get('given', '')}".strip(", ")
    return creator.get("name", "")


def orcid_url(orcid: str) -> str:
    orcid = (orcid or "").strip()
    if not orcid:
        return ""
    return orcid if orcid.startswith("http") else f"https://orcid.org/{orcid}"


def bbox_of(revision: Revision) -> list[float] | None:
    """The revision's own box; without one, its cruise's navigation track's (apps.navigation)."""
    return coverage_bbox(revision.coverage) or track_bbox(revision.package.cruise_id)


def track_bbox(cruise_pk: int | None) -> list[float] | None:
    """The bounding box of a cruise's quality-assessed track (west > east across the antimeridian), or
    None. Looked up by label: navigation sits above publishing in the app map."""
    if cruise_pk is None:
        return None
    from django.apps import apps

    if not apps.is_installed("apps.navigation"):
        return None
    track = (
        apps.get_model("navigation", "Track")
        .objects.filter(cruise_id=cruise_pk, state="done", west__isnull=False)
        .only("west", "south", "east", "north")
        .first()
    )
    return coverage_bbox({"bbox": track.bbox}) if track else None


# Control points a record carries at most (DataCite geoLocationPoints, the OAI-PMH trackline): evenly spread
# over the track, first and last kept. A few dozen draw the line at catalogue scale; the full control points
# are the track products and the OGC API feature.
TRACK_POINTS = 40


def track_line(cruise_pk: int | None) -> list[list[list[float]]] | None:
    """A sample of a cruise's trackline (its control points) as parts of [lon, lat] points — a part per
    side of the antimeridian — at most about TRACK_POINTS points in all; None without a built track."""
    if cruise_pk is None:
        return None
    from django.apps import apps

    if not apps.is_installed("apps.navigation"):
        return None
    control = (
        apps.get_model("navigation", "Track")
        .objects.filter(cruise_id=cruise_pk, state="done", control__isnull=False)
        .values_list("control", flat=True)
        .first()
    )
    return _sampled(control)


def _sampled(control: dict | None) -> list[list[list[float]]] | None:
    if not control:
        return None
    kind, coords = control.get("type"), control.get("coordinates") or []
    parts = [coords] if kind == "LineString" else coords if kind == "MultiLineString" else [[coords]]
    total = sum(len(p) for p in parts) or 1
    out = []
    for part in parts:
        keep = max(2, round(TRACK_POINTS * len(part) / total)) if len(part) > 1 else 1
        if len(part) > keep:
            step = (len(part) - 1) / (keep - 1)
            part = [part[round(i * step)] for i in range(keep)]
        out.append([[round(x, 5), round(y, 5)] for x, y in part])
    return out


def track_wkt(parts: list[list[list[float]]]) -> str:
    """The sampled trackline as WKT (a LINESTRING, or MULTILINESTRING across the antimeridian)."""
    lines = ["(" + ", ".join(f"{x} {y}" for x, y in part) + ")" for part in parts if len(part) > 1]
    if not lines:
        x, y = parts[0][0]
        return f"POINT ({x} {y})"
    return f"LINESTRING {lines[0]}" if len(lines) == 1 else f"MULTILINESTRING ({', '.join(lines)})"


@dataclass(frozen=True)
class CruiseTrack:
    """What a cruise record says of its built track: the box, the sampled trackline, the rating."""

    bbox: list[float]
    line: list[list[list[float]]]
    rating: str


def cruise_tracks(cruise_pks) -> dict[int, CruiseTrack]:
    """The built tracks of these cruises, in one query (a page of OAI-PMH cruise records)."""
    from django.apps import apps

    if not apps.is_installed("apps.navigation"):
        return {}
    rows = apps.get_model("navigation", "Track").objects.filter(
        cruise_id__in=set(cruise_pks), state="done", west__isnull=False, control__isnull=False
    )
    out = {}
    for track in rows.only("cruise_id", "west", "south", "east", "north", "control", "overall"):
        box, line = coverage_bbox({"bbox": track.bbox}), _sampled(track.control)
        if box and line:
            out[track.cruise_id] = CruiseTrack(box, line, track.overall or "")
    return out


def track_certificate_url(cruise) -> str:
    from django.urls import reverse  # by name: navigation sits above publishing

    return settings.SITE_BASE_URL + reverse("navigation:certificate", args=[cruise.pk])


def own_or_track_line(coverage: dict | None, cruise_pk: int | None):
    """The trackline sample when the record's box is its cruise's track's (no box of its own), else None."""
    return None if coverage_bbox(coverage or {}) else track_line(cruise_pk)


def publication_year(revision: Revision) -> int:
    return (revision.published_at or revision.archived_at or revision.created_at).year


def rights_of(revision: Revision) -> dict | None:
    licence = (revision.licence or "").strip()
    if not licence:
        return None
    if licence.startswith("http"):
        return {"rights": licence, "rightsUri": licence}
    url = SPDX_URLS.get(licence.lower())
    rights: dict[str, Any] = {"rights": licence}
    if url:
        rights.update(
            rightsUri=url,
            rightsIdentifier=licence,
            rightsIdentifierScheme="SPDX",
            schemeUri="https://spdx.org/licenses/",
        )
    return rights


# SPDX identifiers are case-sensitive in spdx.org's URLs; people write them in any case.
SPDX_IDS = {key: key.upper().replace("ODC-BY-1.0", "ODC-By-1.0") for key in SPDX_URLS}


def licence_url(revision: Revision) -> str:
    """Where the licence can be read: the URL given, or the SPDX page of an SPDX identifier; "" for free text."""
    licence = (revision.licence or "").strip()
    if licence.startswith(("http://", "https://")):
        return licence
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", licence):
        return f"https://spdx.org/licenses/{SPDX_IDS.get(licence.lower(), licence)}.html"
    return ""


def formats_of(revision: Revision) -> list[str]:
    seen: list[str] = []
    for entity in revision.entities.all():
        fmt = entity.format_name or entity.mime_type
        if fmt and fmt not in seen:
            seen.append(fmt)
    return seen


def entity_size(entity) -> int | None:
    return entity.blob.size if entity.blob_id and entity.blob else entity.declared_size


def total_size(revision: Revision) -> int:
    return sum(entity_size(e) or 0 for e in revision.entities.all())


def _funder_type(identifier: str) -> str:
    if "ror.org" in identifier:
        return "ROR"
    if "10.13039" in identifier:
        return "Crossref Funder ID"
    if "isni" in identifier.lower():
        return "ISNI"
    return "Other"


def _date(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    return str(value)


# --- DataCite 4.5 -------------------------------------------------------------------------------


def datacite_dict(revision: Revision, *, concept: bool = False) -> dict:
    """The DataCite 4.5 JSON for a version (or, with ``concept``, for the dataset's concept DOI)."""
    package = revision.package
    versions = public_versions(revision)
    creators = []
    for c in creators_of(revision):
        person = bool(c.get("family"))
        entry: dict[str, Any] = {
            "name": display_name(c),
            "nameType": "Personal" if person else "Organizational",
        }
        if person:
            entry["familyName"] = c["family"]
            if c.get("given"):
                entry["givenName"] = c["given"]
        if c.get("orcid"):
            entry["nameIdentifiers"] = [
                {
                    "nameIdentifier": orcid_url(c["orcid"]),
                    "nameIdentifierScheme": "ORCID",
                    "schemeUri": "https://orcid.org",
                }
            ]
        if c.get("affiliation"):
            entry["affiliation"] = [{"name": c["affiliation"]}]
        creators.append(entry)

    dates = [
        {"date": _date(revision.created_at), "dateType": "Created"},
        {"date": _date(revision.metadata_modified_at), "dateType": "Updated"},
    ]
    if revision.published_at:
        dates.append({"date": _date(revision.published_at), "dateType": "Issued"})
    coverage = revision.coverage or {}
    if coverage.get("begin") or coverage.get("end"):
        span = "/".join(str(coverage[k]) for k in ("begin", "end") if coverage.get(k))
        dates.append({"date": span, "dateType": "Collected"})
    if revision.state in GONE_STATES and (revision.withdrawn_at or revision.tainted_at):
        dates.append(
            {
                "date": _date(revision.withdrawn_at or revision.tainted_at),
                "dateType": "Withdrawn",
                "dateInformation": revision.withdrawn_reason or "withdrawn",
            }
        )

    related = []
    if concept:
        for v in versions:
            related.append(
                {
                    "relatedIdentifier": version_doi_name(v),
                    "relatedIdentifierType": "DOI",
                    "relationType": "HasVersion",
                }
            )
    else:
        related.append(
            {
                "relatedIdentifier": concept_doi_name(package),
                "relatedIdentifierType": "DOI",
                "relationType": "IsVersionOf",
            }
        )
        earlier = [v for v in versions if v.number < revision.number]
        later = [v for v in versions if v.number > revision.number]
        if earlier:
            related.append(
                {
                    "relatedIdentifier": version_doi_name(earlier[-1]),
                    "relatedIdentifierType": "DOI",
                    "relationType": "IsNewVersionOf",
                }
            )
        if later:
            related.append(
                {
                    "relatedIdentifier": version_doi_name(later[0]),
                    "relatedIdentifierType": "DOI",
                    "relationType": "IsPreviousVersionOf",
                }
            )
    cruise = package.cruise
    if cruise is not None:
        related.append(
            {
                "relatedIdentifier": cruise_url(cruise),
                "relatedIdentifierType": "URL",
                "relationType": "IsPartOf",
                "resourceTypeGeneral": "Event",
            }
        )

    data: dict[str, Any] = {
        "doi": concept_doi_name(package) if concept else version_doi_name(revision),
        "creators": creators,
        "titles": [{"title": revision.title or str(package)}],
        "publisher": {"name": settings.PUBLISHER_NAME},
        "publicationYear": str(publication_year(revision)),
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Data package"},
        "dates": dates,
        "relatedIdentifiers": related,
        "alternateIdentifiers": [
            {
                "alternateIdentifier": str(package) if concept else revision.package_id_text,
                "alternateIdentifierType": "packageId",
            }
        ],
        "descriptions": [],
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    if not concept:
        data["version"] = str(revision.number)
        for contribute in extensions.related:  # e.g. the national archive's accession (distributions)
            extra = contribute(revision) or {}
            data["relatedIdentifiers"] += extra.get("relatedIdentifiers", [])
            data["alternateIdentifiers"] += extra.get("alternateIdentifiers", [])
        extra = copies_for(revision)  # its torrent, magnet link and verified mirrors
        data["relatedIdentifiers"] += extra.get("relatedIdentifiers", [])
        data["alternateIdentifiers"] += extra.get("alternateIdentifiers", [])
    keywords = [k for k in (revision.keywords or []) if isinstance(k, str) and k.strip()]
    if keywords:
        data["subjects"] = [{"subject": k} for k in keywords]
    entities = list(revision.entities.all())
    if entities:
        data["sizes"] = [f"{len(entities)} files", f"{total_size(revision)} bytes"]
    formats = formats_of(revision)
    if formats:
        data["formats"] = formats
    rights = rights_of(revision)
    if rights:
        data["rightsList"] = [rights]
    if revision.abstract:
        data["descriptions"].append({"description": revision.abstract, "descriptionType": "Abstract"})
    if revision.state in GONE_STATES:
        data["descriptions"].append(
            {
                "description": f"This version was withdrawn: {revision.withdrawn_reason or revision.state}",
                "descriptionType": "Other",
            }
        )
    if not data["descriptions"]:
        del data["descriptions"]
    bbox = bbox_of(revision)
    if bbox:
        location: dict[str, Any] = {"geoLocationBox": _geo_box(bbox)}
        if coverage.get("description"):
            location["geoLocationPlace"] = coverage["description"]
        data["geoLocations"] = [location, *_site_locations(coverage.get("sites") or [])]
        # The trackline as points (geoLocationPolygon is for areas; DataCite 4.5 has no line): its control
        # points, sampled, each a geoLocation of its own.
        for part in own_or_track_line(revision.coverage, revision.package.cruise_id) or []:
            data["geoLocations"] += [
                {"geoLocationPoint": {"pointLongitude": x, "pointLatitude": y}} for x, y in part
            ]
    if cruise is not None:
        funding = []
        for award in cruise.awards.all():
            ref: dict[str, Any] = {"funderName": award.funder, "awardNumber": award.number}
            if award.funder_identifier:
                ref["funderIdentifier"] = award.funder_identifier
                ref["funderIdentifierType"] = _funder_type(award.funder_identifier)
            if award.title:
                ref["awardTitle"] = award.title
            funding.append(ref)
        if funding:
            data["fundingReferences"] = funding
    return data


def copies_for(revision: Revision) -> dict:
    """Where else the version's files can be had (``extensions.copies``, DataCite shapes): what an OAI-PMH
    list fetched for all its records at once (``revision._oai_copies``), else asked for this version alone.
    Only a published version has any."""
    known = getattr(revision, "_oai_copies", None)
    if known is not None:
        return known
    if revision.state != Revision.State.PUBLISHED:
        return {}
    return extensions.copies_of([revision.pk]).get(revision.pk, {})


def dc_copies(extra: dict) -> tuple[list[str], list[str]]:
    """A version's copies (``extensions.copies``, DataCite shapes) in Simple Dublin Core, as (identifiers,
    relations). An alternateIdentifier (the magnet link) is a dc:identifier, as in DataCite's own mapping to
    DC. A relatedIdentifier of the same resource elsewhere (``IsIdenticalTo``: a verified mirror) is a
    dc:identifier too — where else this very resource is, not another resource it relates to; DataCite's
    mapping makes every relatedIdentifier a dc:relation, which would leave a harvester of oai_dc unable to
    tell a mirror from a cruise page. Any other (the ``.torrent``, ``HasMetadata``) is a dc:relation. A DOI
    is written as its doi.org URL, like the record's own."""
    identifiers = [a["alternateIdentifier"] for a in extra.get("alternateIdentifiers", ())]
    relations = []
    for r in extra.get("relatedIdentifiers", ()):
        value = r["relatedIdentifier"]
        if r["relatedIdentifierType"] == "DOI":
            value = doi_url(value)
        (identifiers if r["relationType"] == "IsIdenticalTo" else relations).append(value)
    return identifiers, relations


def datacite_element(revision: Revision, *, concept: bool = False) -> etree._Element:
    return schema45.dump_etree(datacite_dict(revision, concept=concept))


def datacite_xml(revision: Revision, *, concept: bool = False) -> bytes:
    return etree.tostring(
        datacite_element(revision, concept=concept), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )


# --- oai_dc -------------------------------------------------------------------------------------


@dataclass
class DcView:
    """What oai_dc needs, filled from a Revision or straight from a values() row (OAI-PMH lists)."""

    scope: str
    identifier: int
    number: int
    title: str
    abstract: str
    keywords: list
    creators: list[dict]
    published_at: datetime.datetime | None
    formats: list[str]
    cruise_pk: int | None
    coverage: dict
    licence: str
    copies: dict = field(default_factory=dict)  # ``copies_for``: DataCite shapes, written by ``dc_copies``

    @property
    def package_id_text(self) -> str:
        return f"{self.scope}.{self.identifier}.{self.number}"


def dc_view(revision: Revision) -> DcView:
    package = revision.package
    return DcView(
        package.scope,
        package.identifier,
        revision.number,
        revision.title,
        revision.abstract,
        revision.keywords,
        creators_of(revision),
        revision.published_at,
        formats_of(revision),
        package.cruise_id,
        revision.coverage or {},
        revision.licence,
        copies_for(revision),
    )


# Sites a DataCite record lists one by one after the union box (a record of a thousand stations keeps the box).
MAX_SITE_LOCATIONS = 100


def _geo_box(bbox: list[float]) -> dict:
    w, s, e, n = bbox
    return {
        "westBoundLongitude": w,
        "southBoundLatitude": s,
        "eastBoundLongitude": e,
        "northBoundLatitude": n,
    }


def _site_locations(sites: list[dict]) -> list[dict]:
    """Each EML site as a geoLocation of its own: a polygon (its G-ring, closed as DataCite asks), a point,
    or a box; with its description as the place."""
    out = []
    for site in sites[:MAX_SITE_LOCATIONS]:
        box = coverage_bbox(site)
        if box is None:
            continue
        w, s, e, n = box
        ring = site.get("polygon")
        if ring and len(ring) >= 3:
            closed = ring if ring[0] == ring[-1] else [*ring, ring[0]]
            where: dict[str, Any] = {
                "geoLocationPolygon": [
                    {"polygonPoint": {"pointLongitude": x, "pointLatitude": y}} for x, y in closed
                ]
            }
        elif w == e and s == n:
            where = {"geoLocationPoint": {"pointLongitude": w, "pointLatitude": s}}
        else:
            where = {"geoLocationBox": _geo_box(box)}
        if site.get("description"):
            where["geoLocationPlace"] = site["description"]
        out.append(where)
    return out


def coverage_bbox(coverage: dict) -> list[float] | None:
    """``coverage["bbox"]`` (a revision's coverage, or one of its sites) as [w, s, e, n] floats, or None
    when it is missing or out of range."""
    bbox = (coverage or {}).get("bbox")
    try:
        w, s, e, n = (float(v) for v in bbox)
    except (TypeError, ValueError):
        return None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90):
        return None
    return [w, s, e, n]


def oai_dc_fields(v: DcView) -> list[tuple[str, str]]:
    """The Simple Dublin Core elements of ``v``, in order: (local name in DC_NS, text). Empty values are left
    out. ``oai_dc_element`` and ``oai_dc_bytes`` both write these."""
    fields: list[tuple[str, str]] = []

    def add(tag: str, text) -> None:
        if text:
            fields.append((tag, str(text)))

    add("title", v.title or v.package_id_text)
    for c in v.creators:
        add("creator", display_name(c))
    for k in v.keywords or []:
        add("subject", k)
    add("description", v.abstract)
    add("publisher", settings.PUBLISHER_NAME)
    if v.published_at:
        add("date", v.published_at.date().isoformat())
    add("type", "Dataset")
    for fmt in v.formats:
        add("format", fmt)
    add("identifier", doi_url(doi_for(v.scope, v.identifier, v.number)))
    add("identifier", f"{settings.SITE_BASE_URL}/dataset/{v.scope}/{v.identifier}/{v.number}/")
    copy_ids, copy_relations = dc_copies(v.copies)
    for value in copy_ids:
        add("identifier", value)
    add("relation", doi_url(doi_for(v.scope, v.identifier)))
    if v.cruise_pk is not None:
        add("relation", absolute(f"/cruises/{v.cruise_pk}/"))
    for value in copy_relations:
        add("relation", value)
    bbox = coverage_bbox(v.coverage) or track_bbox(v.cruise_pk)
    if bbox:
        add("coverage", "westlimit={}; southlimit={}; eastlimit={}; northlimit={}".format(*bbox))
        line = own_or_track_line(v.coverage, v.cruise_pk)
        if line:
            add("coverage", f"trackline (WKT, WGS 84): {track_wkt(line)}")
    coverage = v.coverage or {}
    if coverage.get("begin") or coverage.get("end"):
        add("coverage", f"{coverage.get('begin', '')}/{coverage.get('end', '')}")
    add("rights", v.licence)
    return fields


def _oai_dc_root() -> etree._Element:
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
    root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    return root


def oai_dc_element(source: Revision | DcView) -> etree._Element:
    """Simple Dublin Core; cheap to build because OAI-PMH harvests render thousands per second."""
    v = dc_view(source) if isinstance(source, Revision) else source
    root = _oai_dc_root()
    sub = etree.SubElement
    for tag, text in oai_dc_fields(v):
        sub(root, f"{{{DC_NS}}}{tag}").text = text
    return root


# Text lxml writes as it is, apart from & < > (escaped below): XML characters but the carriage return
# (which lxml writes as &#13;). Anything else takes the lxml path, which escapes or refuses it as it always did.
_PLAIN_XML_TEXT = re.compile(r"[\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


@functools.cache
def _oai_dc_frame() -> tuple[bytes, bytes]:
    """The bytes lxml writes around the elements of an oai_dc record: written by lxml once, around a marker."""
    root = _oai_dc_root()
    etree.SubElement(root, f"{{{DC_NS}}}title").text = "marker"
    written = etree.tostring(root, encoding="UTF-8")
    head, tail = written.split(b"<dc:title>marker</dc:title>")
    return head, tail


def oai_dc_bytes(v: DcView) -> bytes:
    """``etree.tostring(oai_dc_element(v), encoding="UTF-8")``, the same bytes, written as text: the OAI-PMH
    provider writes one per record of a ListRecords page, and building and serialising the lxml tree was a
    third of its CPU a record (bench/bench_harvest.py). The frame comes from lxml itself; a value lxml would
    escape differently (a carriage return) or refuse (control characters) goes through the lxml path."""
    fields = oai_dc_fields(v)
    plain = _PLAIN_XML_TEXT.fullmatch
    if not all(plain(text) for _, text in fields):
        return etree.tostring(oai_dc_element(v), encoding="UTF-8")
    head, tail = _oai_dc_frame()
    body = "".join(
        f"<dc:{tag}>{text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}</dc:{tag}>"
        for tag, text in fields
    )
    return head + body.encode() + tail


# --- schema.org JSON-LD -------------------------------------------------------------------------


def jsonld(revision: Revision, *, download_url=None) -> dict:
    package = revision.package
    doi = version_doi_name(revision)
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "Dataset",
        "@id": doi_url(doi),
        "identifier": [doi_url(doi), revision.package_id_text],
        "name": revision.title or revision.package_id_text,
        "description": revision.abstract or revision.title or revision.package_id_text,
        "url": absolute(version_path(revision)),
        "version": str(revision.number),
        "isPartOf": {
            "@type": "Dataset",
            "@id": doi_url(concept_doi_name(package)),
            "url": absolute(dataset_path(package)),
        },
        "creator": [],
        "publisher": {"@type": "Organization", "name": settings.PUBLISHER_NAME},
        "includedInDataCatalog": {
            "@type": "DataCatalog",
            "name": settings.SITE_NAME,
            "url": settings.SITE_BASE_URL,
        },
        "dateModified": revision.metadata_modified_at.isoformat(),
        "isAccessibleForFree": True,
    }
    for c in creators_of(revision):
        person = bool(c.get("family"))
        entry: dict[str, Any] = {
            "@type": "Person" if person else "Organization",
            "name": c.get("name") or display_name(c),
        }
        if person:
            entry.update(familyName=c["family"], givenName=c.get("given", ""))
        if c.get("orcid"):
            entry["@id"] = orcid_url(c["orcid"])
        if c.get("affiliation"):
            entry["affiliation"] = {"@type": "Organization", "name": c["affiliation"]}
        data["creator"].append(entry)
    if revision.keywords:
        data["keywords"] = list(revision.keywords)
    rights = rights_of(revision)
    if rights:
        data["license"] = rights.get("rightsUri") or rights["rights"]
    if revision.published_at:
        data["datePublished"] = revision.published_at.date().isoformat()
    bbox = bbox_of(revision)
    if bbox:
        w, s, e, n = bbox
        data["spatialCoverage"] = {"@type": "Place", "geo": {"@type": "GeoShape", "box": f"{s} {w} {n} {e}"}}
        line = own_or_track_line(revision.coverage, revision.package.cruise_id)
        if line:  # schema.org GeoShape "line": "lat lon lat lon …" (the longest part across the antimeridian)
            longest = max(line, key=len)
            data["spatialCoverage"]["geo"] = [
                data["spatialCoverage"]["geo"],
                {"@type": "GeoShape", "line": " ".join(f"{y} {x}" for x, y in longest)},
            ]
    coverage = revision.coverage or {}
    if coverage.get("begin") or coverage.get("end"):
        data["temporalCoverage"] = f"{coverage.get('begin') or '..'}/{coverage.get('end') or '..'}"
    if revision.state in GONE_STATES:
        data["creativeWorkStatus"] = "Withdrawn"
    elif revision.state == Revision.State.PUBLISHED and download_url is not None:
        data["distribution"] = [
            {
                "@type": "DataDownload",
                "name": e.object_name or e.name,
                "contentUrl": absolute(download_url(e)),
                "encodingFormat": e.mime_type or e.format_name,
                "contentSize": f"{entity_size(e) or 0} B",
                # schema.org's sha256 (MediaObject): lets a mirror (apps.federation) verify what it fetched.
                **({"sha256": e.blob.sha256} if e.blob_id else {}),
            }
            for e in revision.entities.all()
        ]
    return data


# --- citations ----------------------------------------------------------------------------------


def _initials(given: str) -> str:
    return " ".join(f"{p[0]}." for p in re.split(r"[\s-]+", given) if p)


def citations(revision: Revision) -> dict[str, str]:
    creators = creators_of(revision)
    year = publication_year(revision)
    title = revision.title or revision.package_id_text
    doi = doi_url(version_doi_name(revision))
    publisher = settings.PUBLISHER_NAME
    apa_names = [
        f"{c['family']}, {_initials(c.get('given', ''))}".strip(", ")
        if c.get("family")
        else c.get("name", "")
        for c in creators
    ]
    apa = (", ".join(apa_names[:-1]) + ", & " + apa_names[-1]) if len(apa_names) > 1 else apa_names[0]
    return {
        "DataCite": f"{'; '.join(display_name(c) for c in creators)} ({year}): {title}. Version {revision.number}. {publisher}. Dataset. {doi}",
        "APA": f"{apa} ({year}). {title} (Version {revision.number}) [Data set]. {publisher}. {doi}",
        "Chicago": f"{'; '.join(display_name(c) for c in creators)}. {year}. \u201c{title}.\u201d Version {revision.number}. {publisher}. {doi}.",
    }


def _bibtex_escape(text: str) -> str:
    return re.sub(r"([{}&%$#_])", r"\\\1", text)


def bibtex(revision: Revision) -> str:
    creators = creators_of(revision)
    authors = " and ".join(
        _bibtex_escape(f"{c['family']}, {c.get('given', '')}".strip(", "))
        if c.get("family")
        else "{" + _bibtex_escape(c.get("name", "")) + "}"
        for c in creators
    )
    key = re.sub(r"[^A-Za-z0-9]", "_", revision.package_id_text)
    fields = {
        "author": authors,
        "title": "{" + _bibtex_escape(revision.title or revision.package_id_text) + "}",
        "year": str(publication_year(revision)),
        "publisher": _bibtex_escape(settings.PUBLISHER_NAME),
        "version": str(revision.number),
        "doi": version_doi_name(revision),
        "url": doi_url(version_doi_name(revision)),
    }
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields.items())
    return f"@misc{{{key},\n{body}\n}}\n"


# --- page metadata for Google Scholar and link previews -----------------------------------------


def scholar_meta(revision: Revision, *, doi: str = "") -> list[tuple[str, str]]:
    """Google Scholar's Highwire Press tags (``<meta name=... content=...>``): one ``citation_author``
    per creator, "Family, Given" as Scholar's inclusion guidelines ask; ``doi`` when the version has one."""
    when = revision.published_at or revision.archived_at or revision.created_at
    tags = [("citation_title", revision.title or revision.package_id_text)]
    tags += [("citation_author", display_name(c)) for c in creators_of(revision)]
    tags += [
        ("citation_publication_date", when.strftime("%Y/%m/%d")),
        ("citation_publisher", settings.PUBLISHER_NAME),
    ]
    if doi:
        tags.append(("citation_doi", doi))
    tags += [("citation_keywords", str(k)) for k in revision.keywords or [] if str(k).strip()]
    return tags


def open_graph(revision: Revision, *, url: str) -> list[tuple[str, str]]:
    """Open Graph tags (``<meta property=... content=...>``) for link previews."""
    abstract = " ".join((revision.abstract or "").split())
    if len(abstract) > 300:
        abstract = abstract[:297].rsplit(" ", 1)[0] + "…"
    tags = [
        ("og:type", "website"),
        ("og:site_name", settings.SITE_NAME),
        ("og:title", revision.title or revision.package_id_text),
        ("og:url", url),
    ]
    if abstract:
        tags.append(("og:description", abstract))
    return tags


# --- EML ----------------------------------------------------------------------------------------


def eml_bytes(revision: Revision) -> bytes | None:
    if revision.eml_blob_id is None:
        return None
    from apps.storage.services import open_blob

    with open_blob(revision.eml_blob) as fh:
        return fh.read()


def eml_element(revision: Revision) -> etree._Element | None:
    data = eml_bytes(revision)
    if data is None:
        return None
    return etree.fromstring(data, safe_parser())


def jsonld_script(revision: Revision, **kwargs) -> str:
    """JSON-LD safe to put inside <script>: '<' escaped so no '</script>' can close it early."""
    return json.dumps(jsonld(revision, **kwargs), ensure_ascii=False).replace("<", "\\u003c")
