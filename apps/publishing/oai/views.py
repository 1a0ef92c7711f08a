"""The OAI-PMH endpoint and the schemas it names."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import provider


@csrf_exempt
@require_http_methods(["GET", "POST", "HEAD"])
def oai_endpoint(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    return provider.handle(request.build_absolute_uri(request.path), params)


def oai_schema(request: HttpRequest, name: str) -> FileResponse:
    if name != "cruise-1.0.xsd":
        raise Http404("No such schema.")
    path = Path(__file__).resolve().parent / "schemas" / name
    return FileResponse(path.open("rb"), content_type="application/xml")
