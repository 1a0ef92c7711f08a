"""``manage.py rebuild --verify ARTIFACT``: rebuild an artifact from its manifest and compare the bytes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from apps.artifacts.models import Artifact
from apps.artifacts.rebuild import find_artifact, verify


class Command(BaseCommand):
    help = (
        "Rebuild a derived artifact from its build manifest (inputs by SHA-256, the recorded configuration) "
        "and report whether the result is identical; exit 1 when it differs. ARTIFACT is an artifact id, "
        "the SHA-256 of its bytes, scope.id.rev/path (e.g. edi.1.1/parquet/ctd.parquet), "
        "navigation/<cruise pk>/products/<name> (a cruise's navigation product) or stac.parquet (the catalog)."
    )

    def add_arguments(self, parser):
        parser.add_argument("artifact", nargs="+")
        parser.add_argument(
            "--verify", action="store_true", help="compare with the stored artifact (the only mode for now)"
        )

    def handle(self, *args, **options):
        if not options["verify"]:
            raise CommandError("Only --verify is supported: rebuild and compare, never replace.")
        different = 0
        for ref in options["artifact"]:
            try:
                artifact = find_artifact(ref)
            except (Artifact.DoesNotExist, Artifact.MultipleObjectsReturned) as exc:
                raise CommandError(f"{ref}: {exc}") from exc
            verdict = verify(artifact)
            self.stdout.write(verdict.summary())
            different += not verdict.identical
        if different:
            raise CommandError(f"{different} artifact(s) rebuilt differently", returncode=1)
