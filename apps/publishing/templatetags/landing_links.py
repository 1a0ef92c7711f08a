"""Links from resource ids to landing pages, for lists that show ids (the audit log).

``{% landing_urls events as landing %}`` looks up, in one query, which of the events' resource ids name a
package revision that has a landing page; ``{{ event.resource_id|landing_link:landing }}`` then shows such
an id as a link to the version's landing page and every other id as plain text. A revision that never
reached the archive (failed, still in the pipeline) has no landing page and stays text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django import template
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from apps import access
from apps.packages.models import Revision

register = template.Library()

# "scope.identifier.revision" (PASTA's packageId) or a PASTA resource URL naming the revision
# (…/package/eml/edi/1/2, …/package/report/eml/edi/1/2, …/package/data/eml/edi/1/2/entity).
PACKAGE_ID = re.compile(r"^(?P<scope>[A-Za-z0-9_-]+)\.(?P<identifier>\d+)\.(?P<number>\d+)$")
PASTA_URL = re.compile(
    r"/package/(?:[a-z]+/)?eml/(?P<scope>[A-Za-z0-9_-]+)/(?P<identifier>\d+)/(?P<number>\d+)(?:/[^/]*)?$"
)


def revision_named(resource_id: str) -> tuple[str, int, int] | None:
    """``(scope, identifier, number)`` when ``resource_id`` names a package revision, else None."""
    match = PACKAGE_ID.match(resource_id) or PASTA_URL.search(resource_id)
    if match is None:
        return None
    return match["scope"], int(match["identifier"]), int(match["number"])


@register.simple_tag
def landing_urls(events: Iterable) -> dict[str, str]:
    """resource id → landing page path, for the ids among ``events`` that name a listed revision."""
    named = {}
    for event in events:
        found = revision_named(event.resource_id or "")
        if found is not None:
            named[event.resource_id] = found
    if not named:
        return {}
    wanted = Q()
    for scope, identifier, number in set(named.values()):
        wanted |= Q(package__scope=scope, package__identifier=identifier, number=number)
    listed = set(
        Revision.objects.filter(wanted, state__in=access.listed_states()).values_list(
            "package__scope", "package__identifier", "number"
        )
    )
    return {rid: reverse("publishing:version", args=[*key]) for rid, key in named.items() if key in listed}


@register.filter
def landing_link(resource_id: str, urls: dict[str, str]):
    url = urls.get(resource_id)
    if url is None:
        return resource_id
    return format_html('<a href="{}">{}</a>', url, resource_id)
