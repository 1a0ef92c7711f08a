"""Federation: other repositories' OAI-PMH feeds harvested into remote records, and local mirrors.

- ``HarvestSource``: one feed (base URL, metadataPrefix, set) a data manager registered; its schedule,
  where the last harvest ended (the provider's ``responseDate``, the next ``from``), its counts and last
  error, and the lease that keeps two workers from harvesting it at once (``portal.tasks.claim``).
- ``HarvestRun``: one harvest of a source, its progress and errors (the source's page shows them).
- ``RemoteRecord``: one item of a source (unique by OAI identifier), its datestamp and deleted flag, the
  fields Quayside shows and searches (all untrusted, capped, escaped wherever shown), the raw metadata
  (capped), the home landing URL, the files the feed or the landing page names, and the home's torrent,
  magnet link and mirrors the record names.
- ``LocalMirror`` + ``MirrorFile``: a copy of a remote dataset's files here, as blobs, verified.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class HarvestSource(models.Model):
    class Prefix(models.TextChoices):
        OAI_DC = "oai_dc", "Dublin Core (oai_dc)"
        DATACITE = "datacite", "DataCite"
        EML = "eml", "EML"

    class State(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"

    name = models.CharField(max_length=200, blank=True)
    base_url = models.URLField(max_length=500)
    metadata_prefix = models.CharField(max_length=20, choices=Prefix.choices, default=Prefix.OAI_DC)
    set_spec = models.CharField(max_length=200, blank=True)
    interval_minutes = models.PositiveIntegerField(default=60)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    # From Identify: the provider's granularity decides the form of ``from``.
    repository_name = models.CharField(max_length=300, blank=True)
    granularity = models.CharField(max_length=30, blank=True)
    # The responseDate of the first page of the last complete harvest, as the provider wrote it: the
    # next harvest asks ``from`` it (the provider's clock, not ours).
    last_response_date = models.CharField(max_length=40, blank=True)
    last_harvest_at = models.DateTimeField(null=True, blank=True)
    next_harvest_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    record_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)  # records and pages refused, over all runs
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["base_url", "metadata_prefix", "set_spec"], name="harvest_source_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.base_url

    @property
    def home_name(self) -> str:
        return self.name or self.repository_name or self.base_url


class HarvestRun(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    from_date = models.CharField(max_length=40, blank=True)  # the ``from`` sent ("" = everything)
    response_date = models.CharField(max_length=40, blank=True)
    complete_list_size = models.BigIntegerField(null=True, blank=True)  # as the provider claims it
    pages = models.PositiveIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)  # live records stored
    deleted = models.PositiveIntegerField(default=0)  # deleted records honoured
    rejected = models.PositiveIntegerField(default=0)  # records or pages refused
    errors = models.TextField(blank=True)  # the first few refusals, one a line
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.state}"


class RemoteRecord(models.Model):
    source = models.ForeignKey(HarvestSource, on_delete=models.CASCADE, related_name="records")
    identifier = models.CharField(max_length=500)
    datestamp = models.CharField(max_length=40)
    deleted = models.BooleanField(default=False)
    title = models.TextField(blank=True)
    creators = models.JSONField(default=list, blank=True)
    dates = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    subjects = models.JSONField(default=list, blank=True)
    identifiers = models.JSONField(default=list, blank=True)
    doi = models.CharField(max_length=300, blank=True)
    home_url = models.URLField(max_length=1000, blank=True)
    rights = models.TextField(blank=True)
    # [{"name", "url", "size", "md5", "sha256"}] as the feed names them (EML), else filled when mirrored.
    files = models.JSONField(default=list, blank=True)
    # The home's torrent and mirrors as the record names them (docs/federation.md): the .torrent, the magnet
    # link (rebuilt from its checked parts: ``harvester.read_magnet``) and the URLs of other copies. http(s)
    # and magnet only; cleared when the record is deleted at home.
    torrent_url = models.URLField(max_length=1000, blank=True)
    magnet = models.TextField(blank=True)
    home_mirrors = models.JSONField(default=list, blank=True)
    metadata = models.TextField(blank=True)  # the record's metadata XML, cut at HARVEST_MAX_RECORD_BYTES
    harvested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-pk"]
        constraints = [models.UniqueConstraint(fields=["source", "identifier"], name="remote_record_unique")]

    def __str__(self) -> str:
        return self.title or self.identifier

    @property
    def home_magnet(self):
        """The stored magnet link read again (``harvester.Magnet``: infohash, web seeds, link), or None."""
        from .harvester import read_magnet

        return read_magnet(self.magnet) if self.magnet else None


class LocalMirror(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"

    record = models.OneToOneField(RemoteRecord, on_delete=models.CASCADE, related_name="mirror")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The home's torrent when its landing page names one (``<link rel="alternate"
    # type="application/x-bittorrent">``): the files came through it, and this portal seeds it too.
    torrent_url = models.URLField(max_length=1000, blank=True)
    torrent = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    infohash = models.CharField(max_length=40, blank=True, help_text="v1 (SHA-1), hex")
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"mirror of {self.record}"

    @property
    def via(self) -> str:
        return "torrent" if self.infohash else "HTTP"


class MirrorFile(models.Model):
    mirror = models.ForeignKey(LocalMirror, on_delete=models.CASCADE, related_name="files")
    name = models.CharField(max_length=500)
    url = models.URLField(max_length=1000)
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    checked = models.CharField(max_length=100, blank=True)  # which checksums were compared ("sha256, size")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name
