import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.navigation import services


class Command(BaseCommand):
    help = (
        "Read navigation files (NMEA 0183, with or without a logger prefix, or delimited time,lat,lon) and "
        "print their quality assessment certificate. A file with no position gives a red certificate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="+", help="Navigation files, read as one stream in the order given"
        )
        parser.add_argument(
            "--start", help="Cruise start (ISO 8601 date or time, UTC): fixes before are flagged"
        )
        parser.add_argument("--end", help="Cruise end (ISO 8601; a date includes its whole day)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print one JSON object")
        parser.add_argument(
            "--assume-date",
            help="Date (YYYY-MM-DD) to give an undated file's first fix (only when the cruise says so)",
        )

    def handle(self, *args, files, start=None, end=None, as_json=False, assume_date=None, **options):
        import datetime

        for name in files:
            if not Path(name).is_file():
                raise CommandError(f"{name}: no such file")
        try:
            assumed = datetime.date.fromisoformat(assume_date) if assume_date else None
            assessment = services.assess(files, start=start, end=end, assume_start=assumed)
        except ValueError as exc:
            raise CommandError(f"--start/--end/--assume-date: {exc}") from exc
        certificate = assessment.certificate
        if as_json:
            self.stdout.write(json.dumps(certificate, indent=2, sort_keys=True))
            return
        self.stdout.write(services.certificate_text(certificate))
