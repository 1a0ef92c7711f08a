"""One STAC item per dataset version, read from the database in bulk.

``iter_records(batch_size)`` streams ``Record``s (everything an item says) in batches straight from
``values_list`` queries — no model instances, no pystac objects — in bounded memory (figures:
docs/performance.md, bench/bench_catalog.py). ``parquet.write_catalog`` turns a batch into Arrow columns; ``to_item`` turns one record
into STAC JSON for the API-lite pages. Both read the same records, so the two never disagree.

Rows: every ``published`` version, plus a *tombstone* row for every withdrawn or tainted one (no assets,
``quayside:status`` says which): smart nodes learn from the catalog alone that they must stop serving or
delete a copy (docs/catalog.md). Held versions are never rows.

Build manifests: an asset that has one (a Parquet alternate, the navigation trackline) names the key of
the manifest's asset in ``quayside:manifest``, as ``quayside:alternate_of`` names the table an alternate
renders. A version of a cruise's dataset carries the cruise's control-point trackline (``navigation``)
and its manifest (``navigation-manifest``) once the cruise's navigation is built.
"""

from __future__ import annotations

import datetime
import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.db.models import Count, Max

from apps.artifacts.manifests import manifest_path
from apps.packages.models import Entity, Revision
from apps.publishing.files import TREE_KINDS, ArtifactRow, EntityRow, layout, with_derived

from . import geometry

STAC_VERSION = "1.1.0"
STAC_EXTENSIONS = [
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "https://stac-extensions.github.io/version/v1.2.0/schema.json",
    "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
]
PUBLISHED = str(Revision.State.PUBLISHED)  # a plain str: compared a million times a build
ROW_STATES = (Revision.State.PUBLISHED, *Revision.TOMBSTONED)
SHA2_256_MULTIHASH_PREFIX = "1220"  # multihash: code 0x12 (sha2-256), length 0x20


@dataclass(slots=True)
class Record:
    id: str
    collection: str
    pk: int
    status: str
    geometry: object  # a shapely geometry
    geometry_source: str
    datetime: datetime.datetime | None
    start_datetime: datetime.datetime | None
    end_datetime: datetime.datetime | None
    created: datetime.datetime | None
    updated: datetime.datetime | None
    title: str
    description: str
    keywords: list[str]
    license: str
    version: str
    doi: str
    deprecated: bool
    verified_mirrors: int = 0
    seeders: int = 0
    infohash: str = ""  # the v1 torrent's (apps.swarm), "" when it has none
    links: list[tuple[str, str, str, str]] = field(default_factory=list)  # rel, href, type, title
    # key, href, type, title, roles, file:size, file:checksum, quayside:alternate_of (a Parquet alternate:
    # the key of the table asset it renders), quayside:manifest (the key of its build manifest's asset)
    assets: list[tuple[str, str, str, str, list[str], int | None, str | None, str | None, str | None]] = (
        field(default_factory=list)
    )


def catalog_url(path: str = "") -> str:
    return f"{settings.SITE_BASE_URL}/catalog/{path}"


def collection_url(scope: str) -> str:
    return catalog_url(f"collections/{scope}")


def queryset():
    """The versions that are rows, in package then number order (neighbours are next to each other)."""
    return Revision.objects.filter(state__in=ROW_STATES).order_by("package_id", "number")


_FIELDS = (
    "pk",
    "package_id",
    "package__scope",
    "package__identifier",
    "number",
    "state",
    "title",
    "abstract",
    "keywords_text",
    "coverage_text",
    "licence",
    "doi",
    "published_at",
    "archived_at",
    "metadata_modified_at",
    "eml_blob_id",
    "package__cruise_id",
)


def _annotated(qs):
    """JSON columns as their text: a batch's documents are parsed in one ``json.loads`` (a million rows)."""
    from django.db.models import TextField
    from django.db.models.functions import Cast

    return qs.annotate(
        keywords_text=Cast("keywords", TextField()), coverage_text=Cast("coverage", TextField())
    )


def _parse_json_columns(rows: list[tuple]) -> list[tuple]:
    import json

    keywords = json.loads("[" + ",".join(r[8] or "[]" for r in rows) + "]")
    coverages = json.loads("[" + ",".join(r[9] or "{}" for r in rows) + "]")
    return [(*r[:8], k, c, *r[10:]) for r, k, c in zip(rows, keywords, coverages, strict=True)]


