"""The search index (owned by the publishing work, issue 4).

Contract other apps rely on: ``index_revision(revision)`` (re)indexes a revision's title, abstract,
keywords, creators and coverage; called by the ingest pipeline after archiving and whenever a
revision's public metadata or state changes. Idempotent.

``search(user, params)`` answers the search page and /api/search/: full text (PostgreSQL tsvector +
GIN; SQLite icontains over the same text), facets, time-range and bbox filters, sort, pagination —
always inside the access policy's rule for data (``visible_revisions(user, part="data")``) so held,
withdrawn and tainted data stay hidden from those who may not see it.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import BooleanField, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL

from apps.access import party_revisions, public_states, roles
from apps.packages.models import Revision
from portal import sqlrows

from . import creators
from .models import FACET_VALUE_LENGTH, FacetKind, RemoteDocument, SearchDocument

FACET_KINDS = [k.value for k in FacetKind]
FACET_LIMIT = 12
# Facet counts are exact up to this many matches; beyond it they come from the best-ranked matches.
FACET_SAMPLE = 10_000
# Result counts are exact up to this many matches, then shown as "10,000+".
COUNT_LIMIT = 10_000
PAGE_SIZE = 20
# Settings for the one ranked statement (SET LOCAL, so they end with it):
SEARCH_IO_CONCURRENCY = 200  # effective_io_concurrency: prefetch scattered rows (SSD-class storage)
# A common word matches most of the archive; the best COUNT_LIMIT + 1 of them are kept by a top-N heap
# sort only while they fit in work_mem (at the default 4 MB PostgreSQL spilled a 1M-row sort to disk:
# 58 MB a worker). And no JIT: compiling cost 35 ms of a query that then ran in memory.
SEARCH_WORK_MEM = "32MB"
SORTS = ("relevance", "newest", "oldest", "title")
# A dataset is listed under each year it covers; a century-long series is listed under its first 100.
MAX_COVERAGE_YEARS = 100


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _parse_date(value) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def document_text(revision: Revision) -> str:
    package = revision.package
    parts = [
        revision.title,
        revision.abstract,
        " ".join(str(k) for k in revision.keywords or []),
        revision.package_id_text,
    ]
    for c in revision.creators or []:
        if isinstance(c, dict):
            parts += [c.get("name", ""), c.get("given", ""), c.get("family", ""), c.get("affiliation", "")]
    parts.append((revision.coverage or {}).get("description", ""))
    if package.cruise_id:
        parts += [package.cruise.cruise_id, package.cruise.vessel.name]
    return "\n".join(p for p in parts if p)


def facet_keys_for(revision: Revision) -> list[str]:
    """The revision's facet values as sorted ``"kind:value"`` strings (what ``facet_keys`` holds)."""
    package = revision.package
    values: set[tuple[str, str]] = {("scope", package.scope)}
    for k in revision.keywords or []:
        if isinstance(k, str) and k.strip():
            values.add(("keyword", k.strip()))
    for c in revision.creators or []:
        person = creators.resolve(c) if isinstance(c, dict) else None
        if person:
            values.add(("creator", person.key))
    if package.cruise_id:
        values.add(("vessel", package.cruise.vessel.name))
    values.update(("year", str(year)) for year in coverage_years(revision.coverage or {}))
    for e in revision.entities.all():
        fmt = e.format_name or e.mime_type
        if fmt:
            values.add(("format", fmt))
    return sorted({facet_key(kind, value) for kind, value in values})


def coverage_years(coverage: dict) -> range:
    """The years the data covers (its temporal coverage, not when it was published): every year from
    the first to the last, at most MAX_COVERAGE_YEARS of them (a long series gets its first years)."""
    begin, end = _parse_date(coverage.get("begin")), _parse_date(coverage.get("end"))
    first, last = (begin or end), (end or begin)
    if first is None:
        return range(0)
    if last < first:
        first, last = last, first
    return range(first.year, min(last.year, first.year + MAX_COVERAGE_YEARS - 1) + 1)


def facet_key(kind: str, value: str) -> str:
    return f"{kind}:{str(value)[:FACET_VALUE_LENGTH]}"


