"""Read-only views for data managers; mirrors are registered and checked through the catalog's pages and
services (which write the audit events), never edited here."""

from django.contrib import admin

from .models import Deposit, Mirror, MirrorCheck


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Mirror)
class MirrorAdmin(_ReadOnly):
    list_display = ["revision", "kind", "health", "last_checked_at", "verified_at"]
    list_filter = ["kind", "health"]


@admin.register(MirrorCheck)
class MirrorCheckAdmin(_ReadOnly):
    list_display = ["mirror", "at", "kind", "ok", "files_checked", "bytes_read"]
    list_filter = ["ok", "kind"]


@admin.register(Deposit)
class DepositAdmin(_ReadOnly):
    list_display = ["revision", "state", "doi", "attempts", "next_try_at"]
    list_filter = ["state"]
