"""The event log's parts of a cruise's pages (registered with apps.cruises.extensions in ``ready()``)."""

from __future__ import annotations

from django.db.models import Count, Max, Min
from lxml import etree

from .models import Event, EventLog


def page_context(request, cruise, context: dict) -> None:
    context["eventlog"] = EventLog.objects.filter(cruise=cruise).first()


def event_summary(cruise, summary: etree._Element) -> None:
    """Fill the operations report's ``eventSummary``: the log's state, counts and one row per instrument."""
    log = EventLog.objects.filter(cruise=cruise).first()
    if log is None:
        return
    summary.set("state", log.state)
    events = Event.objects.filter(log=log)
    agg = events.aggregate(n=Count("pk"), first=Min("time"), last=Max("time"))
    summary.set("events", str(agg["n"]))
    if agg["first"]:
        summary.set("first", agg["first"].isoformat())
        summary.set("last", agg["last"].isoformat())
    rows = (
        events.values("instrument")
        .annotate(n=Count("pk"), stations=Count("station", distinct=True))
        .order_by("instrument")
    )
    for row in rows:
        etree.SubElement(
            summary,
            "instrument",
            code=row["instrument"],
            events=str(row["n"]),
            stations=str(row["stations"]),
        )
