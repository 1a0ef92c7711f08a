"""Search demo: (re)index every revision whose metadata is public. Idempotent."""

from apps.packages.models import Revision

from .services import index_revision


def load(log) -> None:
    count = 0
    for revision in Revision.objects.filter(state__in=Revision.METADATA_PUBLIC).select_related("package"):
        index_revision(revision)
        count += 1
    log(f"search: {count} revisions indexed")
