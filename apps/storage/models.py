"""Content-addressed, immutable blobs.

A blob is named by the SHA-256 of its bytes; its object key in storage is derived from that name, so
writing the same content twice stores it once, and a blob never changes after it is written.
"""

from django.db import models
from django.utils import timezone


def blob_key(sha256: str) -> str:
    """The object key of a blob: ``sha256/ab/cd/abcd…`` (fan-out keeps directories small)."""
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Blob(models.Model):
    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32, db_index=True)
    sha1 = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Tiers: the primary ("blobs") always holds it; deep storage once copied during a hold or archive.
    deep_copied_at = models.DateTimeField(null=True, blank=True)
    # Set when the blob became part of an archive (request_deep_copy): it must then reach deep storage.
    deep_requested_at = models.DateTimeField(null=True, blank=True)
    # The lease of the background work on this blob (deep copy, fixity), see portal.tasks.claim.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_fixity_at = models.DateTimeField(null=True, blank=True)
    fixity_ok = models.BooleanField(null=True, blank=True)
    # Set once the bytes were deleted from every tier (a tainted version's data); the row stays so that
    # downloads answer 410 Gone and the sweeps skip it. Removal is final: a re-upload of the same bytes
    # is refused by nothing here, but the row keeps saying they were removed and why.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The deep-copy sweep and the data manager's "blobs without a deep copy" count.
            models.Index(
                fields=["deep_requested_at"],
                name="blob_deep_backlog",
                condition=models.Q(deep_requested_at__isnull=False, deep_copied_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]}… ({self.size} bytes)"

    def save(self, *args, **kwargs):
        # Immutable: a blob row is written once; only tier and fixity bookkeeping may change.
        if not self._state.adding:
            allowed = {
                "deep_copied_at",
                "deep_requested_at",
                "lease_owner",
                "lease_until",
                "last_fixity_at",
                "fixity_ok",
                "removed_at",
                "removed_reason",
            }
            fields = set(kwargs.get("update_fields") or ())
            if not fields or not fields <= allowed:
                raise ValueError(
                    "A blob's content fields never change; save with update_fields of tier/fixity."
                )
        super().save(*args, **kwargs)

    @property
    def key(self) -> str:
        return blob_key(self.sha256)

    @property
    def tiers(self) -> list[str]:
        if self.removed_at:
            return []
        return ["primary"] + (["deep"] if self.deep_copied_at else [])