def index_revision(revision) -> None:
    with transaction.atomic():
        # Locked while we copy it: a state change waits for us, then its trigger updates our row.
        revision = (
            Revision.objects.select_for_update(of=("self",))
            .select_related("package__cruise__vessel")
            .get(pk=revision.pk)
        )
        if revision.state not in Revision.METADATA_PUBLIC:
            SearchDocument.objects.filter(pk=revision.pk).delete()
        else:
            from apps.publishing.crosswalks.metadata import bbox_of

            coverage = revision.coverage or {}
            bbox = bbox_of(revision) or [None] * 4
            text = document_text(revision)
            if _is_postgres():
                # PostgreSQL searches the tsvector alone, built here from the text, which its row does not
                # keep: every row a search reads is about a third narrower (fewer pages, more of them cached).
                # The vector goes in with the rest of the row: one write.
                searched = {
                    "text": "",
                    "vector": SearchVector(Value(revision.title), weight="A", config="english")
                    + SearchVector(Value(text), weight="B", config="english"),
                }
            else:
                searched = {"text": text}
            SearchDocument.objects.update_or_create(
                revision=revision,
                defaults={
                    "package": revision.package,
                    "title": revision.title,
                    "state": revision.state,
                    **searched,
                    "published_at": revision.published_at,
                    "begin": _parse_date(coverage.get("begin")),
                    "end": _parse_date(coverage.get("end")),
                    "west": bbox[0],
                    "south": bbox[1],
                    "east": bbox[2],
                    "north": bbox[3],
                    "facet_keys": facet_keys_for(revision),
                },
            )
        _refresh_latest(revision.package_id)


def _refresh_latest(package_id: int) -> None:
    docs = SearchDocument.objects.filter(package_id=package_id)
    latest = (
        docs.filter(revision__state=Revision.State.PUBLISHED)
        .order_by("-revision__number")
        .values_list("pk", flat=True)
        .first()
    )
    docs.exclude(pk=latest).filter(is_latest=True).update(is_latest=False)
    if latest is not None:
        docs.filter(pk=latest, is_latest=False).update(is_latest=True)


@dataclass
class SearchResult:
    page: object
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    total: int = 0
    query: str = ""
    sort: str = "relevance"
    errors: list[str] = field(default_factory=list)
    facets_sampled: bool = False
    total_capped: bool = False
    # Names to show for facet values that are keys (the creator facet): {kind: {value: label}}.
    facet_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def label(self, kind: str, value: str) -> str:
        return self.facet_labels.get(kind, {}).get(value, value)


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def filtered(user, params) -> tuple[QuerySet, str, list[str]]:
    """The access-filtered, filtered document queryset for these parameters (a QueryDict or dict)."""
    get = params.get
    errors: list[str] = []
    qs = SearchDocument.objects.all()
    if not roles.is_data_manager(user):
        # The policy's rule (apps/access/policy.py: visible_revisions with part="data") on the document's
        # copy of its revision's state, which the database keeps equal to the revision's (trigger,
        # search migration 0005): no join to the revision table for every match. A user's own, cruise
        # and operator revisions are a short list the planner hashes once.
        visible = Q(state__in=public_states("data"))
        if getattr(user, "is_authenticated", False):
            visible |= Q(revision_id__in=party_revisions(user).values("pk"))
        qs = qs.filter(visible)
    if not get("all_versions"):
        qs = qs.filter(Q(is_latest=True) | ~Q(state=Revision.State.PUBLISHED))
    text = (get("q") or "").strip()[:500]
    if text:
        if _is_postgres():
            query = SearchQuery(text, search_type="websearch", config="english")
            qs = qs.filter(vector=query).annotate(rank=SearchRank(F("vector"), query))
        else:
            for term in text.split()[:10]:
                qs = qs.filter(text__icontains=term.strip('"'))
    for kind in FACET_KINDS:
        values = params.getlist(kind) if hasattr(params, "getlist") else ([get(kind)] if get(kind) else [])
        for value in values:
            if not value:
                continue
            if kind == FacetKind.CREATOR:
                value = creators.key_for_filter(value)
            key = facet_key(kind, value)
            if _is_postgres():
                # Through the GIN index on facet_keys (search migration 0006): the planner ANDs it with the
                # text index's bitmap and reads only the rows both match. The facet-row subquery this
                # replaces probed every document of a common keyword one by one (3,500 probes, 260-330 ms
                # at 1M documents, for 10 results).
                qs = qs.filter(facet_keys__contains=[key])
            else:  # SQLite has no JSON containment; its JSON1 functions list the keys
                qs = qs.filter(
                    RawSQL(
                        f"EXISTS (SELECT 1 FROM json_each({SearchDocument._meta.db_table}.facet_keys) WHERE value = %s)",
                        [key],
                        output_field=BooleanField(),
                    )
                )
    begin, end = _parse_date(get("begin")), _parse_date(get("end"))
    if get("begin") and begin is None or get("end") and end is None:
        errors.append("Dates must look like 2024-03-01.")
    if begin and end and begin > end:
        # Said, not answered with an empty list that looks like "no data for those years".
        errors.append(
            f"The date range is reversed: its start, {begin}, is after its end, {end}. "
            f"Swap them to search {end} to {begin}."
        )
    # A dataset matches a time range when its coverage overlaps it.
    if begin:
        qs = qs.filter(Q(end__gte=begin) | Q(end__isnull=True, begin__gte=begin))
    if end:
        qs = qs.filter(begin__lte=end)
    bbox_text = get("bbox")
    if bbox_text:
        parts = [_float(p) for p in str(bbox_text).split(",")]
        if len(parts) != 4 or None in parts:
            errors.append("bbox must be four numbers: west,south,east,north.")
        else:
            w, s, e, n = parts
            qs = qs.filter(Q(north__gte=s, south__lte=n) & box_overlaps(w, e))
    region_id = str(get("region") or "").strip()
    if region_id:
        # Search by place (apps.gazetteer): datasets of the cruises whose track entered the region within the
        # dates asked (the whole track without dates). Exact geometry, the part of each track in the dates.
        from apps.gazetteer.models import Region
        from apps.gazetteer.services import cruises_crossing

        region = Region.objects.filter(pk=int(region_id)).first() if region_id.isdigit() else None
        if region is None:
            errors.append("No such region.")
        else:
            qs = qs.filter(package__cruise_id__in=cruises_crossing(region, begin, end))
    sort = get("sort") or ("relevance" if text else "newest")
    if sort not in SORTS:
        errors.append(f"sort must be one of {', '.join(SORTS)}.")
        sort = "newest"
    if sort == "relevance" and text and _is_postgres():
        qs = qs.order_by("-rank", "-published_at", "pk")
    elif sort == "oldest":
        qs = qs.order_by("published_at", "pk")
    elif sort == "title":
        qs = qs.order_by("title", "pk")
    else:
        qs = qs.order_by("-published_at", "-pk")
    return qs, sort, errors


