import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps import access
from apps.access import roles
from apps.cruises.models import Cruise
from portal.errors import UserError

from . import services
from .models import Region

MAX_UPLOAD = 50 * 1024 * 1024


def _date(value: str, label: str, errors: list[str]) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label} must look like 2024-03-01.")
        return None


def regions(request):
    """Public: "which cruises entered this region between these dates?" — and, for a data manager, the
    form that loads a gazetteer."""
    get = request.GET
    errors: list[str] = []
    region = None
    if get.get("region"):
        region = Region.objects.filter(pk=get["region"]).first() if get["region"].isdigit() else None
        if region is None:
            errors.append("No such region.")
    start, end = _date(get.get("start", ""), "From", errors), _date(get.get("end", ""), "To", errors)
    if start and end and start > end:
        errors.append("The dates are reversed.")
    cruises = None
    if region is not None and not errors:
        pks = services.cruises_crossing(region, start, end)
        cruises = Cruise.objects.filter(pk__in=pks).select_related("vessel").order_by("departure_date", "pk")
    context = {
        "regions": Region.objects.only("pk", "name", "gazetteer"),
        "region": region,
        "params": {"start": get.get("start", ""), "end": get.get("end", "")},
        "cruises": cruises,
        "errors": errors,
        "can_load": roles.is_data_manager(request.user),
    }
    return render(request, "gazetteer/regions.html", context, status=400 if errors else 200)


@login_required
@require_POST
def upload(request):
    """A data manager loads a GeoJSON FeatureCollection of named polygons."""
    access.require_data_manager(request.user)
    f = request.FILES.get("file")
    if f is None:
        raise UserError("Choose a GeoJSON file.")
    if f.size > MAX_UPLOAD:
        raise UserError(f"At most {MAX_UPLOAD // 1024 // 1024} MB.")
    try:
        collection = json.loads(f.read())
    except ValueError as exc:
        raise UserError(f"Not JSON: {exc}") from exc
    n = services.load(
        collection,
        name_property=request.POST.get("name_property", "").strip() or "name",
        gazetteer=request.POST.get("gazetteer", "") or f.name.rsplit(".", 1)[0],
        user=request.user,
    )
    messages.success(request, f"{n} regions loaded.")
    return redirect("gazetteer:regions")
