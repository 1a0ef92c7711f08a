"""Load a small, believable demo. Idempotent: running it twice changes nothing.

Each app that has something to show provides ``apps/<app>/demo.py`` with ``load(log)``; they run in
the order below (later apps build on earlier ones). A loader calls the apps' service verbs, which own
their (durable) transactions, so loaders do not run inside one.
"""

import importlib
from pathlib import Path

from django.conf import settings
from django.core import mail
from django.core.management.base import BaseCommand
from django.test.utils import override_settings

DEMO_ORDER = [
    "accounts",
    "cruises",
    "packages",
    "submissions",
    "eventlogs",
    "reviews",
    "holds",
    "publishing",
    "search",
    "deliveries",
    "artifacts",
    "navigation",
    "distributions",  # after "deliveries" (its delivery is classified here)
    "shares",
    "gazetteer",
    "swarm",  # after every release and its Parquet files (a torrent holds them), before the catalog lists it
    "catalog",  # after every demo that publishes: its rows are every public demo version
    "nodes",  # after the torrents: the demo node holds some of them; writes health.parquet
    "federation",  # harvests the demo's own feed, so last
]


class Command(BaseCommand):
    help = "Load demo users, organisations, vessels, cruises and packages (safe to run repeatedly)."

    def handle(self, *args, **options):
        # The demo's invitations and review requests would fill the console with raw e-mails: keep them
        # in a folder, one .eml file each, and say how many there were.
        mail.outbox = []
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            self._load()
        sent, mail.outbox = mail.outbox, []
        if sent:
            folder = Path(settings.VAR_DIR) / "demo-mail"
            folder.mkdir(parents=True, exist_ok=True)
            for i, message in enumerate(sent, 1):
                (folder / f"{i:03d}.eml").write_bytes(message.message().as_bytes())
            self.stdout.write(f"{len(sent)} demo e-mails (invitations, notices) written to {folder}/")
        self.stdout.write(
            self.style.SUCCESS("Demo loaded. Sign in as any demo user with the password 'quayside-demo'.")
        )

    def _load(self) -> None:
        for name in DEMO_ORDER:
            try:
                module = importlib.import_module(f"apps.{name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name == f"apps.{name}.demo":
                    continue
                raise
            module.load(self.stdout.write)
