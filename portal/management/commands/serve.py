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
            # Its own process group: stopped below as a whole (pool children and embedded beat included).
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal",
                    "worker",
                    "--beat",
                    "--loglevel=INFO",
                    "--concurrency=2",
                    "--hostname=quayside@%h",
                ],
                env=os.environ.copy(),
                start_new_session=True,
            )
            self.stdout.write(f"Worker started (pid {worker.pid}).")
        # SIGTERM (kill, systemd, make being stopped) ends the server like Ctrl-C, so the worker goes too.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            # A second Ctrl-C or SIGTERM while the worker shuts down must not orphan it.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if worker is not None:
                _stop(worker)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _stop(worker: subprocess.Popen, grace: float = 15) -> None:
    """Warm shutdown (running tasks finish; acks_late redelivers any that cannot), then kill the group.

    SIGTERM goes to the worker's main process only: it stops its own pool. Signalling the whole group
    kills the pool children under it, and the main process then hangs restarting them."""
    try:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=5)
    except ProcessLookupError:
        pass
