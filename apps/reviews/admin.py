from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import FieldChange, Review, ReviewDecision


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("pk", "content_type", "object_id", "state", "updated_at", "approved_at")
    list_filter = ("state",)


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ReadOnlyAdmin):
    list_display = ("review", "user", "role", "decision", "current", "created_at")


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ("content_type", "object_id", "field", "user", "role", "changed_at")
