"""Run the web server and a real Celery worker (with beat) together, for the embedded default.

``python manage.py serve`` is what ``make run`` calls after migrating and loading the demo. The worker
(and the BitTorrent seeder, ``manage.py seed``; ``--no-seeder`` leaves it out)
is a child process, restarted (with backoff) whenever it exits; it is stopped when the web server stops.

It refuses to start on a database with unapplied migrations (every page would fail). Outside
PRODUCTION, when SITE_BASE_URL is not set, it makes SITE_BASE_URL (and the Sites row e-mails name) the
address it serves on, for itself and its worker, so links in invitations and review requests work.
"""

import os
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from portal.apps import name_the_site

WORKER_COMMAND = [
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
]
# The BitTorrent seeder (apps.swarm, docs/swarm.md): every public version, from storage.
SEEDER_COMMAND = [sys.executable, "-m", "django", "seed"]  # DJANGO_SETTINGS_MODULE is inherited
# Restart delays after a worker exits: doubled after each quick exit, capped, and back to the first
# after a worker that ran for a while (a crash loop must not spin; one crash must not wait a minute).
FIRST_DELAY, MAX_DELAY, HEALTHY_RUN = 1.0, 60.0, 60.0


class Command(BaseCommand):
    help = "Start the web server on ADDR:PORT and a Celery worker with beat (restarted if it exits)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="web only")
        parser.add_argument("--no-seeder", action="store_true", help="no BitTorrent seeder")

    def handle(self, *args, addrport, no_worker, no_seeder=False, **options):
        refuse_unmigrated_database()
        if not settings.PRODUCTION and not settings.SITE_BASE_URL_EXPLICIT:
            follow_served_address(addrport)
            self.say(f"SITE_BASE_URL is {settings.SITE_BASE_URL} (the address served; set it to change).")
        supervisor = None
        if not no_worker:
            supervisor = WorkerSupervisor(self.say)
            supervisor.start()
        seeder = None
        if not no_seeder:
            seeder = WorkerSupervisor(self.say, command=SEEDER_COMMAND, label="Seeder")
            seeder.start()
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
            if supervisor is not None:
                supervisor.stop()
            if seeder is not None:
                seeder.stop()

    def say(self, message: str) -> None:
        """One line on stdout, flushed: the worker's life is visible in a log file as it happens."""
        self.stdout.write(message)
        self.stdout.flush()


def refuse_unmigrated_database() -> None:
    """Raise ``CommandError`` (exit status 1) naming the fix when the database lacks any migration."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        apps = sorted({migration.app_label for migration, _ in plan})
        raise CommandError(
            f"The database has {len(plan)} unapplied migration(s) ({', '.join(apps)}): "
            "run `python manage.py migrate` first."
        )


def served_base_url(addrport: str) -> str:
    """``http://host:port`` for runserver's ADDR:PORT argument (``8000``, ``0.0.0.0:8000``, ``[::1]:8000``);
    a wildcard address is reached as 127.0.0.1."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "0"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def follow_served_address(addrport: str) -> None:
    """Make SITE_BASE_URL the served address here, in the worker (through the environment it inherits),
    and in the Sites row."""
    url = served_base_url(addrport)
    settings.SITE_BASE_URL = url
    os.environ["SITE_BASE_URL"] = url
    name_the_site()


class WorkerSupervisor(threading.Thread):
    """Keeps one worker process running: starts it, and starts a new one whenever it exits.

    ``stop()`` ends the supervision and stops the current worker; no worker is started after it."""

    def __init__(self, write, command: list[str] = WORKER_COMMAND, label: str = "Worker"):
        super().__init__(name=f"{label.lower()}-supervisor", daemon=True)
        self.write = write
        self.command, self.label = command, label
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.worker: subprocess.Popen | None = None

    def run(self):
        delay = FIRST_DELAY
        while True:
            with self.lock:
                if self.stopping.is_set():
                    return
                # Its own process group: stopped as a whole (pool children and embedded beat included).
                self.worker = subprocess.Popen(self.command, env=os.environ.copy(), start_new_session=True)
                worker = self.worker
            self.write(f"{self.label} started (pid {worker.pid}).")
            started = time.monotonic()
            code = worker.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_RUN:
                delay = FIRST_DELAY
            self.write(
                f"{self.label} (pid {worker.pid}) exited with code {code}; restarting in {delay:.0f} s."
            )
            _kill_group(worker.pid)  # pool children or beat left behind by a killed main process
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY)

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            worker = self.worker
        if worker is not None:
            _stop(worker)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stop(worker: subprocess.Popen, grace: float = 15) -> None:
    """Warm shutdown (running tasks finish; acks_late redelivers any that cannot), then kill the group.

    SIGTERM goes to the worker's main process only: it stops its own pool. Signalling the whole group
    kills the pool children under it, and the main process then hangs restarting them."""
    try:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    except ProcessLookupError:
        return
    # Whatever is left of the group (a pool child stuck in a task, or everything after the timeout).
    _kill_group(worker.pid)
    try:
        worker.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
