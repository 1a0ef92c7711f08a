"""Run the web server and a real Celery worker (with beat) together, for the embedded default.

``python manage.py serve`` is what ``make run`` calls after migrating and loading the demo. The worker
is a child process; it is stopped when the web server stops.
"""

import os
import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server on ADDR:PORT and a Celery worker with beat."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="web only")

    def handle(self, *args, addrport, no_worker, **options):
        worker = None
        if not no_worker:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--beat", "--loglevel=INFO",
                 "--concurrency=2", "--hostname=quayside@%h"],
                env=os.environ.copy(),
            )
            self.stdout.write(f"Worker started (pid {worker.pid}).")
        try:
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
