"""Shipboard event logs: one log per cruise, entries numbered ``CRUISEID-0001`` without races."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class Instrument(models.Model):
    """The per-instrument vocabulary of actions (``CTD`` → deploy, at bottom, recover …)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    actions = models.JSONField(
        default=list, help_text='Allowed actions, e.g. ["deploy", "at bottom", "recover"]'
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


# The vocabulary every portal starts with; data managers extend it in the admin.
DEFAULT_INSTRUMENTS = [
    ("CTD", "CTD rosette", ["deploy", "at depth", "at bottom", "bottle fire", "recover", "abort"]),
    ("ADCP", "Acoustic Doppler current profiler", ["start logging", "stop logging", "note"]),
    ("MBES", "Multibeam echo sounder", ["start line", "end line", "start logging", "stop logging"]),
    ("NET", "Plankton net", ["deploy", "at depth", "recover", "abort"]),
    ("CORER", "Sediment corer", ["deploy", "at bottom", "recover", "abort"]),
    ("XBT", "Expendable bathythermograph", ["launch", "failed"]),
    ("MOORING", "Mooring", ["deploy", "release", "recover"]),
    ("UWAY", "Underway systems", ["start logging", "stop logging", "note"]),
    (
        "SHIP",
        "Ship operations",
        ["depart port", "arrive port", "on station", "off station", "note", "amendment"],
    ),
]


def ensure_default_instruments() -> None:
    for code, name, actions in DEFAULT_INSTRUMENTS:
        Instrument.objects.get_or_create(code=code, defaults={"name": name, "actions": actions})


class EventLog(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    cruise = models.OneToOneField("cruises.Cruise", on_delete=models.CASCADE, related_name="eventlog")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # The counter behind event numbers; read and incremented under select_for_update of this row.
    next_number = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    final_csv = models.ForeignKey(
        "cruises.CruiseFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    final_json = models.ForeignKey(
        "cruises.CruiseFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"Event log of {self.cruise}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class Event(models.Model):
    # No index of its own: the unique (log, number) index serves every look-up by log.
    log = models.ForeignKey(EventLog, on_delete=models.CASCADE, related_name="events", db_index=False)
    number = models.PositiveIntegerField()
    event_id = models.CharField(max_length=60, help_text="CRUISEID-0001")
    idempotency_key = models.CharField(
        max_length=64, help_text="Chosen by the client; a retry with the same key returns the first entry."
    )
    time = models.DateTimeField(default=timezone.now, help_text="UTC")
    latitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    station = models.CharField(max_length=40, blank=True)
    cast = models.CharField(max_length=40, blank=True)
    instrument = models.CharField(max_length=40)
    action = models.CharField(max_length=60)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_name = models.CharField(max_length=200, blank=True)
    comment = models.TextField(blank=True)
    is_amendment = models.BooleanField(default=False)
    # Indexed only where set (amendments are rare): one index write fewer for every plain entry.
    amends = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="amendments", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["log", "number"]
        indexes = [
            models.Index(fields=["amends"], name="event_amends", condition=models.Q(amends__isnull=False))
        ]
        constraints = [
            models.UniqueConstraint(fields=["log", "number"], name="uniq_event_number"),
            models.UniqueConstraint(fields=["log", "idempotency_key"], name="uniq_event_idempotency_key"),
        ]

    def __str__(self) -> str:
        return self.event_id
