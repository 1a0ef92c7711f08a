"""Data packages, their revisions and entities, and the resource registry (PASTA's model).

State of a revision (only services move it, under a row lock)::

    submitted → validating → fetching → checking → archiving → archived → published
                  (failed from any step before archived)
    archived → held (proprietary hold: metadata visible, data hidden) → published when the hold ends
    published → withdrawn (tombstone, data kept)
    published | withdrawn → tainted (data removed, tombstone)

Each move after archiving is one model transition (``mark_held``, ``mark_published``, ``mark_withdrawn``,
``mark_tainted``) called by one service verb: ``apps.packages.services.hold_revision``, and in
``apps.publishing.services`` the publish path (``on_archived``/``release_held``), ``withdraw`` and ``taint``.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Package(models.Model):
    scope = models.CharField(max_length=100)
    identifier = models.PositiveIntegerField()
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="packages")
    cruise = models.ForeignKey(
        "cruises.Cruise", null=True, blank=True, on_delete=models.SET_NULL, related_name="packages"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["scope", "identifier"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "identifier"], name="uniq_package_scope_identifier")
        ]

    def __str__(self) -> str:
        return f"{self.scope}.{self.identifier}"

    @property
    def package_key(self) -> str:
        return f"{self.scope}.{self.identifier}"


class Revision(models.Model):
    class State(models.TextChoices):
        SUBMITTED = "submitted"
        VALIDATING = "validating"
        FETCHING = "fetching"
        CHECKING = "checking"
        ARCHIVING = "archiving"
        ARCHIVED = "archived"
        HELD = "held"
        PUBLISHED = "published"
        WITHDRAWN = "withdrawn"
        TAINTED = "tainted"
        FAILED = "failed"

    # Named state sets: code asks for one of these instead of spelling the states out again.
    # States from which the ingest pipeline may still move a revision (before it is archived).
    IN_PIPELINE = (State.SUBMITTED, State.VALIDATING, State.FETCHING, State.CHECKING, State.ARCHIVING)
    # States in which the revision's metadata is public; data is public only when PUBLISHED.
    METADATA_PUBLIC = (State.HELD, State.PUBLISHED, State.WITHDRAWN, State.TAINTED)
    # Ever published: these carry a DOI and stay in OAI-PMH for good (withdrawn/tainted as deleted records).
    EVER_PUBLISHED = (State.PUBLISHED, State.WITHDRAWN, State.TAINTED)
    # Published once and taken down: a tombstone page, a deleted OAI-PMH record.
    TOMBSTONED = (State.WITHDRAWN, State.TAINTED)
    # Public versions whose metadata a data manager may still correct.
    CORRECTABLE = (State.HELD, State.PUBLISHED)
    # Archived versions that may be published (at once, or when their hold ends).
    PUBLISHABLE = (State.ARCHIVED, State.HELD)
    # Versions a data manager may mark tainted (the data must go everywhere): only what was published, so
    # every tainted version is one that was out in the world (a DOI, a deleted OAI-PMH record).
    TAINTABLE = (State.PUBLISHED, State.WITHDRAWN)
    # No transition leaves these.
    FINAL = (State.FAILED, State.TAINTED)

    class TransitionRefused(ValueError):
        """A state change the revision's state machine does not allow (a bug or a race the caller lost)."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.SUBMITTED, db_index=True)
    eml_blob = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    eml_version = models.CharField(max_length=10, blank=True)
    title = models.TextField(blank=True)
    abstract = models.TextField(blank=True)
    keywords = models.JSONField(default=list, blank=True)
    creators = models.JSONField(
        default=list, blank=True, help_text="[{name, given, family, orcid, affiliation, email}]"
    )
    coverage = models.JSONField(
        default=dict, blank=True, help_text="{bbox: [w,s,e,n], begin, end, description}"
    )
    licence = models.CharField(max_length=200, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    tainted_at = models.DateTimeField(null=True, blank=True)
    # Changes whenever the public metadata changes (OAI-PMH datestamps, DOI metadata updates).
    metadata_modified_at = models.DateTimeField(default=timezone.now, db_index=True)
    doi = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["package", "-number"]
        constraints = [models.UniqueConstraint(fields=["package", "number"], name="uniq_revision_number")]

    def __str__(self) -> str:
        return self.package_id_text

    @property
    def package_id_text(self) -> str:
        return f"{self.package.scope}.{self.package.identifier}.{self.number}"

    def advance(self, to: str) -> bool:
        """Move an in-pipeline revision to pipeline state ``to`` under a row lock; False if it has left
        the pipeline (archived, failed, …) — the caller then does nothing. Call inside a transaction."""
        locked = Revision.objects.select_for_update().get(pk=self.pk)
        if locked.state not in self.IN_PIPELINE:
            self.state = locked.state
            return False
        locked.state = to
        locked.save(update_fields=["state"])
        self.state = to
        return True

    def mark_failed(self) -> bool:
        """A pipeline failure: only a revision not yet archived can fail. Call inside a transaction."""
        return self.advance(self.State.FAILED)

    def mark_retried(self) -> None:
        """failed → submitted: a data manager's "retry from the failed step" takes the revision back
        into the pipeline (the reverse of ``mark_failed``). Call holding the row lock."""
        self._move(self.State.SUBMITTED, (self.State.FAILED,), {})

    def mark_archived(self, *, eml_blob, when=None) -> None:
        """Call inside a transaction, holding the row lock (``advance(ARCHIVING)`` took it)."""
        self.state = self.State.ARCHIVED
        self.eml_blob = eml_blob
        self.archived_at = when or timezone.now()
        self.metadata_modified_at = self.archived_at
        self.save(update_fields=["state", "eml_blob", "archived_at", "metadata_modified_at"])

    # After archiving. Each transition below is called by one service verb, inside its transaction,
    # on an instance read with ``select_for_update()`` (the verb holds the row lock); it refuses a move
    # the state machine does not allow by raising ``TransitionRefused`` and saves only what it changed.

    def _move(self, to: str, allowed: tuple, fields: dict) -> None:
        if self.state not in allowed:
            raise self.TransitionRefused(f"{self.package_id_text} is {self.state}; it cannot become {to}.")
        self.state = to
        for name, value in fields.items():
            setattr(self, name, value)
        self.save(update_fields=["state", *fields])

    def mark_held(self, *, when=None) -> None:
        """archived → held: a proprietary hold covers it (metadata public, data hidden)."""
        self._move(self.State.HELD, (self.State.ARCHIVED,), {"metadata_modified_at": when or timezone.now()})

    def mark_published(self, *, doi: str, when=None) -> None:
        """archived or held → published, with its version DOI's name (registration follows)."""
        when = when or timezone.now()
        self._move(
            self.State.PUBLISHED,
            self.PUBLISHABLE,
            {"published_at": when, "metadata_modified_at": when, "doi": doi},
        )

    def mark_withdrawn(self, *, reason: str, when=None) -> None:
        """published → withdrawn: a tombstone with a public reason; the data is kept."""
        when = when or timezone.now()
        self._move(
            self.State.WITHDRAWN,
            (self.State.PUBLISHED,),
            {"withdrawn_at": when, "withdrawn_reason": reason, "metadata_modified_at": when},
        )

    def mark_tainted(self, *, when=None) -> None:
        """published or withdrawn → tainted: the data must go everywhere; a tombstone stays."""
        when = when or timezone.now()
        self._move(
            self.State.TAINTED,
            self.TAINTABLE,
            {"tainted_at": when, "metadata_modified_at": when},
        )


class Entity(models.Model):
    """A data object of a revision, as the EML declares it, and the blob that holds its bytes."""

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="entities")
    entity_id = models.CharField(max_length=300, help_text="the EML id of the entity, or a generated one")
    name = models.CharField(max_length=500)
    entity_type = models.CharField(max_length=40, default="dataTable")
    object_name = models.CharField(max_length=500, blank=True, help_text="physical/objectName: the file name")
    url = models.URLField(max_length=2000, blank=True)
    declared_size = models.BigIntegerField(null=True, blank=True)
    declared_md5 = models.CharField(max_length=32, blank=True)
    format_name = models.CharField(max_length=100, blank=True)
    mime_type = models.CharField(max_length=100, blank=True, default="application/octet-stream")
    blob = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="entities"
    )

    class Meta:
        ordering = ["revision", "id"]
        constraints = [
            models.UniqueConstraint(fields=["revision", "entity_id"], name="uniq_entity_per_revision")
        ]

    def __str__(self) -> str:
        return f"{self.revision}/{self.entity_id}"


