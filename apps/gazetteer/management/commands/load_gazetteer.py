"""python manage.py load_gazetteer FILE --name-property NAME [--gazetteer LABEL]"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.errors import UserError

from ... import services


class Command(BaseCommand):
    help = (
        "Load the polygons of a GeoJSON FeatureCollection (EEZs, seas) as named regions for search by place."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--name-property", required=True, help="The feature property that names a region."
        )
        parser.add_argument("--gazetteer", help="The set's label (default: the file's name).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            collection = json.loads(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            n = services.load(
                collection,
                name_property=options["name_property"],
                gazetteer=options["gazetteer"] or path.stem,
            )
        except UserError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{n} regions loaded")
