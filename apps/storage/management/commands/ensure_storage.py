"""Create what the storage tiers need (local folders, S3 buckets) and check that they answer."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.storage import services


class Command(BaseCommand):
    help = "Create the blob folders or S3 buckets of the primary and deep tiers if missing, then check them."

    def handle(self, *args, **options):
        tiers = [("blobs", services.primary())]
        if settings.DEEP_STORAGE_ENABLED:
            tiers.append(("deep", services.deep()))
        for name, storage in tiers:
            try:
                where = services.ensure_ready(storage)
            except services.StorageUnavailable as exc:
                raise CommandError(f"{name}: {exc}") from exc
            self.stdout.write(f"{name}: ready ({where})")
