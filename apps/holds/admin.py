from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Hold


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ("cruise", "all_packages", "ends_on", "state", "created_by", "ended_at")
    list_filter = ("state",)