def box_overlaps(w: float, e: float) -> Q:
    """Documents whose longitudes meet [w, e]; either box may cross the antimeridian (west > east, RFC 7946
    §5.2: a cruise track's box from Fiji to Samoa is 177,…,-171,…)."""
    ranges = [(w, 180.0), (-180.0, e)] if w > e else [(w, e)]
    condition = Q()
    for a, b in ranges:
        condition |= Q(west__lte=F("east")) & Q(west__lte=b, east__gte=a)  # an ordinary box
        condition |= Q(west__gt=F("east")) & (Q(west__lte=b) | Q(east__gte=a))  # across the antimeridian
    return condition


def facet_counts(keys_per_document=(), counted=None) -> dict[str, list[tuple[str, int]]]:
    """The top FACET_LIMIT values of each facet kind, from the matched documents' ``facet_keys``
    lists (["kind:value", …]) or from ready (key, count) pairs."""
    counter: Counter[str] = Counter(dict(counted or ()))
    for keys in keys_per_document:
        counter.update(keys or [])
    facets: dict[str, list[tuple[str, int]]] = {k: [] for k in FACET_KINDS}
    for key, n in sorted(counter.items(), key=lambda item: (-item[1], item[0])):
        kind, _, value = key.partition(":")
        bucket = facets.get(kind)
        if bucket is not None and len(bucket) < FACET_LIMIT:
            bucket.append((value, n))
    return facets


