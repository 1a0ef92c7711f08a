"""Distribution profiles, the datasets they classify a delivery into, deep copies and restores, and the
hand-off to the national archive.

- ``Profile`` / ``Rule``: per operator and vessel, rules mapping an instrument class, vendor and model to a
  directory glob. A profile may extend a fleet template (``template``): the vessel's rules replace the
  template's rules of the same instrument class, the rest are inherited.
- ``Dataset``: one instrument system's files of one delivery (``DatasetFile`` rows), later a data package.
- ``DeepCopy``: the deep-storage copy of one delivery (progress, verification, its lease).
- ``RestoreRequest``: the operator's or chief scientist's request to restore a delivery, folder or file;
  a data manager carries it out.
- ``Accession``: the national archive's accession of a dataset's package.
- ``CruiseDistribution``: per cruise: the R2R cruise DOI and the final-migration mark.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class InstrumentClass(models.TextChoices):
    MULTIBEAM = "multibeam", "Multibeam echosounder"
    SINGLEBEAM = "singlebeam", "Single-beam echosounder"
    SUBBOTTOM = "subbottom", "Sub-bottom profiler"
    CTD = "ctd", "CTD"
    ADCP = "adcp", "ADCP"
    NAVIGATION = "navigation", "Navigation (GNSS)"
    GYRO = "gyro", "Gyrocompass / attitude"
    METEOROLOGY = "meteorology", "Meteorology"
    TSG = "tsg", "Thermosalinograph"
    FLUOROMETER = "fluorometer", "Fluorometer"
    GRAVIMETER = "gravimeter", "Gravimeter"
    MAGNETOMETER = "magnetometer", "Magnetometer"
    SOUND_SPEED = "soundspeed", "Sound velocity"
    EVENTLOG = "eventlog", "Event log"
    DOCUMENTATION = "documentation", "Documentation"
    OTHER = "other", "Other"


class Profile(models.Model):
    """A set of rules for one operator, for one vessel (``vessel``) or as a fleet template (no vessel)."""

    name = models.CharField(max_length=200)
    operator = models.ForeignKey("cruises.Organisation", on_delete=models.PROTECT, related_name="+")
    vessel = models.ForeignKey(
        "cruises.Vessel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for a fleet-standard template shared by several vessels.",
    )
    template = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overrides",
        limit_choices_to={"vessel__isnull": True},
        help_text="The fleet template this vessel profile extends; its own rules override by class.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["operator__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vessel"], condition=models.Q(vessel__isnull=False), name="uniq_profile_per_vessel"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_template(self) -> bool:
        return self.vessel_id is None

    def effective_rules(self) -> list[Rule]:
        """The rules applied, in order: this profile's own, then the template's rules of every instrument
        class this profile does not define (rule-by-class override)."""
        own = list(self.rules.all())
        if self.template_id is None:
            return own
        overridden = {r.instrument_class for r in own}
        inherited = [r for r in self.template.rules.all() if r.instrument_class not in overridden]
        return own + inherited


class Rule(models.Model):
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="rules")
    instrument_class = models.CharField(max_length=40, choices=InstrumentClass.choices)
    vendor = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    pattern = models.CharField(
        max_length=500,
        help_text="A glob on the path inside the delivery: * within a folder, ** across folders, ? one "
        "character, [abc] a set. E.g. 'multibeam/EM122/**/*.all'.",
    )
    position = models.PositiveIntegerField(default=0, help_text="Earlier rules win when several match.")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.instrument_class} {self.vendor} {self.model} ← {self.pattern}"

    @property
    def system_key(self) -> tuple[str, str, str]:
        return (self.instrument_class, self.vendor, self.model)


class Dataset(models.Model):
    """One instrument system's files in one delivery: a data package once submitted."""

    class State(models.TextChoices):
        CLASSIFIED = "classified", "Classified"
        PACKAGING = "packaging", "Packaging"  # the worker builds the EML and submits it
        SUBMITTED = "submitted", "Submitted"  # in the pipeline (see the package's submission)
        FAILED = "failed", "Failed"

    delivery = models.ForeignKey("deliveries.Delivery", on_delete=models.CASCADE, related_name="datasets")
    profile = models.ForeignKey(Profile, null=True, on_delete=models.SET_NULL, related_name="+")
    instrument_class = models.CharField(max_length=40, choices=InstrumentClass.choices)
    vendor = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    files_count = models.PositiveIntegerField(default=0)
    bytes_total = models.BigIntegerField(default=0)
    state = models.CharField(max_length=20, choices=State.choices, default=State.CLASSIFIED)
    package = models.OneToOneField(
        "packages.Package", null=True, blank=True, on_delete=models.PROTECT, related_name="distribution"
    )
    submission_transaction = models.CharField(max_length=64, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "instrument_class", "vendor", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "instrument_class", "vendor", "model"], name="uniq_dataset_system"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delivery} {self.label}"

    @property
    def label(self) -> str:
        system = " ".join(x for x in (self.vendor, self.model) if x)
        return f"{self.get_instrument_class_display()}{f' ({system})' if system else ''}"


