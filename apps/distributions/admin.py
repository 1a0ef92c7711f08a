"""Read-only admin views: profiles are edited on their own pages and by API (through the services, which
check the rules and write the audit events), never here."""

from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Accession, CruiseDistribution, Dataset, DeepCopy, Profile, RestoreRequest


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("name", "operator", "vessel", "template", "updated_at")


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "instrument_class", "vendor", "model", "files_count", "state", "package")
    list_filter = ("state", "instrument_class")


@admin.register(DeepCopy)
class DeepCopyAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "state", "files_total", "files_copied", "files_verified", "last_check_ok")
    list_filter = ("state",)


@admin.register(RestoreRequest)
class RestoreRequestAdmin(ReadOnlyAdmin):
    list_display = ("delivery", "scope", "path", "target", "state", "requested_by", "handled_by")
    list_filter = ("state",)


@admin.register(Accession)
class AccessionAdmin(ReadOnlyAdmin):
    list_display = ("package", "archive", "accession_id", "url", "reported_at")


@admin.register(CruiseDistribution)
class CruiseDistributionAdmin(ReadOnlyAdmin):
    list_display = ("cruise", "cruise_doi", "final_migration_at")
