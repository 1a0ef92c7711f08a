from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Draft, MetadataEdit, Share


@admin.register(Share)
class ShareAdmin(ReadOnlyAdmin):
    """Read-only: shares change through the share pages (edits, versions) and publishing's withdrawal."""

    list_display = ("short_id", "package", "sharer", "created_at")
    search_fields = ("short_id", "sharer__email")
    list_select_related = ("package", "sharer")


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
