"""``python manage.py seed``: seed every public dataset version (apps.swarm.seeder, docs/swarm.md)."""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.swarm.seeder import Seeder


class Command(BaseCommand):
    help = "Seed every public version's torrent from storage; follow releases, withdrawals and taints."

    def add_arguments(self, parser):
        parser.add_argument("--folder", default=str(settings.SWARM_SEED_DIR))
        parser.add_argument("--poll", type=float, default=settings.SWARM_SEED_POLL_SECONDS)

    def handle(self, *args, folder, poll, **options):
        seeder = Seeder(folder)
        signal.signal(signal.SIGTERM, lambda *_: seeder.stop())
        signal.signal(signal.SIGINT, lambda *_: seeder.stop())
        self.stdout.write(f"Seeding from {folder} on port {seeder.port} (every {poll:.0f} s).")
        self.stdout.flush()
        try:
            seeder.run(poll)
        finally:
            seeder.close()
