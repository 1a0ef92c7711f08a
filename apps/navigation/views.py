from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from apps import access
from apps.storage.http import blob_response
from apps.storage.services import open_blob

from . import services
from .builds import product_manifests
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
        "products": _with_manifests(request.user, cruise, track),
        "flagged": track.flagged[:50],
    }
    return render(request, "navigation/certificate.html", context)


def _with_manifests(user, cruise, track) -> list:
    """The track's products, each with ``manifest_path`` (under ``manifests/``) where ``user`` may read
    its build manifest (the hold's rule), else None."""
    manifests = product_manifests(cruise)
    products = list(track.products.select_related("blob"))
    readable = next(iter(manifests.values()), None)
    readable = readable is not None and access.can_see(user, readable)  # one rule for the cruise's all
    for p in products:
        m = manifests.get(p.name)
        p.manifest_path = m.path.removeprefix("manifests/") if m is not None and readable else None
    return products


@require_GET
def certificate_xml(request, cruise_pk: int):
    cruise, track = access.get_track_for_user(request.user, cruise_pk)
    if not access.can_see(request.user, cruise, "checksums"):
        # Public, as the certificate is, but without the navigation files' SHA-256 while a hold keeps the
        # delivery's checksums the cruise's people's (the stored certificate keeps them).
        with open_blob(track.certificate_xml) as fh:
            body = services.without_checksums(fh.read())
        response = HttpResponse(body, content_type="application/xml")
        response["Content-Disposition"] = f'inline; filename="{cruise.cruise_id}_nav_qa.xml"'
        return response
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


@require_GET
def manifest(request, cruise_pk: int, path: str):
    """The build manifest of a product (``manifests/products/<name>.json``, beside ``products/<name>``)."""
    artifact = access.get_track_manifest_for_user(request.user, cruise_pk, path)
    return blob_response(request, artifact.blob, filename=artifact.filename, content_type=artifact.media_type)
