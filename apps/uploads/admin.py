from django.contrib import admin

from .models import Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    """Read-only: uploads change only through the tus endpoint, the worker and the sweep."""

    list_display = (
        "id",
        "user",
        "relative_path",
        "target_kind",
        "target_id",
        "offset",
        "length",
        "state",
        "created_at",
    )
    list_filter = ("state", "target_kind")
    search_fields = ("relative_path", "user__email", "target_id")
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
