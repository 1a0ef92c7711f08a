"""Access to packages, revisions and resources: the one place views and APIs look them up.

Metadata a user may not see is "not found" (404); data whose metadata is visible but which is held is
"forbidden" (403), so a held revision's landing page works while its data stays closed.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404

from apps.holds.policy import can_see, visible_revisions

from .models import Entity, Package, Resource, Revision

# Revisions that exist as packages: archived or later. In-pipeline and failed revisions are shown only
# on their submission's pages, never in package lists or PASTA listings.
LISTED_STATES = (
    Revision.State.ARCHIVED,
    Revision.State.HELD,
    Revision.State.PUBLISHED,
    Revision.State.WITHDRAWN,
    Revision.State.TAINTED,
)


def visible_qs(user) -> QuerySet:
    listed = Revision.objects.filter(state__in=LISTED_STATES)
    return Revision.objects.filter(pk__in=visible_revisions(user, listed, "metadata").values("pk"))


def newest_revisions(user) -> QuerySet:
    """The newest revision of each package that ``user`` may see (the /packages/ list's default)."""
    visible = visible_qs(user)
    newest = visible.filter(package=OuterRef("package")).order_by("-number").values("number")[:1]
    return visible.filter(number=Subquery(newest)).select_related("package").order_by("-archived_at", "-pk")


def get_package_for_user(user, scope: str, identifier: int) -> tuple[Package, QuerySet]:
    package = (
        Package.objects.filter(scope=scope, identifier=identifier).select_related("owner", "cruise").first()
    )
    if package is None:
        raise Http404("No such data package.")
    revisions = visible_qs(user).filter(package=package).order_by("-number")
    if not revisions.exists():
        raise Http404("No such data package.")
    return package, revisions


def get_revision_for_user(user, scope: str, identifier: int, number: int, part: str = "metadata") -> Revision:
    revision = (
        Revision.objects.select_related("package", "package__owner", "package__cruise", "eml_blob")
        .filter(package__scope=scope, package__identifier=identifier, number=number)
        .first()
    )
    if revision is None or revision.state not in LISTED_STATES or not can_see(user, revision, "metadata"):
        raise Http404("No such revision.")
    if part == "data" and not can_see(user, revision, "data"):
        raise PermissionDenied("The data of this revision are under a proprietary hold.")
    return revision


def get_entity_for_user(user, revision: Revision, entity_id: str) -> Entity:
    entity = revision.entities.select_related("blob").filter(entity_id=entity_id).first()
    if entity is None or entity.blob is None:
        raise Http404("No such data entity.")
    if not can_see(user, entity, "data"):
        raise PermissionDenied("The data of this revision are under a proprietary hold.")
    return entity


def get_resource(revision: Revision, rtype: str) -> Resource:
    resource = revision.resources.select_related("blob").filter(resource_type=rtype).first()
    if resource is None or resource.blob is None:
        raise Http404(f"This revision has no {rtype} resource.")
    return resource
