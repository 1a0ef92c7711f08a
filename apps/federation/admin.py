from django.contrib import admin

from .models import HarvestRun, HarvestSource, LocalMirror, RemoteRecord


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    list_display = ("base_url", "metadata_prefix", "set_spec", "state", "record_count", "last_harvest_at")
    readonly_fields = ("last_response_date", "lease_owner", "lease_until", "record_count", "deleted_count")


@admin.register(HarvestRun)
class HarvestRunAdmin(admin.ModelAdmin):
    list_display = ("source", "started_at", "state", "pages", "records", "deleted", "rejected")
    list_filter = ("state",)


@admin.register(RemoteRecord)
class RemoteRecordAdmin(admin.ModelAdmin):
    list_display = ("identifier", "title", "source", "datestamp", "deleted")
    list_filter = ("deleted", "source")
    search_fields = ("identifier", "title")


@admin.register(LocalMirror)
class LocalMirrorAdmin(admin.ModelAdmin):
    list_display = ("record", "state", "requested_at", "finished_at")
