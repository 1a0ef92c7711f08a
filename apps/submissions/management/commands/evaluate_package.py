"""``python manage.py evaluate_package FILE``: run steps 2–5 (validate with the policy, fetch, check,
quality report) in this process and print the quality report. Nothing is archived."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import User
from apps.packages import quality
from apps.submissions.services import evaluate_local


class Command(BaseCommand):
    help = "Evaluate an EML data package (validate, fetch, check) and print its quality report."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE")
        parser.add_argument(
            "--user", default="", help="e-mail of the vetted user to evaluate as (default: a superuser)"
        )
        parser.add_argument(
            "--data",
            nargs="*",
            default=[],
            metavar="DATAFILE",
            help="local data files standing in for the URLs (matched by objectName)",
        )
        parser.add_argument("--xml", action="store_true", help="print the report as PASTA's XML")

    def handle(self, *args, file, user, data, xml, **options):
        account = (
            User.objects.filter(email=user).first()
            if user
            else User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        if account is None:
            raise CommandError("No such user; pass --user EMAIL of a vetted user.")
        files = [(Path(p).name, open(p, "rb")) for p in data]
        try:
            sub = evaluate_local(account, Path(file).read_bytes(), files=files)
        finally:
            for _, fh in files:
                fh.close()
        if xml:
            self.stdout.write(sub.report_xml)
        else:
            report = quality.from_xml(sub.report_xml)
            self.stdout.write(f"Quality report for {report['package_id'] or file}: {report['status']}")
            blocks = [("dataset", report["dataset"])] + [(e["name"], e["checks"]) for e in report["entities"]]
            for title, checks in blocks:
                self.stdout.write(f"\n[{title}]")
                for c in checks:
                    self.stdout.write(
                        f"  {c['status']:5} {c['id']}: {c['name']} — expected {c['expected']!s:.80}; "
                        f"found {c['found']!s:.200}"
                        + (
                            f"\n        {c['explanation']}"
                            if c["explanation"] and c["status"] != "valid"
                            else ""
                        )
                    )
        if sub.state == "failed":
            raise CommandError(f"refused: {sub.error}", returncode=1)