class DatasetFile(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="members")
    file = models.OneToOneField("deliveries.InventoryFile", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.dataset_id}: {self.file_id}"


class DeepCopy(models.Model):
    """The deep-storage copy of one delivery. The worker copies the files in inventory order (``cursor``
    is the last inventory row done, so a restarted copy goes on where it stopped), reads each copy back
    and compares its SHA-256 with the inventory's."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting"
        COPYING = "copying", "Copying"
        VERIFIED = "verified", "Copied and verified"
        FAILED = "failed", "Failed"

    delivery = models.OneToOneField("deliveries.Delivery", on_delete=models.CASCADE, related_name="deep_copy")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    files_total = models.PositiveIntegerField(default=0)
    files_copied = models.PositiveIntegerField(default=0)
    files_verified = models.PositiveIntegerField(default=0)
    bytes_copied = models.BigIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"deep copy of {self.delivery}"


class RestoreRequest(models.Model):
    class Scope(models.TextChoices):
        DELIVERY = "delivery", "The whole delivery"
        FOLDER = "folder", "A folder"
        FILE = "file", "One file"

    class Target(models.TextChoices):
        FOLDER = "folder", "The restore folder"
        PRIMARY = "primary", "Primary storage (blobs)"

    class State(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved, restoring"
        DONE = "done", "Restored and verified"
        FAILED = "failed", "Failed"
        DECLINED = "declined", "Declined"

    delivery = models.ForeignKey("deliveries.Delivery", on_delete=models.CASCADE, related_name="restores")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    path = models.TextField(blank=True, help_text="The folder or file inside the delivery.")
    reason = models.TextField(blank=True)
    target = models.CharField(max_length=10, choices=Target.choices, default=Target.FOLDER)
    state = models.CharField(max_length=10, choices=State.choices, default=State.REQUESTED, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    files_restored = models.PositiveIntegerField(default=0)
    bytes_restored = models.BigIntegerField(default=0)
    destination = models.TextField(blank=True)
    message = models.TextField(blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"restore {self.pk} of {self.delivery}: {self.scope} {self.path}"


class Accession(models.Model):
    """The national archive's accession of a dataset's package (what it reported)."""

    package = models.OneToOneField("packages.Package", on_delete=models.CASCADE, related_name="accession")
    accession_id = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    archive = models.CharField(max_length=100, default="NCEI")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.archive} accession {self.accession_id}"


class CruiseDistribution(models.Model):
    cruise = models.OneToOneField("cruises.Cruise", on_delete=models.CASCADE, related_name="distribution")
    cruise_doi = models.CharField(
        max_length=200, blank=True, help_text="The cruise's own DOI (R2R's, e.g. 10.7284/…), for the bag."
    )
    final_migration_at = models.DateTimeField(
        null=True, blank=True, help_text="Every dataset released and archived: ready for final migration."
    )

    def __str__(self) -> str:
        return f"distribution of {self.cruise}"
