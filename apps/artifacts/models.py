"""Derived artifacts: files Quayside makes from archived data (Parquet alternates, a cruise's navigation
products, the catalog, release source bundles, build manifests; later torrents), each content-addressed in
storage and described by a build manifest that says how to make it again.

An artifact of a dataset version has a ``path`` in that version's file tree, beside the archived files:
``parquet/<object name stem>.parquet`` for a table's Parquet alternate, ``manifests/<artifact path>.json``
for the manifest of an artifact. Artifacts not tied to a version leave ``revision`` empty: a cruise's
navigation products name their ``cruise`` (``products/<name>``, served under ``/navigation/<cruise>/``),
the catalog (``stac.parquet``, served under ``/catalog/``) and releases name neither. The path is
relative to where the artifact is served, and its manifest is served at ``manifests/<path>.json`` there.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Artifact(models.Model):
    class Kind(models.TextChoices):
        PARQUET = "parquet"
        MANIFEST = "manifest"
        NAVIGATION = "navigation"
        CATALOG = "catalog"
        TORRENT = "torrent"
        SOURCE = "source"  # the source of a release (``manage.py release``)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    revision = models.ForeignKey(
        "packages.Revision", null=True, blank=True, on_delete=models.CASCADE, related_name="artifacts"
    )
    cruise = models.ForeignKey(
        "cruises.Cruise", null=True, blank=True, on_delete=models.CASCADE, related_name="artifacts"
    )
    path = models.CharField(max_length=600, help_text="its path in the version's file tree (or its own name)")
    entity = models.ForeignKey(
        "packages.Entity",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="artifacts",
        help_text="the archived table a Parquet alternate was made from",
    )
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="artifacts")
    media_type = models.CharField(max_length=100, default="application/octet-stream")
    manifest = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="described",
        help_text="the build manifest of this artifact (an artifact of kind manifest)",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The rebuild spot check (``tasks.spot_check_rebuilds``): when it last rebuilt this one, and whether
    # the bytes came out identical.
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_identical = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["revision_id", "path"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "path"],
                condition=Q(revision__isnull=False),
                name="uniq_artifact_path_per_revision",
            ),
            # A cruise's navigation products, then the catalog and releases: the next build replaces
            # the row (``manifests._put``), so a path names one artifact.
            models.UniqueConstraint(
                fields=["cruise", "path"],
                condition=Q(revision__isnull=True, cruise__isnull=False),
                name="uniq_artifact_path_per_cruise",
            ),
            models.UniqueConstraint(
                fields=["path"],
                condition=Q(revision__isnull=True, cruise__isnull=True),
                name="uniq_artifact_path_unattached",
            ),
        ]
        indexes = [
            # The spot check picks the artifacts verified longest ago.
            models.Index(fields=["kind", "verified_at"], name="artifact_spot_check"),
        ]

    def __str__(self) -> str:
        return f"{self.revision or self.cruise or '-'}:{self.path}"

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class RevisionBuild(models.Model):
    """The derived artifacts of one dataset version: due, built, refused or failed.

    Claimed with the lease helper (``portal.tasks.claim``) by the task that builds them, so a killed
    worker's build is taken over once its lease lapses, and the sweep finds versions still due."""

    class State(models.TextChoices):
        DUE = "due"
        BUILT = "built"
        REFUSED = "refused"  # a table that does not match its attributes: no Parquet (the message says why)
        FAILED = "failed"  # an unexpected error; the sweep tries again later

    revision = models.OneToOneField("packages.Revision", on_delete=models.CASCADE, related_name="build")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DUE, db_index=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"build of {self.revision_id}: {self.state}"
