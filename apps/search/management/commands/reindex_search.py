"""``python manage.py reindex_search``: rebuild the search document of every revision whose metadata is
public (and drop documents of revisions that are no longer), e.g. after an upgrade changes what a
document holds. Safe while the portal runs: each revision is reindexed under its own row lock, as the
pipeline does."""

import time

from django.core.management.base import BaseCommand

from apps.packages.models import Revision
from apps.search.models import SearchDocument
from apps.search.services import index_revision


class Command(BaseCommand):
    help = "Rebuild the search index from the revisions (progress every --every documents)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=1000, help="print progress every N revisions")

    def handle(self, *args, every, **options):
        public = Revision.objects.filter(state__in=Revision.METADATA_PUBLIC)
        stale = SearchDocument.objects.exclude(revision__state__in=Revision.METADATA_PUBLIC)
        dropped = stale.delete()[1].get(SearchDocument._meta.label, 0)
        total, done, started = public.count(), 0, time.monotonic()
        for pk in public.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000):
            index_revision(Revision(pk=pk))
            done += 1
            if done % every == 0:
                rate = done / max(time.monotonic() - started, 1e-9)
                self.stdout.write(f"{done:,} of {total:,} revisions ({rate:,.0f}/s)")
        self.stdout.write(
            self.style.SUCCESS(f"Reindexed {done:,} revisions; dropped {dropped:,} stale rows.")
        )
