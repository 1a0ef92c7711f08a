"""Read-only views for data managers: torrents are built by the worker and health is written by the
seeder, never edited here."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import SwarmHealth, Torrent


@admin.register(Torrent)
class TorrentAdmin(ReadOnlyAdmin):
    list_display = ["revision", "state", "infohash", "total_size", "file_count", "built_at"]
    list_filter = ["state"]
    search_fields = ["infohash"]


@admin.register(SwarmHealth)
class SwarmHealthAdmin(ReadOnlyAdmin):
    list_display = ["torrent", "source", "seeds", "peers", "completed", "uploaded", "updated_at"]
    list_filter = ["source"]
