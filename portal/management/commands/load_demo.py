"""Load a small, believable demo. Idempotent: running it twice changes nothing.

Each app that has something to show provides ``apps/<app>/demo.py`` with ``load(log)``; they run in
the order below (later apps build on earlier ones). A loader calls the apps' service verbs, which own
their (durable) transactions, so loaders do not run inside one.
"""

import importlib

from django.core.management.base import BaseCommand

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
]


class Command(BaseCommand):
    help = "Load demo users, organisations, vessels, cruises and packages (safe to run repeatedly)."

    def handle(self, *args, **options):
        for name in DEMO_ORDER:
            try:
                module = importlib.import_module(f"apps.{name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name == f"apps.{name}.demo":
                    continue
                raise
            module.load(self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS("Demo loaded. Sign in as any demo user with the password 'quayside-demo'.")
        )