def asset_width(packages: list[int] | None = None) -> tuple[int, int]:
    """The most files any published version has (entity files and derived files: its ``version_files``),
    and the most mirrors: the width of the ``assets`` struct (STAC GeoParquet stores assets as a struct
    whose fields are the asset keys: ``file-1`` … ``file-N``). ``packages``: of those packages only."""
    from django.db.models import IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from apps.artifacts.models import Artifact

    def count_of(qs):
        return Coalesce(
            Subquery(qs.order_by().values("revision_id").annotate(n=Count("pk")).values("n")[:1]),
            0,
            output_field=IntegerField(),
        )

    versions = Revision.objects.filter(state=Revision.State.PUBLISHED)
    if packages is not None:
        versions = versions.filter(package_id__in=packages)
    files = versions.annotate(
        n=count_of(Entity.objects.filter(revision=OuterRef("pk"), blob__isnull=False))
        + count_of(Artifact.objects.filter(revision=OuterRef("pk"), kind__in=TREE_KINDS))
    ).aggregate(m=Max("n"))["m"]
    from .models import Mirror

    mirrors = (
        Mirror.objects.filter(revision__in=versions)
        .order_by()
        .values("revision_id")
        .annotate(n=Count("pk"))
        .aggregate(m=Max("n"))["m"]
    )
    return files or 0, mirrors or 0


@functools.lru_cache(maxsize=4096)
def _when(text: str) -> datetime.datetime | None:
    """A coverage date (``2023-07-01`` or an ISO 8601 date-time) as UTC; None when unreadable."""
    try:
        value = datetime.datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


@functools.lru_cache(maxsize=256)
def licence_url(licence: str) -> str:
    from apps.publishing.crosswalks.metadata import SPDX_IDS

    licence = (licence or "").strip()
    if licence.startswith(("http://", "https://")):
        return licence
    if licence and all(c.isalnum() or c in ".+-" for c in licence):
        return f"https://spdx.org/licenses/{SPDX_IDS.get(licence.lower(), licence)}.html"
    return ""


@functools.lru_cache(maxsize=65536)
def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path)


