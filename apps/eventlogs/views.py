from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps import access

from . import services
from .forms import EntryForm
from .models import Instrument

RECENT = 25  # entries under the form: enough to see what was just logged, small on a slow link


def log_page(request, cruise_pk: int):
    cruise, log = access.get_eventlog_for_user(request.user, cruise_pk)
    can_write = access.can_write_eventlog(request.user, cruise)
    form = None
    status = 200
    if can_write:
        if request.method == "POST":
            form = EntryForm(request.POST)
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
                # Keep the instrument, station and cast for the next entry: casts come in runs.
                query = f"?instrument={event.instrument}&station={event.station}&cast={event.cast}"
                return redirect(request.path + query)
        else:
            form = EntryForm(initial={k: request.GET.get(k, "") for k in ("instrument", "station", "cast")})
    elif request.method == "POST":
        access.require_eventlog_writer(request.user, cruise)
    events = list(log.events.order_by("-number")[:RECENT])
    vocab = {i.code: i.actions for i in Instrument.objects.all()}
    return render(
        request,
        "eventlogs/log.html",
        {
            "cruise": cruise,
            "log": log,
            "form": form,
            "events": events,
            "vocab": vocab,
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
