from django.core.management.base import BaseCommand

from apps.cruises.mailbox import read_configured_mailbox


class Command(BaseCommand):
    help = (
        "Ingest sailing-orders XML attachments from the mailbox (CRUISE_MAILBOX_URL) and answer the senders."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", help="Override CRUISE_MAILBOX_URL, e.g. maildir:///srv/mail/orders")

    def handle(self, *args, url=None, **options):
        outcomes = read_configured_mailbox(url)
        for o in outcomes:
            self.stdout.write(f"{o.sender}: " + " | ".join(r.splitlines()[0] for r in o.results))
        self.stdout.write(f"{len(outcomes)} message(s) handled")
