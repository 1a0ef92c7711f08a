from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from portal.admin import ReadOnlyAdmin

from .models import ApiToken, SubmitterRequest, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "affiliation", "orcid", "is_staff", "is_active"]
    search_fields = ["email", "name", "affiliation", "orcid"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name", "affiliation", "orcid")}),
        ("Roles", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "hint", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "hint", "created_at", "last_used_at"]


@admin.register(SubmitterRequest)
class SubmitterRequestAdmin(ReadOnlyAdmin):
    """Read-only: requests are decided on /profile/submitter-requests/ (the service mails and audits)."""

    list_display = ["user", "state", "created_at", "decided_by", "decided_at"]
    list_filter = ["state"]
    search_fields = ["user__email", "user__name", "reason"]
