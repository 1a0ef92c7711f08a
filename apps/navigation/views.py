from django.http import JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from apps import access
from apps.storage.http import blob_response

from .plot import speed_svg


@require_GET
def certificate(request, cruise_pk: int):
    cruise, track = access.get_track_for_user(request.user, cruise_pk)
    c = track.certificate
    context = {
        "cruise": cruise,
        "track": track,
        "c": c,
        "tests": list(c.get("tests", {}).items()),
        "flags": [(k, v) for k, v in c.get("flags", {}).items() if v],
        "skipped": [(k, v) for k, v in c.get("skipped", {}).items() if v],
        "plot": mark_safe(speed_svg(track.speed_plot, track.flagged, track.dated)),  # numbers + escaped text
        "products": list(track.products.select_related("blob")),
        "flagged": track.flagged[:50],
    }
    return render(request, "navigation/certificate.html", context)


@require_GET
def certificate_xml(request, cruise_pk: int):
    cruise, track = access.get_track_for_user(request.user, cruise_pk)
    return blob_response(
        request,
        track.certificate_xml,
        filename=f"{cruise.cruise_id}_nav_qa.xml",
        content_type="application/xml",
        inline=True,
    )


@require_GET
def certificate_json(request, cruise_pk: int):
    cruise, track = access.get_track_for_user(request.user, cruise_pk)
    return JsonResponse(track.certificate, json_dumps_params={"sort_keys": True})


@require_GET
def product(request, cruise_pk: int, name: str):
    p = access.get_track_product_for_user(request.user, cruise_pk, name)
    return blob_response(request, p.blob, filename=p.name, content_type=p.media_type)
