"""Reviews: a request that named roles review, amend and approve a target (a cruise record now, data
packages later). Generic over the target through contenttypes; what a role means for a kind of target
is answered by ``apps.reviews.targets``."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class Review(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Waiting for reviewers"
        RETURNED = "returned", "Returned for changes"
        APPROVED = "approved", "Approved"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    required_roles = models.JSONField(
        default=list, help_text='Roles that must approve, e.g. ["operator", "chief_scientist"]'
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        # The inbox and the cruise page look reviews up by target.
        indexes = [models.Index(fields=["content_type", "object_id"], name="review_target")]

    def __str__(self) -> str:
        return f"Review of {self.target}"


class ReviewDecision(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        RETURN = "return", "Returned"
        COMMENT = "comment", "Commented"
        REOPEN = "reopen", "Reopened"
        RESUBMIT = "resubmit", "Resubmitted"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    role = models.CharField(max_length=40)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    # An approval stops counting when the record changes after it (amendment, return, reopening).
    current = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role} {self.decision}"


class FieldChange(models.Model):
    """One amended field: who, when, which field, old and new value (the visible history)."""

    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=100)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    role = models.CharField(max_length=40, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="fieldchange_target")]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value!r} → {self.new_value!r}"
