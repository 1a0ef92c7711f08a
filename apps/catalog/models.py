"""The catalog's state, mirrors of published versions and their checks, and Zenodo-style deposits.

``CatalogState`` is one row (pk 1): whether the served ``stac.parquet`` is behind the database (``dirty_at``)
and the lease of the build that brings it up to date. ``Mirror``: a copy of a version (all its files, or the
files named in ``file_urls``) somewhere else, verified by ``apps.catalog.mirrors``; each verification is a
``MirrorCheck``. ``Deposit``: one push of a version to a Zenodo-compatible repository, resumable step by step.
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.db import models
from django.utils import timezone


class CatalogState(models.Model):
    # Set (kept at its first value) when something the catalog shows changed; cleared when a build starts.
    dirty_at = models.DateTimeField(null=True, blank=True)
    # A change not tied to one package (or asked for in full): the next build rebuilds every segment.
    full = models.BooleanField(default=False)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    built_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"catalog built {self.built_at or 'never'}, {self.rows} rows"

    @classmethod
    def get(cls) -> CatalogState:
        state, _ = cls.objects.get_or_create(pk=1)
        return state


class CatalogChange(models.Model):
    """A package whose catalog rows changed since the last build: the next build rebuilds only the
    segments holding such packages (``apps.catalog.parquet``). One row per change, never updated: the
    build deletes the rows it read, so a change made while it runs is kept for the next one."""

    package_id = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"package {self.package_id} changed at {self.at}"


class Mirror(models.Model):
    class Kind(models.TextChoices):
        ZENODO = "zenodo", "Zenodo-style record"
        BUCKET = "bucket", "Object store bucket"
        ARCHIVE_ORG = "archive-org", "Internet Archive"
        SOURCE_COOP = "source-coop", "Source Cooperative-style bucket"
        HTTP = "http", "Plain HTTP"

    class Health(models.TextChoices):
        UNKNOWN = "unknown"
        OK = "ok"
        BAD = "bad"

    revision = models.ForeignKey("packages.Revision", on_delete=models.CASCADE, related_name="mirrors")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=200, blank=True)
    # A version mirror: file URL = base_url + path in the tree. A per-file mirror (or a record whose file
    # URLs do not follow the tree, as Zenodo's): ``file_urls`` maps paths to URLs, and only those are mirrored.
    base_url = models.URLField(max_length=1000, blank=True)
    file_urls = models.JSONField(default=dict, blank=True)
    record_url = models.URLField(max_length=1000, blank=True, help_text="the record's page, if any")
    doi = models.CharField(max_length=200, blank=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN, db_index=True)
    health_message = models.TextField(blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_full_check_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True, help_text="last check that found it intact")
    checks_run = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["revision", "pk"]
        # The verification job takes the mirrors checked longest ago first.
        indexes = [models.Index(fields=["last_checked_at"], name="mirror_check_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} mirror of revision {self.revision_id}"

    @property
    def health_text(self) -> str:
        if self.health == self.Health.OK:
            return f"verified {self.verified_at:%Y-%m-%d %H:%M} UTC"
        if self.health == self.Health.BAD:
            return f"failed its last check: {self.health_message}"
        return "not verified yet"

    def url_for(self, path: str) -> str | None:
        """This mirror's URL of the file at ``path`` in the version's tree, or None if it does not hold it."""
        if self.file_urls:
            return self.file_urls.get(path)
        if self.base_url:
            return self.base_url.rstrip("/") + "/" + quote(path)
        return None


class MirrorCheck(models.Model):
    class Kind(models.TextChoices):
        SAMPLE = "sample", "size and sampled pieces"
        FULL = "full", "size and whole-file checksum"

    mirror = models.ForeignKey(Mirror, on_delete=models.CASCADE, related_name="checks")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ok = models.BooleanField()
    files_checked = models.PositiveIntegerField(default=0)
    bytes_read = models.BigIntegerField(default=0)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} check of mirror {self.mirror_id}: {'ok' if self.ok else 'bad'}"


class Deposit(models.Model):
    """A push of a published version to a Zenodo-compatible deposit API; each step's result is kept so a
    retried task resumes where the last one stopped."""

    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"  # gave up after DEPOSIT_MAX_ATTEMPTS; a data manager may retry

    revision = models.ForeignKey("packages.Revision", on_delete=models.CASCADE, related_name="deposits")
    api_url = models.URLField(max_length=500)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    deposition_id = models.CharField(max_length=100, blank=True)
    bucket_url = models.URLField(max_length=1000, blank=True)
    uploaded = models.JSONField(default=dict, blank=True, help_text="{path: key in the bucket}")
    metadata_sent = models.BooleanField(default=False)
    record_id = models.CharField(max_length=100, blank=True)
    doi = models.CharField(max_length=200, blank=True)
    mirror = models.OneToOneField(Mirror, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"deposit of revision {self.revision_id} ({self.state})"
