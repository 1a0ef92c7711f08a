"""The audit log: an append-only event table shaped after PASTA's audit manager.

Rows are written only through ``services.record_event`` (or ``record_events``) and are never updated or
deleted by the application (``save`` refuses updates, ``delete`` refuses always).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class AppendOnlyError(RuntimeError):
    pass


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events are never changed.")

    def delete(self):
        raise AppendOnlyError("Audit events are never deleted.")


class AuditEvent(models.Model):
    class Category(models.TextChoices):
        INFO = "info"
        WARN = "warn"
        ERROR = "error"

    entry_time = models.DateTimeField(default=timezone.now, db_index=True)
    service = models.CharField(max_length=40, db_index=True, help_text="web, api, worker, or an app name")
    category = models.CharField(max_length=5, choices=Category.choices, default=Category.INFO)
    service_method = models.CharField(max_length=120, db_index=True)
    entry_text = models.TextField(blank=True)
    resource_id = models.CharField(max_length=500, blank=True, db_index=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_constraint=False
    )
    user_id_text = models.CharField(max_length=254, blank=True, help_text="who, kept if the user goes")
    user_agent = models.CharField(max_length=500, blank=True)
    groups = models.CharField(max_length=500, blank=True)
    auth_system = models.CharField(max_length=40, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-entry_time", "-id"]
        indexes = [
            # the data managers' audit page filters by user and time
            models.Index(fields=["user", "entry_time"], name="audit_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_time:%Y-%m-%d %H:%M:%S} {self.service}.{self.service_method} {self.category}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Audit events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are never deleted.")
