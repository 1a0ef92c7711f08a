from django.contrib import admin

from .models import Artifact, RevisionBuild


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = [
        "path",
        "kind",
        "revision",
        "cruise",
        "blob",
        "created_at",
        "verified_at",
        "verified_identical",
    ]
    list_filter = ["kind", "verified_identical"]
    search_fields = ["path", "blob__sha256"]
    raw_id_fields = ["revision", "cruise", "entity", "blob", "manifest"]
    # Artifacts are made by builds (apps.artifacts.manifests.record_build), never edited by hand.
    readonly_fields = [f.name for f in Artifact._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(RevisionBuild)
class RevisionBuildAdmin(admin.ModelAdmin):
    list_display = ["revision", "state", "attempts", "requested_at", "built_at", "message"]
    list_filter = ["state"]
    raw_id_fields = ["revision"]
    readonly_fields = [f.name for f in RevisionBuild._meta.fields]

    def has_add_permission(self, request):
        return False
