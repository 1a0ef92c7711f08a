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
        """The holds in force over ``revision``, the latest-ending first: ``.first()`` is the hold that
        decides when the revision is released. A hold covers its cruise's packages (all, or those it
        names) and, wherever they go, the packages it has already held a revision of: a package's hold
        follows the package, so naming another cruise in a new revision does not escape it."""
        package = revision.package
        followed = Q(held_packages=package)
        if package.cruise_id is not None:
            followed |= Q(cruise_id=package.cruise_id) & (Q(all_packages=True) | Q(packages=package))
        return self.active().filter(followed).order_by("-ends_on").distinct()


class Hold(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Ended at its date"
        LIFTED = "lifted", "Lifted"

    cruise = models.ForeignKey("cruises.Cruise", on_delete=models.CASCADE, related_name="holds")
    # all_packages: every package linked to the cruise, including ones linked later.
    all_packages = models.BooleanField(default=True)
    packages = models.ManyToManyField("packages.Package", blank=True, related_name="holds")
    # held_packages: the packages this hold has moved a revision of to ``held``. The hold follows them (their
    # later revisions are held, and ending the hold releases them) even when a revision names another cruise.
    held_packages = models.ManyToManyField("packages.Package", blank=True, related_name="holds_following")
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
        """Every revision of the packages this hold covers, whatever their state: its cruise's packages
        (all, or those it names) and the packages it has held a revision of, whatever cruise they name now."""
        from apps.packages.models import Revision

        by_cruise = Q(package__cruise_id=self.cruise_id)
        if not self.all_packages:
            by_cruise &= Q(package__in=self.packages.all())
        return Revision.objects.filter(by_cruise | Q(package__in=self.held_packages.all())).distinct()

    def packages_with_held_revisions(self):
        """The packages whose data this hold keeps back now (a revision of theirs it covers is held)."""
        from apps.packages.models import Package, Revision

        held = self.covered_revisions().filter(state=Revision.State.HELD)
        return Package.objects.filter(revisions__in=held).distinct()

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE and self.ends_on > timezone.now().date()
