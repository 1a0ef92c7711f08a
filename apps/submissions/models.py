"""Submissions: one attempt to take an EML data package in, and the steps of its pipeline.

A submission keeps the EML it was given (EML documents are small; keeping the text makes every step
repeatable by any worker), the files uploaded with it, its ``Step`` rows and its quality report. A
failed submission keeps its report; nothing it fetched is referenced by an archived revision.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_transaction_id() -> str:
    # PASTA names its transactions like "create_1364424395220_knb-lter-xyz"; a UUID is unique and unguessable.
    return uuid.uuid4().hex


class Submission(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        EVALUATE = "evaluate"

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    transaction = models.CharField(max_length=64, unique=True, default=new_transaction_id)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CREATE)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions")
    package_id_text = models.CharField(max_length=200, blank=True, help_text="packageId as the EML states it")
    revision = models.ForeignKey(
        "packages.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    eml_text = models.TextField(help_text="the EML document as submitted (UTF-8)")
    eml_filename = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True, help_text="why the submission failed, for PASTA's /package/error")
    report_xml = models.TextField(blank=True, help_text="the quality report (PASTA's XML form)")
    report_status = models.CharField(max_length=10, blank=True, help_text="worst status in the report")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="submission_user_recent")
        ]  # "my submissions"

    def __str__(self) -> str:
        return f"{self.kind} {self.package_id_text or self.transaction}"

    @property
    def eml_bytes(self) -> bytes:
        return self.eml_text.encode("utf-8")

    @property
    def finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED)


class SubmissionFile(models.Model):
    """A data file uploaded with the EML (it then needs no URL). Stored as a blob until archiving."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=500)
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["submission", "filename"]

    def __str__(self) -> str:
        return self.filename


class Step(models.Model):
    class Name(models.TextChoices):
        VALIDATE = "validate", "Validate EML"
        FETCH = "fetch", "Fetch data"
        CHECK = "check", "Check data"
        ARCHIVE = "archive", "Archive"
        INDEX = "index", "Index for search"
        REGISTER = "register", "Register DOI"

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        SKIPPED = "skipped"

    ORDER = [Name.VALIDATE, Name.FETCH, Name.CHECK, Name.ARCHIVE, Name.INDEX, Name.REGISTER]
    EVALUATE_ORDER = [Name.VALIDATE, Name.FETCH, Name.CHECK]

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=10, choices=Name.choices)
    position = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The outbox: a step is due to run from ``due_at`` (written in the transaction that makes it due);
    # ``dispatched_at`` says when it was last sent to the broker. The dispatcher sends due steps that
    # were never sent, or were sent long ago and still nobody claimed them (a lost message).
    due_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The lease (portal.tasks.claim): a running step is someone's until ``lease_until``; its worker
    # renews it while working, and the sweeper re-queues a running step whose lease has passed.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Start of the current run of temporary errors; the step fails once it outlasts the retry budget.
    failing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["submission", "position"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "name"], name="uniq_step_per_submission")
        ]
        indexes = [
            # The dispatcher's and /healthz's "due and not yet claimed" (oldest due_at first).
            models.Index(fields=["state", "due_at"], name="step_due"),
            # The sweeper's "running with an expired lease".
            models.Index(fields=["state", "lease_until"], name="step_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.submission_id}:{self.name}={self.state}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
