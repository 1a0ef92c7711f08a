from django.contrib import admin

from .models import Blob


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ["sha256", "size", "md5", "created_at", "deep_copied_at", "last_fixity_at", "fixity_ok"]
    search_fields = ["sha256", "md5", "sha1"]
    readonly_fields = [
        "sha256",
        "size",
        "md5",
        "sha1",
        "created_at",
        "deep_copied_at",
        "last_fixity_at",
        "fixity_ok",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