def _records_for(
    group: list[tuple],
    files: dict[int, list],
    mirrors: dict[int, list],
    geometries: dict[int, tuple],
    navigation: dict[int, tuple] | None = None,
) -> list[Record]:
    """The records of one package's catalog rows (ordered by number)."""
    published = [r for r in group if r[5] == PUBLISHED]
    latest = published[-1] if published else None
    neighbours = {
        r[0]: (published[i - 1] if i else None, published[i + 1] if i + 1 < len(published) else None)
        for i, r in enumerate(published)
    }
    out = []
    base = settings.SITE_BASE_URL
    root = catalog_url()
    for row in group:
        (pk, _pkg, scope, identifier, number, state, title, abstract, keywords, coverage, licence, doi,
         published_at, archived_at, modified_at, eml_blob_id, cruise_id) = row  # fmt: skip
        item_id = f"{scope}.{identifier}.{number}"
        coverage = coverage or {}
        begin = _when(coverage["begin"]) if coverage.get("begin") else None
        end = _when(coverage["end"]) if coverage.get("end") else None
        geom, source = geometries[pk]
        version_page = f"{base}/dataset/{scope}/{identifier}/{number}/"
        collection = f"{root}collections/{scope}"
        items_base = f"{collection}/items/{scope}.{identifier}."
        links = [
            ("root", root, "application/json", "Quayside catalog"),
            ("parent", collection, "application/json", ""),
            ("collection", collection, "application/json", ""),
            ("self", f"{items_base}{number}", "application/geo+json", ""),
            ("alternate", version_page, "text/html", "Landing page"),
        ]
        live = state == PUBLISHED
        if doi and live:
            links.append(("cite-as", f"https://doi.org/{doi}", "", ""))
        licence_href = licence_url(licence)
        if licence_href:
            links.append(("license", licence_href, "", licence))
        if latest is not None:
            links.append(("latest-version", f"{items_base}{latest[4]}", "application/geo+json", ""))
        before, after = neighbours.get(pk, (None, None))
        if before is not None:
            links.append(("predecessor-version", f"{items_base}{before[4]}", "application/geo+json", ""))
        if after is not None:
            links.append(("successor-version", f"{items_base}{after[4]}", "application/geo+json", ""))
        assets = []
        verified = 0
        if live:
            # The named URL (apps.publishing.files.named_path), spelled out here: a million calls.
            tree = f"{version_page}{scope}.{identifier}.{number}/"
            listing = files.get(pk, ())
            keys = {f.path: f"file-{i}" for i, f in enumerate(listing, start=1)}
            for i, f in enumerate(listing, start=1):
                assets.append(
                    (
                        f"file-{i}",
                        tree + _quoted(f.path),
                        f.media_type,
                        f.path,
                        [f.role],
                        f.size,
                        SHA2_256_MULTIHASH_PREFIX + f.sha256,
                        keys.get(f.alternate_of),
                        # Only derived files have a build manifest (an entity's path is never one).
                        keys.get(manifest_path(f.path)) if f.artifact_pk else None,
                    )
                )
            if eml_blob_id:
                assets.append(
                    (
                        "metadata",
                        f"{version_page}export/eml.xml",
                        "application/xml",
                        "EML metadata",
                        ["metadata"],
                        None,
                        None,
                        None,
                        None,
                    )
                )
            if navigation and cruise_id in navigation:
                assets += navigation[cruise_id]
            for i, (href, kind, ok) in enumerate(mirrors.get(pk, ()), start=1):
                assets.append((f"mirror-{i}", href, "", kind, ["mirror"], None, None, None, None))
                verified += ok
        out.append(
            Record(
                id=item_id,
                collection=scope,
                pk=pk,
                status=state,
                geometry=geom,
                geometry_source=source,
                datetime=None if begin and end else (begin or end or published_at or archived_at),
                start_datetime=begin if begin and end else None,
                end_datetime=end if begin and end else None,
                created=published_at or archived_at,
                updated=modified_at,
                title=title,
                description=abstract,
                keywords=keywords if isinstance(keywords, list) else [],
                license=licence
                if licence_href.startswith("https://spdx.org/")
                else ("other" if licence else ""),
                version=str(number),
                doi=doi,
                deprecated=not live or (latest is not None and latest[0] != pk),
                verified_mirrors=verified,
                links=links,
                assets=assets,
            )
        )
    return out


def _of_packages(ids: list[int], prefix: str = "revision__") -> dict:
    """A filter for the published versions of packages ``ids`` (sorted). A full scan's batch holds whole,
    consecutive packages: its range is exact enough and far cheaper than an IN list of ten thousand ids."""
    if len(ids) > 1000:
        return {
            f"{prefix}package_id__gte": ids[0],
            f"{prefix}package_id__lte": ids[-1],
            f"{prefix}state": "published",
        }
    return {f"{prefix}package_id__in": ids, f"{prefix}state": "published"}


def _files_for(packages: list[int]) -> dict[int, list]:
    rows = (
        Entity.objects.filter(**_of_packages(packages))
        .order_by("revision_id", "pk")
        .values_list(
            "revision_id",
            "pk",
            "entity_id",
            "name",
            "object_name",
            "mime_type",
            "blob__sha256",
            "blob__size",
            "blob__md5",
        )
    )
    grouped: dict[int, list[EntityRow]] = {}
    for rid, pk, eid, name, object_name, mime, sha, size, md5 in rows:
        grouped.setdefault(rid, []).append(EntityRow(pk, eid, name, object_name, mime, sha, size, md5 or ""))
    derived = _artifacts_for(packages)
    return {
        rid: with_derived(layout(entities), derived[rid]) if rid in derived else layout(entities)
        for rid, entities in grouped.items()
    }


def _artifacts_for(packages: list[int]) -> dict[int, list[ArtifactRow]]:
    """The derived files of the packages' published versions (``artifacts_for`` in bulk)."""
    from apps.artifacts.models import Artifact

    rows = (
        Artifact.objects.filter(**_of_packages(packages), kind__in=TREE_KINDS, blob__isnull=False)
        .order_by()
        .values_list(
            "revision_id",
            "pk",
            "kind",
            "path",
            "entity_id",
            "media_type",
            "blob__sha256",
            "blob__size",
            "blob__md5",
        )
    )
    grouped: dict[int, list[ArtifactRow]] = {}
    for rid, *fields in rows:
        grouped.setdefault(rid, []).append(ArtifactRow(*fields))
    return grouped


