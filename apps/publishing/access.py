"""Finding revisions for a visitor: every landing page, export and download asks here (policy-filtered)."""

from __future__ import annotations

from django.http import Http404

from apps.holds.policy import visible_revisions
from apps.packages.models import Package, Revision

from .crosswalks import metadata


def get_package(scope: str, identifier: int) -> Package:
    package = (
        Package.objects.select_related("cruise__vessel", "owner")
        .filter(scope=scope, identifier=identifier)
        .first()
    )
    if package is None:
        raise Http404("No such dataset.")
    return package


def visible_versions(user, package: Package) -> list[Revision]:
    qs = visible_revisions(user, Revision.objects.filter(package=package), part="metadata")
    return list(qs.order_by("-number"))


def get_revision_for_user(
    user, scope: str, identifier: int, number: int | None = None
) -> tuple[Revision, list[Revision]]:
    """The version (or, with ``number`` None, the latest one) ``user`` may see, and its visible siblings.

    "Latest" prefers the newest published version; a dataset whose every version is withdrawn
    shows its newest tombstone, never a 404.
    """
    package = get_package(scope, identifier)
    versions = visible_versions(user, package)
    if number is None:
        chosen = next((v for v in versions if v.state == Revision.State.PUBLISHED), None) or (
            versions[0] if versions else None
        )
    else:
        chosen = next((v for v in versions if v.number == number), None)
    if chosen is None:
        raise Http404("No such dataset version, or it is not public.")
    revision = metadata.with_record_relations(Revision.objects).get(pk=chosen.pk)
    return revision, versions
