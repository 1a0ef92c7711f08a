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


# The services the audit middleware records a web request under; no service records events under these.
REQUEST_SERVICES = ("web", "api")


class AuditEvent(models.Model):
    class Category(models.TextChoices):
        INFO = "info"
        WARN = "warn"
        ERROR = "error"

    entry_time = models.DateTimeField(default=timezone.now, db_index=True)
    service = models.CharField(max_length=40, help_text="web, api, worker, or an app name")
    category = models.CharField(max_length=5, choices=Category.choices, default=Category.INFO)
    service_method = models.CharField(max_length=120)
    entry_text = models.TextField(blank=True)
    resource_id = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    user = models.ForeignKey(  # looked up through the (user, entry_time) index below
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        db_index=False,
    )
    user_id_text = models.CharField(max_length=254, blank=True, help_text="who, kept if the user goes")
    user_agent = models.CharField(max_length=500, blank=True)
    groups = models.CharField(max_length=500, blank=True)
    auth_system = models.CharField(max_length=40, blank=True)
    # The web request an event was recorded in (apps.audit.context): the middleware's request row and the
    # service events of that request share it, and the audit page shows them as one action.
    request_id = models.UUIDField(null=True, blank=True, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-entry_time", "-id"]
        # Every write request inserts two rows or more, and each index is one more insertion: only the
        # indexes a query uses. The audit page filters by user and time, by service (equality) and by
        # resource id (equality: a package's history); method, resource, user and text filters are
        # "contains" (no B-tree serves those, nor the varchar_pattern_ops twins Django adds to a CharField
        # with db_index, which only serve prefixes), and the (user, entry_time) index serves "by user".
        indexes = [
            models.Index(fields=["user", "entry_time"], name="audit_user_time"),
            models.Index(fields=["service"], name="audit_service"),
            models.Index(fields=["resource_id"], name="audit_resource"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_time:%Y-%m-%d %H:%M:%S} {self.service}.{self.service_method} {self.category}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Audit events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events are never deleted.")

    @property
    def is_request(self) -> bool:
        """Whether this is the middleware's row for a web request rather than a service's event."""
        return self.service in REQUEST_SERVICES
