from django.contrib import admin

from portal.admin import ReadOnlyAdmin

from .models import Event, EventLog, Instrument


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    """The per-instrument action vocabulary: data managers extend it here."""

    list_display = ("code", "name", "actions")
    search_fields = ("code", "name")


@admin.register(EventLog)
class EventLogAdmin(ReadOnlyAdmin):
    list_display = ("cruise", "state", "opened_at", "closed_at", "next_number")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_id",
        "time",
        "instrument",
        "action",
        "station",
        "cast",
        "author_name",
        "is_amendment",
    )
    list_filter = ("instrument", "is_amendment")
    search_fields = ("event_id", "comment", "station")