def _mirrors_for(packages: list[int]) -> dict[int, list]:
    from .models import Mirror

    grouped: dict[int, list] = {}
    rows = Mirror.objects.filter(**_of_packages(packages)).order_by("revision_id", "pk")
    for rid, record_url, base_url, kind, health in rows.values_list(
        "revision_id", "record_url", "base_url", "kind", "health"
    ):
        grouped.setdefault(rid, []).append((record_url or base_url, kind, health == Mirror.Health.OK))
    return grouped


def _tracklines_for(cruises: set[int]) -> dict[int, object]:
    """Each cruise's built trackline (its control points, split at the antimeridian) as a shapely line.
    Looked up by label: navigation sits above the catalog in the app map."""
    from django.apps import apps

    if not apps.is_installed("apps.navigation"):
        return {}
    rows = (
        apps.get_model("navigation", "Track")
        .objects.filter(cruise_id__in=cruises, state="done", control__isnull=False)
        .values_list("cruise_id", "control")
    )
    out = {}
    for cruise_id, control in rows:
        line = geometry.trackline(control)
        if line is not None:
            out[cruise_id] = line
    return out


def _navigation_for(cruises: set[int]) -> dict[int, tuple]:
    """The ``navigation`` and ``navigation-manifest`` assets of each cruise whose navigation is built: its
    control-point trackline (GeoJSON) and that product's build manifest, at their URLs under
    ``/navigation/<cruise>/`` (the trackline is public like the track; the manifest follows the hold)."""
    from apps.artifacts.models import Artifact

    if not cruises:
        return {}
    rows = (
        Artifact.objects.filter(
            cruise_id__in=cruises,
            revision=None,
            kind=Artifact.Kind.NAVIGATION,
            path__endswith="_control.geojson",
            cruise__track__state="done",
        )
        .order_by("cruise_id", "path")
        .values_list(
            "cruise_id",
            "path",
            "media_type",
            "blob__sha256",
            "blob__size",
            "manifest__path",
            "manifest__blob__sha256",
            "manifest__blob__size",
        )
    )
    out = {}
    for cruise_id, path, media, sha, size, m_path, m_sha, m_size in rows:
        base = f"{settings.SITE_BASE_URL}/navigation/{cruise_id}/"
        name = path.rsplit("/", 1)[-1]
        assets = [
            (
                "navigation",
                base + _quoted(path),
                media,
                f"Control-point trackline of the cruise ({name})",
                ["data"],
                size,
                SHA2_256_MULTIHASH_PREFIX + sha,
                None,
                "navigation-manifest" if m_path else None,
            )
        ]
        if m_path:
            assets.append(
                (
                    "navigation-manifest",
                    base + _quoted(m_path),
                    "application/json",
                    f"Build manifest of {name}",
                    ["metadata"],
                    m_size,
                    SHA2_256_MULTIHASH_PREFIX + m_sha,
                    None,
                    None,
                )
            )
        out[cruise_id] = tuple(assets)
    return out


def _batch(groups: list[list[tuple]]) -> list[Record]:
    # The batch's JSON columns in one parse (per package, the calls cost more than the parsing), then the
    # rows cut into their packages again.
    rows = _parse_json_columns([r for g in groups for r in g])
    ends = itertools.accumulate(len(g) for g in groups)
    groups = [rows[end - len(g) : end] for g, end in zip(groups, ends, strict=True)]
    packages = sorted(g[0][1] for g in groups)
    live = any(r[5] == PUBLISHED for r in rows)
    files = _files_for(packages) if live else {}
    mirrors = _mirrors_for(packages) if live else {}
    cruises = {r[16] for r in rows if r[16] is not None and r[5] == PUBLISHED}
    navigation = _navigation_for(cruises)
    shapes, sources = geometry.item_geometries([r[9] for r in rows])
    if cruises:
        # A published dataset of a cruise whose track is built: the trackline is its geometry, unless the
        # dataset names its own sites (geometry.item_geometry: sites > trackline > box > unknown).
        tracks = _tracklines_for(cruises)
        for i, r in enumerate(rows):
            line = tracks.get(r[16]) if r[5] == PUBLISHED else None
            if line is not None and sources[i] != "coverage-sites":
                shapes[i], sources[i] = line, "cruise-trackline"
    geometries = {r[0]: (shape, source) for r, shape, source in zip(rows, shapes, sources, strict=True)}
    records = [rec for g in groups for rec in _records_for(g, files, mirrors, geometries, navigation)]
    return _with_torrents(records, packages)


