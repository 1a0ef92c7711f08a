from django.contrib import admin

from .models import Draft, MetadataEdit, Share


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    """Read-only: shares change through the share pages (edits, versions) and publishing's withdrawal."""

    list_display = ("short_id", "package", "sharer", "created_at")
    search_fields = ("short_id", "sharer__email")
    list_select_related = ("package", "sharer")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MetadataEdit)
class MetadataEditAdmin(ShareAdmin):
    list_display = ("share", "revision", "user", "at")
    search_fields = ("share__short_id",)
    list_select_related = ("share", "revision", "user")


@admin.register(Draft)
class DraftAdmin(ShareAdmin):
    list_display = ("pk", "title", "sharer", "share", "submission", "created_at")
    search_fields = ("title", "sharer__email")
    list_select_related = ("sharer", "share", "submission")
