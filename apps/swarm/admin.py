"""Read-only views for data managers: torrents are built by the worker and health is written by the
seeder, never edited here."""

from django.contrib import admin

from .models import SwarmHealth, Torrent


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Torrent)
class TorrentAdmin(_ReadOnly):
    list_display = ["revision", "state", "infohash", "total_size", "file_count", "built_at"]
    list_filter = ["state"]
    search_fields = ["infohash"]


@admin.register(SwarmHealth)
class SwarmHealthAdmin(_ReadOnly):
    list_display = ["torrent", "source", "seeds", "peers", "completed", "uploaded", "updated_at"]
    list_filter = ["source"]