def _with_torrents(records: list[Record], packages: list[int]) -> list[Record]:
    """The torrent asset, infohash and seeders of each published version that has a torrent; a tombstone
    keeps only the infohash its torrent had, so that a smart node reading the catalog alone learns which
    copy to delete. apps.swarm sits above the catalog (its web seeds include verified mirrors): looked up
    by name, never imported."""
    from django.apps import apps as django_apps

    if not django_apps.is_installed("apps.swarm"):
        return records
    rows = {k: v for k, v in _of_packages(packages).items() if not k.endswith("state")}
    fields = import_module("apps.swarm.services").catalog_fields({**rows, "revision__state__in": ROW_STATES})
    for record in records:
        if record.pk in fields:
            infohash, url, size, seeders = fields[record.pk]
            record.infohash = infohash
            if record.status != Revision.State.PUBLISHED:
                continue  # a tombstone: no asset, no seeders (its torrent is no longer served)
            record.seeders = seeders
            title = f"BitTorrent (v1 infohash {infohash})"
            record.assets.append(
                ("torrent", url, "application/x-bittorrent", title, ["torrent"], size, None, None, None)
            )
    return records


def iter_records(batch_size: int = 10_000, qs=None) -> Iterator[list[Record]]:
    """Batches of records (whole packages per batch, so version links are complete), streamed."""
    qs = queryset() if qs is None else qs
    groups: list[list[tuple]] = []
    group: list[tuple] = []
    count = 0
    for row in _annotated(qs).values_list(*_FIELDS).iterator(chunk_size=batch_size):
        if group and row[1] != group[0][1]:
            groups.append(group)
            count += len(group)
            group = []
            if count >= batch_size:
                yield _batch(groups)
                groups, count = [], 0
        group.append(row)
    if group:
        groups.append(group)
    if groups:
        yield _batch(groups)


def records_of_package(package_id: int) -> list[Record]:
    """The records of one package (for the item pages: its neighbours give the version links)."""
    return [rec for batch in iter_records(qs=queryset().filter(package_id=package_id)) for rec in batch]


def _iso(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_item(record: Record) -> dict:
    """The record as a STAC item (GeoJSON Feature); null fields are left out."""
    import shapely

    properties = {
        "datetime": _iso(record.datetime),
        "start_datetime": _iso(record.start_datetime),
        "end_datetime": _iso(record.end_datetime),
        "created": _iso(record.created),
        "updated": _iso(record.updated),
        "title": record.title,
        "description": record.description,
        "keywords": record.keywords,
        "license": record.license or None,
        "version": record.version,
        "deprecated": record.deprecated,
        "sci:doi": record.doi or None,
        "quayside:status": record.status,
        "quayside:seeders": record.seeders,
        "quayside:infohash": record.infohash or None,
        "quayside:verified_mirrors": record.verified_mirrors,
        "quayside:geometry_source": record.geometry_source,
    }
    properties = {k: v for k, v in properties.items() if v is not None or k == "datetime"}
    assets = {}
    for key, href, media, title, roles, size, checksum, alternate_of, manifest in record.assets:
        asset = {"href": href, "title": title, "roles": roles}
        if media:
            asset["type"] = media
        if size is not None:
            asset["file:size"] = size
        if checksum:
            asset["file:checksum"] = checksum
        if alternate_of:
            asset["quayside:alternate_of"] = alternate_of
        if manifest:
            asset["quayside:manifest"] = manifest
        assets[key] = asset
    links = []
    for rel, href, media, title in record.links:
        link = {"rel": rel, "href": href}
        if media:
            link["type"] = media
        if title:
            link["title"] = title
        links.append(link)
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": STAC_EXTENSIONS,
        "id": record.id,
        "geometry": shapely.geometry.mapping(record.geometry),
        "bbox": list(record.geometry.bounds),
        "properties": properties,
        "links": links,
        "assets": assets,
        "collection": record.collection,
    }