def _ranked_ids_and_facets(qs: QuerySet, with_facets: bool) -> tuple[list[int], dict | None]:
    """The ids of the first COUNT_LIMIT + 1 matches in rank order and the facet counts of the first
    FACET_SAMPLE of them — on PostgreSQL in one statement: the matches are read once, and their
    facet keys are counted where they are instead of being shipped here."""
    limited = qs.values_list("pk", "facet_keys")[: COUNT_LIMIT + 1]
    if not _is_postgres():
        rows = list(limited if with_facets else qs.values_list("pk", flat=True)[: COUNT_LIMIT + 1])
        if not with_facets:
            return rows, None
        return [pk for pk, _ in rows], facet_counts(keys for _, keys in rows[:FACET_SAMPLE])
    inner, params = limited.query.sql_with_params()
    # Only the top FACET_LIMIT keys of each kind come back (a creator facet can have thousands).
    facets_sql = (
        """(SELECT jsonb_agg(jsonb_build_array(key, n)) FROM (
                         SELECT key, n, row_number() OVER (PARTITION BY split_part(key, ':', 1) ORDER BY n DESC, key) AS rank
                         FROM (SELECT key, count(*) AS n
                               FROM matches CROSS JOIN LATERAL jsonb_array_elements_text(facet_keys) AS key
                               WHERE place <= %s GROUP BY key) counted) ranked_keys
                     WHERE rank <= %s)"""
        if with_facets
        else "NULL"
    )
    sql = f"""WITH matches AS MATERIALIZED (
                  SELECT id, facet_keys, row_number() OVER () AS place FROM ({inner}) AS ranked (id, facet_keys))
              SELECT (SELECT array_agg(id ORDER BY place) FROM matches), {facets_sql}"""
    with transaction.atomic(), connection.cursor() as cursor:
        # A one-word query reads thousands of scattered rows; when they are not in memory, let the
        # bitmap heap scan ask the disk for many at once (the default, 1, reads them one by one:
        # measured on 1M records with a cold cache, p50 330 → 142 ms).
        cursor.execute(
            "SELECT set_config('effective_io_concurrency', %s, true), set_config('work_mem', %s, true),"
            " set_config('jit', 'off', true)",
            [str(SEARCH_IO_CONCURRENCY), SEARCH_WORK_MEM],
        )
        cursor.execute(sql, [*params, FACET_SAMPLE, FACET_LIMIT] if with_facets else params)
        ids, counted = cursor.fetchone()
    if isinstance(counted, str):
        counted = json.loads(counted)
    return ids or [], (facet_counts(counted=counted) if with_facets else None)


def search(user, params, *, page_size: int = PAGE_SIZE, with_facets: bool = True) -> SearchResult:
    """The ranked ids of the first COUNT_LIMIT matches (the count and the page come from them) and
    their facet counts, then the page's documents by primary key.

    Counts are exact up to COUNT_LIMIT and then shown as "10,000+" (a search engine's
    track-total-hits): counting a million matches would cost seconds. Facets come from the same ids,
    so beyond COUNT_LIMIT they are the best matches' facets."""
    qs, sort, errors = filtered(user, params)
    ids, facets = _ranked_ids_and_facets(qs, with_facets)
    capped = len(ids) > COUNT_LIMIT
    ids = ids[:COUNT_LIMIT]
    page = Paginator(ids, page_size).get_page(params.get("page") or 1)
    docs = SearchDocument.objects.select_related(
        "revision__package__cruise__vessel", "revision__package__owner"
    ).in_bulk(list(page.object_list))
    page.object_list = [docs[pk] for pk in page.object_list if pk in docs]
    result = SearchResult(
        page=page,
        total=len(ids),
        query=(params.get("q") or ""),
        sort=sort,
        errors=errors,
        total_capped=capped,
    )
    if with_facets:
        result.facets = facets
        result.facets_sampled = capped or len(ids) > FACET_SAMPLE
    shown = {v for v, _ in result.facets.get(FacetKind.CREATOR, [])}
    if hasattr(params, "getlist"):
        shown.update(creators.key_for_filter(v) for v in params.getlist(FacetKind.CREATOR) if v)
    elif params.get(FacetKind.CREATOR):
        shown.add(creators.key_for_filter(params[FacetKind.CREATOR]))
    if shown:
        result.facet_labels[FacetKind.CREATOR] = creators.labels(shown)
    return result


# --- remote records (harvested from other repositories; written by apps.federation) ----------------

ORIGINS = ("all", "local", "remote")
REMOTE_SHOWN_WITH_LOCAL = 5  # remote matches listed under the local results when origin=all


@dataclass
class RemoteEntry:
    """What the federation app hands over for one remote record (all of it untrusted, already capped)."""

    record_id: int
    home: str
    home_url: str
    title: str
    creators: list[str]
    text: str
    published: str = ""
    torrent_url: str = ""  # the home's torrent, magnet link and mirrors (http(s) and magnet only)
    magnet: str = ""
    mirrors: list[str] = field(default_factory=list)


