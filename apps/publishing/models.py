"""DOIs and their registration attempts.

A ``Doi`` is either a version DOI (one per published revision) or a concept DOI (one per package,
always resolving to the latest version). Its state follows DataCite's: ``pending`` (nothing sent yet)
→ ``draft`` (POST /dois done) → ``findable`` (event publish) or ``registered`` (event hide, used for
withdrawn versions). A failed attempt leaves the state as it was and sets ``next_try_at``; the periodic
job ``retry_due_dois`` picks it up again.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

# DataCite (like EDI) is retried at most hourly: backoff 1 min, 2, 4 … capped at one hour.
BACKOFF_FIRST_SECONDS = 60
BACKOFF_MAX_SECONDS = 3600


class Doi(models.Model):
    class Kind(models.TextChoices):
        VERSION = "version"
        CONCEPT = "concept"

    class State(models.TextChoices):
        PENDING = "pending"
        DRAFT = "draft"
        REGISTERED = "registered"
        FINDABLE = "findable"

    doi = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    package = models.ForeignKey("packages.Package", on_delete=models.CASCADE, related_name="dois")
    revision = models.OneToOneField(
        "packages.Revision", null=True, blank=True, on_delete=models.CASCADE, related_name="version_doi"
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    # The state DataCite should end in: findable, or registered (hidden) for a withdrawn version.
    target_state = models.CharField(max_length=12, choices=State.choices, default=State.FINDABLE)
    # Set when the metadata changed after the last successful sync; cleared by a successful PUT.
    needs_update = models.BooleanField(default=False)
    generation = models.PositiveIntegerField(default=0, help_text="bumped at every metadata change")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # Null = due now. The retry job takes every DOI whose next_try_at has passed (index: queue page, job).
    next_try_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # A worker claims a DOI by setting this in the future; another worker skips it until it passes.
    lease_until = models.DateTimeField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "doi"]
        constraints = [
            models.UniqueConstraint(
                fields=["package"], condition=models.Q(kind="concept"), name="uniq_concept_doi_per_package"
            ),
        ]

    def __str__(self) -> str:
        return self.doi

    @property
    def in_sync(self) -> bool:
        return self.state == self.target_state and not self.needs_update

    @property
    def label(self) -> str:
        """What the landing page says about this DOI."""
        return "DOI pending" if self.state in (self.State.PENDING, self.State.DRAFT) else f"DOI {self.state}"

    @property
    def url(self) -> str:
        return f"https://doi.org/{self.doi}"

    @property
    def resolves(self) -> bool:
        """doi.org knows it (DataCite has it registered): only then is it shown as a link."""
        return self.state in (self.State.REGISTERED, self.State.FINDABLE)

    def failures_in_a_row(self) -> int:
        """Failed attempts logged since the last successful one (all of them if none succeeded)."""
        log = self.attempt_log.all()
        last_ok = log.filter(ok=True).order_by("-id").values_list("id", flat=True).first()
        return log.filter(ok=False, **({"id__gt": last_ok} if last_ok else {})).count()

    def backoff(self) -> datetime.timedelta:
        """The wait before the next try, after the failures in a row logged so far (call once the
        failed attempt is in ``attempt_log``). Earlier successes do not count: a concept DOI updated at
        every new version has many attempts behind it, and its first failure still waits one minute."""
        seconds = BACKOFF_FIRST_SECONDS * 2 ** max(self.failures_in_a_row() - 1, 0)
        return datetime.timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


class DoiAttempt(models.Model):
    """One call (or chain of calls) to DataCite for a DOI, kept for the queue page and the audit."""

    doi = models.ForeignKey(Doi, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=40)
    ok = models.BooleanField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.doi_id} {self.action} {'ok' if self.ok else 'failed'}"


def doi_for(scope: str, identifier: int, number: int | None = None) -> str:
    """Stable, readable: ``{prefix}/{scope}.{identifier}[.{revision}]`` (lower case, as DataCite stores it)."""
    suffix = f"{scope}.{identifier}" if number is None else f"{scope}.{identifier}.{number}"
    return f"{settings.DOI_PREFIX}/{suffix}".lower()


def version_doi_name(revision) -> str:
    package = revision.package
    return doi_for(package.scope, package.identifier, revision.number)


def concept_doi_name(package) -> str:
    return doi_for(package.scope, package.identifier)