class Resource(models.Model):
    """The resource registry: one row per resource, with the columns of PASTA's resource_registry."""

    class Type(models.TextChoices):
        DATA = "data"
        METADATA = "metadata"
        REPORT = "report"
        DATA_PACKAGE = "dataPackage"

    resource_id = models.CharField(max_length=500, unique=True, help_text="the resource's URL")
    doi = models.CharField(max_length=200, blank=True)
    resource_type = models.CharField(max_length=20, choices=Type.choices)
    resource_location = models.CharField(max_length=500, blank=True)
    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="resources")
    package_id = models.CharField(max_length=200, db_index=True)
    scope = models.CharField(max_length=100)
    identifier = models.PositiveIntegerField()
    revision_number = models.PositiveIntegerField()
    entity = models.ForeignKey(
        Entity, null=True, blank=True, on_delete=models.CASCADE, related_name="resources"
    )
    # PASTA's entity_id column (the EML id); ``entity`` is the row itself.
    eml_entity_id = models.CharField("entity id", max_length=300, blank=True)
    entity_name = models.CharField(max_length=500, blank=True)
    principal_owner = models.CharField(max_length=254)
    date_created = models.DateTimeField(default=timezone.now)
    date_deactivated = models.DateTimeField(null=True, blank=True)
    filename = models.CharField(max_length=500, blank=True)
    md5_checksum = models.CharField(max_length=32, blank=True)
    sha1_checksum = models.CharField(max_length=40, blank=True)
    format_type = models.CharField(max_length=100, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    resource_size = models.BigIntegerField(null=True, blank=True)
    data_format = models.CharField(max_length=100, blank=True)
    blob = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="resources"
    )

    class Meta:
        ordering = ["package_id", "resource_type", "eml_entity_id"]
        indexes = [models.Index(fields=["scope", "identifier", "revision_number"], name="resource_pkg_rev")]

    def __str__(self) -> str:
        return self.resource_id