def index_remote(entries: list[RemoteEntry]) -> None:
    """(Re)index these remote records in one upsert. On PostgreSQL the tsvector is computed in the same
    INSERT (no second write of every row and its GIN entries) and ``text`` stays empty, as for local
    documents. Idempotent; call inside the harvest's transaction."""
    if not entries:
        return
    if _is_postgres():
        # One statement: a column array each (UNNEST), in binary (``%b``) — a VALUES list of thousands of
        # placeholders cost more to parse and quote on the client than the database spent storing it.
        # ``sqlrows.cursor()`` binds on the server (Django's cursors quote every array element on the
        # client, with a regular expression) and prepares the one statement text once per connection.
        table = RemoteDocument._meta.db_table
        sql = (
            f"INSERT INTO {table} (record_id, home, home_url, title, creators, text, vector, published, "
            "torrent_url, magnet, mirrors, indexed_at) "
            "SELECT u.record_id, u.home, u.home_url, u.title, u.creators::jsonb, '', "
            "setweight(to_tsvector('english', u.title), 'A') || setweight(to_tsvector('english', u.text), 'B'), "
            "u.published, u.torrent_url, u.magnet, u.mirrors::jsonb, now() "
            "FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], "
            "%b::text[], %b::text[], %b::text[]) "
            "AS u(record_id, home, home_url, title, creators, text, published, torrent_url, magnet, mirrors) "
            "ON CONFLICT (record_id) DO UPDATE SET home = EXCLUDED.home, home_url = EXCLUDED.home_url, "
            "title = EXCLUDED.title, creators = EXCLUDED.creators, vector = EXCLUDED.vector, "
            "published = EXCLUDED.published, torrent_url = EXCLUDED.torrent_url, magnet = EXCLUDED.magnet, "
            "mirrors = EXCLUDED.mirrors, indexed_at = EXCLUDED.indexed_at"
        )
        with sqlrows.cursor() as cursor:
            cursor.execute(
                sql,
                [
                    [e.record_id for e in entries],
                    [e.home[:300] for e in entries],
                    [e.home_url for e in entries],
                    [e.title for e in entries],
                    [json.dumps(e.creators) for e in entries],
                    [e.text for e in entries],
                    [e.published[:40] for e in entries],
                    [e.torrent_url for e in entries],
                    [e.magnet for e in entries],
                    [json.dumps(e.mirrors) for e in entries],
                ],
            )
        return
    RemoteDocument.objects.bulk_create(
        [
            RemoteDocument(
                record_id=e.record_id,
                home=e.home[:300],
                home_url=e.home_url,
                title=e.title,
                creators=e.creators,
                text=e.text,
                published=e.published[:40],
                torrent_url=e.torrent_url,
                magnet=e.magnet,
                mirrors=e.mirrors,
            )
            for e in entries
        ],
        update_conflicts=True,
        unique_fields=["record_id"],
        update_fields=[
            "home",
            "home_url",
            "title",
            "creators",
            "text",
            "published",
            "torrent_url",
            "magnet",
            "mirrors",
            "indexed_at",
        ],
    )


def unindex_remote(record_ids) -> None:
    RemoteDocument.objects.filter(record_id__in=list(record_ids)).delete()


def search_remote(params, *, page_size: int = PAGE_SIZE, page: object = None):
    """Remote records matching ``q`` (no facets: the feeds' vocabularies differ), newest record first
    or by relevance on PostgreSQL; a page of ``RemoteDocument`` rows. Remote metadata is public."""
    qs = RemoteDocument.objects.all()
    text = (params.get("q") or "").strip()[:500]
    if text:
        if _is_postgres():
            query = SearchQuery(text, search_type="websearch", config="english")
            qs = (
                qs.filter(vector=query).annotate(rank=SearchRank(F("vector"), query)).order_by("-rank", "-pk")
            )
        else:
            for term in text.split()[:10]:
                qs = qs.filter(Q(text__icontains=term.strip('"')) | Q(title__icontains=term.strip('"')))
            qs = qs.order_by("-pk")
    else:
        qs = qs.order_by("-pk")
    ids = list(qs.values_list("pk", flat=True)[: COUNT_LIMIT + 1])
    capped = len(ids) > COUNT_LIMIT
    ids = ids[:COUNT_LIMIT]
    paged = Paginator(ids, page_size).get_page(page or params.get("page") or 1)
    docs = RemoteDocument.objects.in_bulk(list(paged.object_list))
    paged.object_list = [docs[pk] for pk in paged.object_list if pk in docs]
    return paged, len(ids), capped
