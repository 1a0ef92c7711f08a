"""The search index: one document per revision whose metadata is public somewhere.

``text`` is the document text (title, abstract, keywords, creators, coverage, package id); on
PostgreSQL ``vector`` holds its weighted tsvector with a GIN index (migration 0002, PostgreSQL only);
on SQLite the search falls back to ``icontains`` over ``text``. ``SearchFacet`` rows hold the facet
values (keyword, creator, scope, vessel, year, format) so facet counts are one GROUP BY on any database.
"""

from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models


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
    # The same facet values as the SearchFacet rows, as ["kind:value", …]: counting facets over the
    # matches reads these (rows the search has just touched) instead of scattered facet rows.
    facet_keys = models.JSONField(default=list, blank=True)
    indexed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-published_at"]

    def __str__(self) -> str:
        return self.title


class SearchFacet(models.Model):
    class Kind(models.TextChoices):
        KEYWORD = "keyword"
        CREATOR = "creator"
        SCOPE = "scope"
        VESSEL = "vessel"
        YEAR = "year"
        FORMAT = "format"

    document = models.ForeignKey(SearchDocument, on_delete=models.CASCADE, related_name="facets")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=300)

    class Meta:
        # Facet filters (search page: ?keyword=…) look up (kind, value) → documents.
        indexes = [models.Index(fields=["kind", "value"], name="search_facet_kind_value")]
        constraints = [
            models.UniqueConstraint(fields=["document", "kind", "value"], name="uniq_search_facet")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"
