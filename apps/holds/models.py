"""Proprietary holds over a cruise's datasets (the data packages linked to it)."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class HoldQuerySet(models.QuerySet):
    def active(self, today: datetime.date | None = None) -> HoldQuerySet:
        """Holds in force: active and not yet at their end date (a hold ends at the start of ``ends_on``)."""
        return self.filter(state=Hold.State.ACTIVE, ends_on__gt=today or timezone.now().date())

    def covering(self, revision) -> HoldQuerySet:
        """The holds in force over ``revision`` (its package's cruise, all packages or this one), the
        latest-ending first: ``.first()`` is the hold that decides when the revision is released."""
        package = revision.package
        if package.cruise_id is None:
            return self.none()
        return (
            self.active()
            .filter(cruise_id=package.cruise_id)
            .filter(Q(all_packages=True) | Q(packages=package))
            .order_by("-ends_on")
            .distinct()
        )


class Hold(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Ended at its date"
        LIFTED = "lifted", "Lifted"

    cruise = models.ForeignKey("cruises.Cruise", on_delete=models.CASCADE, related_name="holds")
    # all_packages: every package linked to the cruise, including ones linked later.
    all_packages = models.BooleanField(default=True)
    packages = models.ManyToManyField("packages.Package", blank=True, related_name="holds")
    ends_on = models.DateField(help_text="The hold ends at the start of this day (UTC).")
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = HoldQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # expire_holds scans active holds by end date.
        indexes = [models.Index(fields=["state", "ends_on"], name="hold_state_ends")]

    def __str__(self) -> str:
        return f"Hold on {self.cruise} until {self.ends_on}"

    def covered_revisions(self):
        """Every revision of the packages this hold covers, whatever their state."""
        from apps.packages.models import Revision

        qs = Revision.objects.filter(package__cruise_id=self.cruise_id)
        if not self.all_packages:
            qs = qs.filter(package__in=self.packages.all())
        return qs

    def packages_with_held_revisions(self):
        """The packages whose data this hold keeps back now (a revision of theirs it covers is held)."""
        from apps.packages.models import Package, Revision

        held = self.covered_revisions().filter(state=Revision.State.HELD)
        return Package.objects.filter(revisions__in=held).distinct()

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE and self.ends_on > timezone.now().date()
