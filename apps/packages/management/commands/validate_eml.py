"""``python manage.py validate_eml FILE...``: check EML files against the EML specification alone
(the EML 2.2.0 XSDs and EML's rules), not this repository's submission policy."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.packages.eml import validate_eml


class Command(BaseCommand):
    help = "Validate EML documents against the EML 2.2.0 XSDs and EML's own rules; exit 1 if any is invalid."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files, **options):
        invalid = 0
        for name in files:
            path = Path(name)
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.stdout.write(f"{name}: INVALID\n  cannot read: {exc.strerror}")
                invalid += 1
                continue
            result = validate_eml(data)
            if result.valid:
                self.stdout.write(f"{name}: VALID (EML {result.version})")
            else:
                invalid += 1
                self.stdout.write(f"{name}: INVALID" + (f" (EML {result.version})" if result.version else ""))
                for reason in result.reasons:
                    self.stdout.write(f"  {reason}")
        if invalid:
            raise CommandError(f"{invalid} of {len(files)} file(s) invalid", returncode=1)
