from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "entry_time",
        "service",
        "category",
        "service_method",
        "resource_id",
        "status_code",
        "user_id_text",
    )
    list_filter = ("service", "category")
    search_fields = ("service_method", "resource_id", "entry_text", "user_id_text")
    date_hierarchy = "entry_time"
