"""The catalog follows revisions: any state or public-metadata change marks it dirty (rebuilt soon); so do
a version's new derived files and a cruise's new navigation products (its datasets' items link them)."""

from __future__ import annotations

from django.dispatch import receiver

from apps.artifacts.signals import artifacts_recorded, cruise_artifacts_recorded
from apps.packages.signals import revision_changed

from . import builds  # noqa: F401  (registers the catalog's rebuild for ``manage.py rebuild``)


@receiver(revision_changed, dispatch_uid="catalog.revision_changed")
def revision_changed_marks_dirty(sender, revision, **kwargs) -> None:
    """Runs in the sender's transaction (a release, a hold ending, a withdrawal, a taint, a correction)."""
    from .services import mark_dirty

    if revision.state in ("published", "withdrawn", "tainted"):
        mark_dirty(revision.package_id)


@receiver(artifacts_recorded, dispatch_uid="catalog.artifacts_recorded")
def artifacts_mark_dirty(sender, revision, **kwargs) -> None:
    """A version's Parquet alternates and manifests are files of its tree: they are catalog assets."""
    from .services import mark_dirty

    if revision.state == "published":
        mark_dirty(revision.package_id)


@receiver(cruise_artifacts_recorded, dispatch_uid="catalog.cruise_artifacts_recorded")
def cruise_artifacts_mark_dirty(sender, cruise, **kwargs) -> None:
    """A cruise's navigation products were rebuilt: the items of its published datasets carry the
    trackline and its manifest (``items._navigation_for``)."""
    from apps.packages.models import Package

    from .services import mark_dirty

    for package_id in (
        Package.objects.filter(cruise=cruise, revisions__state="published")
        .distinct()
        .values_list("pk", flat=True)
    ):
        mark_dirty(package_id)
