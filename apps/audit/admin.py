from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
