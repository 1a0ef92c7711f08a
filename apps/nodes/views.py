"""Smart nodes over HTTP: the health file, the public nodes page, and the operators' token page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from apps.storage.http import local_file_response

from . import health

PARQUET = "application/vnd.apache.parquet"


@require_safe
def health_parquet(request: HttpRequest) -> HttpResponse:
    """``/swarm/health.parquet`` as the last beat run wrote it, served as /catalog/stac.parquet is (ETag,
    Last-Modified, Range, HEAD); 503 while the first one has not been written (one is queued)."""
    response = local_file_response(
        request, health.health_path(), content_type=PARQUET, filename="health.parquet"
    )
    if response is None:
        from portal.tasks import send

        from .tasks import write_health

        send(write_health)
        response = HttpResponse(
            "The swarm health file is being written; try again in a minute.\n",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "60"
        return response
    response["Cache-Control"] = "public, max-age=60"
    return response
