"""Package pages: the list (newest revision per package), a package's revisions, a revision with its
resources and downloads, and its quality report."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from apps import access
from apps.access import can_see

from . import quality
from .models import Resource


def package_list(request):
    qs = access.newest_revisions(request.user)
    show_all = request.GET.get("all") == "1"
    if show_all:  # every visible revision, not only the newest
        qs = (
            access.visible_qs(request.user)
            .select_related("package")
            .order_by("package__scope", "package__identifier", "-number")
        )
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "packages/list.html",
        {"page": page, "show_all": show_all, "query": "all=1" if show_all else ""},
    )


def package_detail(request, scope: str, identifier: int):
    package, revisions = access.get_package_for_user(request.user, scope, identifier)
    return redirect("packages:revision", scope=scope, identifier=identifier, number=revisions.first().number)


def revision_detail(request, scope: str, identifier: int, number: int):
    revision = access.get_revision_for_user(request.user, scope, identifier, number)
    package, revisions = access.get_package_for_user(request.user, scope, identifier)
    resources = list(revision.resources.select_related("entity").order_by("resource_type", "eml_entity_id"))
    for r in resources:  # registry ids are absolute URLs; link relatively so any host name works
        r.href = r.resource_id.removeprefix(settings.SITE_BASE_URL)
    return render(
        request,
        "packages/revision.html",
        {
            "package": package,
            "revision": revision,
            "revisions": revisions,
            "resources": resources,
            "data_visible": can_see(request.user, revision, "data"),
            "newest": revisions.first().number == revision.number,
        },
    )


def revision_report(request, scope: str, identifier: int, number: int):
    revision = access.get_revision_for_user(request.user, scope, identifier, number)
    resource = access.get_resource(revision, Resource.Type.REPORT)
    from apps.storage.services import open_blob

    with open_blob(resource.blob) as fh:
        body = fh.read()
    if not can_see(request.user, revision, "data"):  # held: what the data checks quote stays hidden
        body = quality.without_data(body)
    report = quality.from_xml(body.decode("utf-8"))
    return render(
        request,
        "packages/report.html",
        {
            "report": report,
            "revision": revision,
            "xml_url": f"/package/report/eml/{scope}/{identifier}/{number}",
        },
    )
