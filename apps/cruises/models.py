"""Organisations, vessels, ports, cruises and the people on them (R2R's side of Quayside).

The cruises work (issue 5) extends these; the foundation defines them so roles that belong to an
organisation (operator) or a cruise (chief scientist, shipboard staff) have a home from the start.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True, help_text="Where delivery and review notices go.")
    url = models.URLField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OrganisationMember(models.Model):
    class Role(models.TextChoices):
        OPERATOR = "operator", "Operator"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organisation_roles"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OPERATOR)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "user", "role"], name="uniq_org_member_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.organisation}"


class Port(models.Model):
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    unlocode = models.CharField("UN/LOCODE", max_length=5, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}, {self.country}" if self.country else self.name


class Vessel(models.Model):
    name = models.CharField(max_length=200)
    code = models.CharField(
        max_length=10, unique=True, help_text="Short vessel code used in cruise ids, e.g. RR"
    )
    call_sign = models.CharField(max_length=20, blank=True)
    imo_number = models.CharField("IMO number", max_length=10, blank=True)
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="vessels")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Cruise(models.Model):
    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        AT_SEA = "at_sea", "At sea"
        COMPLETED = "completed", "Completed"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"

    cruise_id = models.CharField(max_length=40, help_text="R2R-style cruise id, e.g. RR2401")
    vessel = models.ForeignKey(Vessel, on_delete=models.PROTECT, related_name="cruises")
    operator = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="cruises")
    departure_port = models.ForeignKey(
        Port, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    arrival_port = models.ForeignKey(Port, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    departure_date = models.DateField(null=True, blank=True)
    arrival_date = models.DateField(null=True, blank=True)
    mission_summary = models.TextField(blank=True)
    survey_targets = models.TextField(blank=True)
    instruments = models.JSONField(
        default=list, blank=True, help_text='Instruments planned, e.g. ["CTD", "ADCP"]'
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PLANNED)
    # Navigation files with no date anywhere (time of day only: no RMC/ZDA, no logger prefix) are
    # reported undated; only when the cruise says so do they take its departure date (apps.navigation).
    undated_navigation_from_departure = models.BooleanField(
        "Date undated navigation files from the departure date",
        default=False,
        help_text="A navigation file with times of day but no date anywhere is dated from the departure "
        "day. Leave off unless the logger is known to have started that day; the certificate says the "
        "date was assumed.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-departure_date", "cruise_id"]
        constraints = [
            models.UniqueConstraint(fields=["vessel", "cruise_id"], name="uniq_cruise_id_per_vessel")
        ]

    def __str__(self) -> str:
        return self.cruise_id

    # Fields that reviewers may amend (the reviews app records every change to them).
    AMENDABLE_FIELDS = (
        "mission_summary",
        "survey_targets",
        "departure_date",
        "arrival_date",
        "departure_port",
        "arrival_port",
        "instruments",
        "undated_navigation_from_departure",
    )

    @property
    def is_locked(self) -> bool:
        """Approval locks the record; only a data manager's reopening unlocks it."""
        return self.state == self.State.APPROVED

    # State transitions. Other apps' services call these (event logs: sailed, completed; reviews: in
    # review, approved) inside their transaction; each locks the row, checks the move and saves only
    # the state. The at-sea and completed moves follow the ship and are skipped (False) when the record
    # is already further on; the review moves are refused with TransitionRefused when not allowed.

    class TransitionRefused(ValueError):
        """A state change the cruise record's state machine does not allow."""

    def _move(self, to: str, allowed: tuple, *, refuse: bool) -> bool:
        locked = Cruise.objects.select_for_update().only("pk", "state", "cruise_id").get(pk=self.pk)
        if locked.state not in allowed:
            self.state = locked.state
            if refuse:
                raise self.TransitionRefused(
                    f"Cruise {locked.cruise_id} is {locked.state}; it cannot become {to}."
                )
            return False
        locked.state = self.state = to
        locked.save(update_fields=["state"])
        return True

    def mark_at_sea(self) -> bool:
        """planned → at sea: its event log was opened on leaving port. Call inside a transaction."""
        return self._move(self.State.AT_SEA, (self.State.PLANNED,), refuse=False)

    def mark_completed(self) -> bool:
        """planned or at sea → completed: its event log was closed. Call inside a transaction."""
        return self._move(self.State.COMPLETED, (self.State.PLANNED, self.State.AT_SEA), refuse=False)

    def mark_in_review(self) -> None:
        """→ in review: a review was requested, or an approved record reopened. Call inside a transaction."""
        self._move(self.State.IN_REVIEW, tuple(self.State), refuse=True)

    def mark_approved(self) -> None:
        """in review → approved (the record locks). Call inside a transaction."""
        self._move(self.State.APPROVED, (self.State.IN_REVIEW,), refuse=True)

    @property
    def chief_scientist(self) -> "CruiseMember | None":
        return next((m for m in self.members.all() if m.role == CruiseMember.Role.CHIEF_SCIENTIST), None)


class CruiseMember(models.Model):
    """A person on (or responsible for) a cruise. ``user`` may be empty until an invitation is accepted."""

    class Role(models.TextChoices):
        CHIEF_SCIENTIST = "chief_scientist", "Chief scientist"
        SCIENCE_PARTY = "science_party", "Science party"
        SHIPBOARD_STAFF = "shipboard_staff", "Shipboard staff"
        OPERATOR_CONTACT = "operator_contact", "Operator contact"

    cruise = models.ForeignKey(Cruise, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cruise_roles",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    affiliation = models.CharField(max_length=300, blank=True)
    orcid = models.CharField(max_length=19, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        ordering = ["role", "name"]
        indexes = [models.Index(fields=["user", "role"], name="cruise_member_user_role")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()}, {self.cruise})"

    @property
    def invited(self) -> bool:
        """An invitation went out and is not yet accepted: the person has no account here but an e-mail
        address (``services._add_member`` invites exactly these). A name without an address, as sailing
        orders often list the science party, was never invited."""
        return self.user_id is None and bool(self.email)


class Award(models.Model):
    cruise = models.ForeignKey(Cruise, on_delete=models.CASCADE, related_name="awards")
    funder = models.CharField(max_length=200)
    funder_identifier = models.CharField(
        max_length=200, blank=True, help_text="e.g. a Crossref Funder ID / ROR"
    )
    number = models.CharField(max_length=100)
    title = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return f"{self.funder} {self.number}"


class CruiseFile(models.Model):
    """An immutable file attached to a cruise (its distribution): event-log final copies, sailing orders.

    The delivery work extends this with end-of-cruise distributions; ``kind`` tells what a file is.
    """

    class Kind(models.TextChoices):
        EVENTLOG_CSV = "eventlog_csv", "Event log (CSV)"
        EVENTLOG_JSON = "eventlog_json", "Event log (JSON)"
        SAILING_ORDERS = "sailing_orders", "Sailing orders (XML)"
        OTHER = "other", "Other"

    cruise = models.ForeignKey(Cruise, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    filename = models.CharField(max_length=300)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cruise", "kind", "filename"]
        constraints = [models.UniqueConstraint(fields=["cruise", "filename"], name="uniq_cruise_filename")]

    def __str__(self) -> str:
        return f"{self.cruise}/{self.filename}"
