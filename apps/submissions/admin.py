from django.contrib import admin

from .models import Step, Submission, SubmissionFile


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    can_delete = False
    readonly_fields = ["name", "position", "state", "attempts", "message", "started_at", "finished_at"]
    exclude = ["detail"]


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    # Read-only: submissions change only through apps.submissions.services.
    list_display = ["transaction", "kind", "package_id_text", "state", "report_status", "user", "created_at"]
    list_filter = ["state", "kind"]
    search_fields = ["transaction", "package_id_text", "user__email"]
    inlines = [StepInline]
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(SubmissionFile)
class SubmissionFileAdmin(admin.ModelAdmin):
    list_display = ["submission", "filename", "blob"]
    readonly_fields = ["submission", "filename", "blob"]
