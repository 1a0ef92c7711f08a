"""The search index: one document per revision whose metadata is public somewhere.

``text`` is the document text (title, abstract, keywords, creators, coverage, package id). On
PostgreSQL ``vector`` holds its weighted tsvector with a GIN index (migration 0002) and ``text`` stays
empty (the rows a search reads are narrower; migration 0006). On SQLite the search falls back to
``icontains`` over ``text``.

``facet_keys`` holds the document's facet values (keyword, creator, scope, vessel, year, format) as
``["kind:value", …]``: facet filters test them (PostgreSQL: a GIN index, so a filter is ANDed with the
text index; SQLite: json_each) and facet counts count them over the matches, which the search has
just read anyway.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models

FACET_VALUE_LENGTH = 300


class SearchDocument(models.Model):
    revision = models.OneToOneField(
        "packages.Revision", on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    package = models.ForeignKey("packages.Package", on_delete=models.CASCADE, related_name="+")
    title = models.TextField(blank=True)
    text = models.TextField(blank=True)
    vector = SearchVectorField(null=True, blank=True)
    # The highest published version of its package: the default result list shows only these.
    is_latest = models.BooleanField(default=False, db_index=True)
    # A copy of the revision's state (index_revision runs on every state change) so the default
    # "latest versions" filter needs no join; access is still decided by visible_revisions.
    state = models.CharField(max_length=12, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)  # sort "newest"
    begin = models.DateField(null=True, blank=True)  # time-range filter
    end = models.DateField(null=True, blank=True)
    west = models.FloatField(null=True, blank=True)  # bbox filter
    south = models.FloatField(null=True, blank=True)
    east = models.FloatField(null=True, blank=True)
    north = models.FloatField(null=True, blank=True)
    # The facet values as ["kind:value", …] (values cut to FACET_VALUE_LENGTH), sorted.
    facet_keys = models.JSONField(default=list, blank=True)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.title


class FacetKind(models.TextChoices):
    KEYWORD = "keyword"
    CREATOR = "creator"
    SCOPE = "scope"
    VESSEL = "vessel"
    YEAR = "year"
    FORMAT = "format"


class SearchCreator(models.Model):
    """One person (or organisation) of the creator facet, however each dataset spells them.

    ``key`` is the facet value (``creator:<key>`` in ``facet_keys``, ``?creator=<key>`` in URLs): a slug
    fixed when the person is first indexed, so a later spelling or a later ORCID never changes it and no
    document needs reindexing. Creators are merged by ORCID first, then by ``name_key`` (the name without
    accents, case or punctuation, "Family, Given" read as "Given Family"); ``label`` is the name shown.
    """

    key = models.SlugField(max_length=FACET_VALUE_LENGTH, unique=True)
    orcid = models.CharField(max_length=19, blank=True, db_index=True)  # 0000-0002-1825-0097
    name_key = models.CharField(max_length=FACET_VALUE_LENGTH, db_index=True)
    label = models.CharField(max_length=FACET_VALUE_LENGTH)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class RemoteDocument(models.Model):
    """A record harvested from another repository (apps.federation's ``RemoteRecord``), as the search
    finds it. Kept apart from ``SearchDocument`` (one row per local revision, access-filtered by its
    revision's state): a remote record is public metadata from elsewhere, shown as remote, linking home.

    ``record_id`` is the remote record's primary key (no foreign key: the search app does not depend on
    the federation app, which writes these rows through ``index_remote``/``unindex_remote``). PostgreSQL
    searches ``vector`` (GIN index, migration 0009); SQLite searches ``text`` with icontains.
    """

    record_id = models.BigIntegerField(primary_key=True)
    home = models.CharField(max_length=300)  # the home portal's name
    home_url = models.URLField(max_length=1000, blank=True)  # the record's landing page at home
    title = models.TextField(blank=True)
    creators = models.JSONField(default=list, blank=True)
    text = models.TextField(blank=True)
    vector = SearchVectorField(null=True, blank=True)
    published = models.CharField(max_length=40, blank=True)  # the record's date, as the feed gives it
    # The home's torrent, magnet link and mirrors, as the record names them (shown with the result).
    torrent_url = models.URLField(max_length=1000, blank=True)
    magnet = models.TextField(blank=True)
    mirrors = models.JSONField(default=list, blank=True)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-record_id"]

    def __str__(self) -> str:
        return self.title
