"""Quick shares: a data package published from one page, with a short referral id.

A ``Share`` is an ordinary package (``packages.Package``) plus what the share page adds: who shared it and
its short id (``/id/<short id>``). Each version starts as a ``Draft`` (the files, stored as blobs at once,
and the attribute list proposed for each CSV, which the sharer corrects) and becomes a submission of the
ordinary pipeline (preview, then publish). Metadata edits after publication are ``MetadataEdit`` rows.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# Crockford's base32: no I, L, O or U, so an id read aloud or copied by hand is not mistaken.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_ID_LENGTH = 8  # 40 bits: a collision is retried (unique constraint), and ids are not guessable in bulk


def new_short_id() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(SHORT_ID_LENGTH))


def normalise_short_id(text: str) -> str:
    """What a person typed to what is stored: case-folded, hyphens dropped, O→0 and I/L→1 (Crockford)."""
    text = text.upper().replace("-", "")
    return text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))


class Share(models.Model):
    short_id = models.CharField(max_length=SHORT_ID_LENGTH, unique=True, default=new_short_id)
    package = models.OneToOneField("packages.Package", on_delete=models.PROTECT, related_name="share")
    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shares")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sharer", "-created_at"], name="share_sharer_recent")]  # "my shares"

    def __str__(self) -> str:
        return f"{self.short_id} ({self.package})"

    @property
    def referral_path(self) -> str:
        return f"/id/{self.short_id}"


class Draft(models.Model):
    """A version being prepared: files are blobs already; ``files`` is the list the EML is built from:
    ``[{name, sha256, size, md5, media_type, kept, attributes: [{name, kind, unit, missing}] | None,
    records, delimiter}]`` (``kept``: carried over by reference from the previous version)."""

    sharer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    share = models.ForeignKey(Share, null=True, blank=True, on_delete=models.CASCADE, related_name="drafts")
    title = models.TextField()
    description = models.TextField(blank=True)
    licence = models.CharField(max_length=40)
    files = models.JSONField(default=list)
    submission = models.OneToOneField(
        "submissions.Submission", null=True, blank=True, on_delete=models.SET_NULL, related_name="share_draft"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"draft {self.pk}: {self.title[:40]}"

    @property
    def tables(self) -> list[dict]:
        return [f for f in self.files if f.get("attributes")]


class MetadataEdit(models.Model):
    """One edit of a share's public metadata: who, when, what changed (``{field: [before, after]}``)."""

    share = models.ForeignKey(Share, on_delete=models.CASCADE, related_name="edits")
    revision = models.ForeignKey("packages.Revision", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.share.short_id} {', '.join(self.changes)} at {self.at:%Y-%m-%d %H:%M}"


class Basket(models.Model):
    """A file dropped on the share page through the resumable (tus) drop zone, once the worker stored it
    as a blob: the page's ``basket`` token (random, one per page load) collects them for ``start_draft``."""

    token = models.CharField(max_length=32, db_index=True)  # start_draft reads a basket by token
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=255)
    blob = models.ForeignKey("storage.Blob", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.token[:8]}… {self.name}"
