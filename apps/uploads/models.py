"""A resumable upload (tus 1.0): the bytes a client is sending, where they are going, and how far they got.

An upload is created by a tus POST, grows by PATCH requests (its bytes wait in
``SCRATCH_DIR/uploads/<id>``, never as a blob), and once complete is handed to the worker, which places
it — as a content-addressed blob, or through the handler registered for its target (``targets.py``:
``delivery=<pk>`` places the file in a delivery's upload folder). States::

    receiving → received → placing → done
        │           └──────────┴────→ failed   (checksum mismatch, refused path, …)
        ├→ cancelled (tus DELETE)
        └→ expired   (no byte for UPLOADS_EXPIRE_HOURS; its bytes are removed)
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


class Upload(models.Model):
    class State(models.TextChoices):
        RECEIVING = "receiving", "Receiving"
        RECEIVED = "received", "Received, waiting for the worker"
        PLACING = "placing", "Being stored"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    # States whose bytes are still in scratch and must not be swept.
    LIVE_STATES = (State.RECEIVING, State.RECEIVED, State.PLACING)
    # States a tus client can no longer resume: answered 410 Gone.
    GONE_STATES = (State.CANCELLED, State.EXPIRED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    length = models.BigIntegerField(help_text="Upload-Length: the whole file, in bytes.")
    offset = models.BigIntegerField(
        default=0, help_text="Bytes received and flushed to disk (what HEAD answers as Upload-Offset)."
    )
    filename = models.CharField(max_length=255, blank=True)
    relative_path = models.TextField(
        blank=True, help_text="Where the file goes under its target ('/'-separated)."
    )
    # NFC + case-folded relative path: two uploads to one target may not collide (docs/uploads.md).
    path_key = models.TextField(blank=True)
    filetype = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="Upload-Metadata, decoded.")
    target_kind = models.CharField(max_length=40, blank=True, help_text="e.g. 'delivery'; empty = a blob.")
    target_id = models.CharField(max_length=100, blank=True)
    # A whole-file checksum the client declared in the metadata (sha256, sha1 or md5), checked by the worker.
    checksum_algorithm = models.CharField(max_length=10, blank=True)
    checksum = models.CharField(max_length=128, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.RECEIVING)
    error = models.TextField(blank=True)
    result = models.TextField(blank=True, help_text="Where the worker placed the file.")
    blob = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's claim while it places the file (portal.tasks.claim).
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # /uploads/ and GET /api/uploads/: one person's uploads, newest first.
            models.Index(fields=["user", "-created_at"], name="upload_user_recent"),
            # The expiry sweep and the "received but not placed" re-dispatch.
            models.Index(fields=["state", "expires_at"], name="upload_state_expiry"),
            # Path collisions between live uploads to one target.
            models.Index(fields=["target_kind", "target_id", "path_key"], name="upload_target_path"),
        ]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.relative_path or self.filename})"

    @property
    def path(self) -> Path:
        """Where the bytes wait (SCRATCH_DIR/uploads/<id>)."""
        return Path(settings.SCRATCH_DIR) / "uploads" / str(self.pk)

    @property
    def is_expired(self) -> bool:
        return self.state == self.State.EXPIRED or (
            self.state == self.State.RECEIVING and self.expires_at <= timezone.now()
        )

    @property
    def is_gone(self) -> bool:
        return self.state in self.GONE_STATES or self.is_expired

    @property
    def percent(self) -> int:
        return 100 if not self.length else int(self.offset * 100 // self.length)

    @property
    def target(self) -> str:
        return f"{self.target_kind}={self.target_id}" if self.target_kind else ""
