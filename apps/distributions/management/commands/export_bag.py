"""``manage.py export_bag CRUISE_ID DEST``: write a cruise's whole distribution as a BagIt 1.0 bag."""

from django.core.management.base import BaseCommand, CommandError

from apps.cruises.models import Cruise
from portal.errors import QuaysideError

from ... import bag, services


class Command(BaseCommand):
    help = "Export a cruise's distribution (every delivery, the datasets' EML) as a BagIt 1.0 bag in DEST."

    def add_arguments(self, parser):
        parser.add_argument(
            "cruise_id", help="The cruise id (e.g. RR2401); a vessel code may follow: RR2401@RR"
        )
        parser.add_argument("dest", help="A new or empty folder")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Export even though the cruise is not marked for final migration",
        )

    def handle(self, cruise_id: str, dest: str, force: bool, **options):
        cruise_id, _, vessel = cruise_id.partition("@")
        cruises = Cruise.objects.filter(cruise_id=cruise_id)
        if vessel:
            cruises = cruises.filter(vessel__code=vessel)
        if cruises.count() != 1:
            raise CommandError(f"{cruise_id}: {cruises.count()} cruises match; give CRUISE_ID@VESSEL_CODE.")
        cruise = cruises.get()
        if not force and services.distribution_of(cruise).final_migration_at is None:
            reasons = services.pending_release(cruise)
            raise CommandError(
                f"{cruise_id} is not marked for final migration: {'; '.join(reasons)} (--force exports anyway)."
            )
        try:
            path = bag.write_bag(cruise, dest)
        except QuaysideError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"bag written to {path}")
