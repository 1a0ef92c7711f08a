"""Federation demo: a harvest source pointing at the portal's own feed (SITE_BASE_URL/oai), harvested
at load so the remote-record view and the search's "From other portals" are not empty after ``make run``.

No web server runs while the demo loads, so the harvest goes through the real provider in-process:
oaipmh-scythe's HTTP client with ``httpx2.WSGITransport`` over the portal's WSGI application. Afterwards
the beat job harvests it over HTTP on its schedule. Idempotent: a second load harvests incrementally.
"""

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from . import services
from .models import HarvestSource


def load(log) -> None:
    import httpx2
    from django.core.handlers.wsgi import WSGIHandler

    url = f"{settings.SITE_BASE_URL}/oai"
    source, _ = HarvestSource.objects.get_or_create(
        base_url=url,
        metadata_prefix="oai_dc",
        set_spec="",
        defaults={"name": "This portal (demo federation)"},
    )
    # The in-process requests must not close the loader's own database connection (as Django's test
    # client does).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        run = services.harvest(source.pk, transport=httpx2.WSGITransport(app=WSGIHandler()))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    if run is None:
        log("federation: the demo source is being harvested by a worker")
    else:
        log(f"federation: harvested {url}: {run.message}")
