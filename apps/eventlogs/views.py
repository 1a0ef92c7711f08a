from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps import access

from . import position, services
from .forms import EntryForm, vocabulary
from .models import Instrument

RECENT = 25  # entries under the form: enough to see what was just logged, small on a slow link


def log_page(request, cruise_pk: int):
    cruise, log = access.get_eventlog_for_user(request.user, cruise_pk)
    can_write = access.can_write_eventlog(request.user, cruise)
    instruments = list(Instrument.objects.all())
    form = None
    status = 200
    if can_write:
        if request.method == "POST":
            form = EntryForm(request.POST, instruments=instruments)
            data = {
                k: request.POST.get(k, "")
                for k in (
                    "idempotency_key",
                    "instrument",
                    "action",
                    "station",
                    "cast",
                    "time",
                    "latitude",
                    "longitude",
                    "comment",
                )
            }
            try:
                event, created = services.add_entry(cruise, request.user, data, request=request)
            except services.EventLogError as exc:
                for field, errs in exc.errors.items():
                    for e in errs:
                        form.add_error(None if field not in form.fields else field, e)
                status = 400
            else:
                messages.success(
                    request,
                    f"{event.event_id} logged."
                    if created
                    else f"{event.event_id} was already logged (retry ignored).",
                )
                # Keep the instrument, station and cast for the next entry: casts come in runs. (With
                # JavaScript the page never reloads; this is the form's path without it.)
                query = urlencode(
                    {"instrument": event.instrument, "station": event.station, "cast": event.cast}
                )
                return redirect(f"{request.path}?{query}")
        else:
            form = EntryForm(
                initial={k: request.GET.get(k, "") for k in ("instrument", "station", "cast")},
                instruments=instruments,
            )
    elif request.method == "POST":
        access.require_eventlog_writer(request.user, cruise)
    events = list(log.events.order_by("-number")[:RECENT])
    return render(
        request,
        "eventlogs/log.html",
        {
            "cruise": cruise,
            "log": log,
            "form": form,
            "events": events,
            "vocab": vocabulary(instruments),
            "recent": RECENT,
            "api_url": reverse("api-eventlog-entries", args=[cruise.pk]),
            # The way back after a lapsed session: the queue waits in localStorage and flushes on return.
            "login_url": f"{reverse('account_login')}?{urlencode({'next': request.path})}",
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
            "position_feed": bool(settings.EVENTLOG_POSITION_FEED_URL),
            "total": log.next_number - 1,
            "can_manage": access.can_manage_eventlog(request.user, cruise),
        },
        status=status,
    )


@login_required
@require_POST
def open_log(request, cruise_pk: int):
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    try:
        services.open_log(cruise, request.user, request=request)
    except services.EventLogError as exc:
        messages.error(request, str(exc.errors["__all__"][0]))
        return redirect("cruises:detail", pk=cruise.pk)
    messages.success(request, "Event log opened. Fair winds.")
    return redirect("eventlogs:log", cruise_pk=cruise.pk)


@login_required
@require_POST
def close_log(request, cruise_pk: int):
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    try:
        log = services.close_log(cruise, request.user, request=request)
    except services.EventLogError as exc:
        messages.error(request, str(exc.errors["__all__"][0]))
    else:
        messages.success(request, f"Event log closed; final copy SHA-256 {log.final_csv.sha256[:16]}… (CSV).")
    return redirect("cruises:detail", pk=cruise.pk)


@require_GET
def ship_position(request, cruise_pk: int):
    """The ship's latest position from the navigation feed (``EVENTLOG_POSITION_FEED_URL``), for the
    page's "Use the ship's position" button: ``{latitude, longitude, time}``; 404 without a feed, 502 when
    the feed does not answer usefully. Only the log's writers ask (it is where the ship is)."""
    cruise, _ = access.get_eventlog_for_user(request.user, cruise_pk)
    access.require_eventlog_writer(request.user, cruise)
    if not settings.EVENTLOG_POSITION_FEED_URL:
        return JsonResponse({"error": "No navigation feed is configured on this portal."}, status=404)
    try:
        fix = position.read_feed(settings.EVENTLOG_POSITION_FEED_URL)
    except position.FeedError as exc:
        return JsonResponse({"error": str(exc)}, status=502)
    return JsonResponse(fix)
