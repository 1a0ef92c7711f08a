"""Read-only views for data managers; mirrors are registered and checked through the catalog's pages and
services (which write the audit events), never edited here."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Deposit, Mirror, MirrorCheck


@admin.register(Mirror)
class MirrorAdmin(ReadOnlyAdmin):
    list_display = ["revision", "kind", "health", "last_checked_at", "verified_at"]
    list_filter = ["kind", "health"]


@admin.register(MirrorCheck)
class MirrorCheckAdmin(ReadOnlyAdmin):
    list_display = ["mirror", "at", "kind", "ok", "files_checked", "bytes_read"]
    list_filter = ["ok", "kind"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["revision", "state", "doi", "attempts", "next_try_at"]
    list_filter = ["state"]
