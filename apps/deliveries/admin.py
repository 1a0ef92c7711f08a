from django.contrib import admin

from .models import Delivery, Flag


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("cruise", "shipment", "method", "state", "files_done", "bytes_done", "created_at")
    list_filter = ("state", "method")
    search_fields = ("cruise__cruise_id", "shipment")
    # State moves through the services (register, inventory); the admin reads.
    readonly_fields = [f.name for f in Delivery._meta.fields]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ("delivery", "kind", "target", "state", "raised_at")
    list_filter = ("state", "kind")
    readonly_fields = [f.name for f in Flag._meta.fields]
