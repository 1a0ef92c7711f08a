"""Worker heartbeat: every Celery worker writes "I am alive" to the database every
WORKER_HEARTBEAT_SECONDS, from a thread in its main process started when the worker is ready.

It needs no beat and no queue (a worker on a test queue, or one whose beat lives elsewhere, still
beats), and it is seen by every web process, as the database is shared where a local cache is not.
``worker_status`` (in services) reads it for /healthz and the submission status page.
"""

from __future__ import annotations

import datetime
import logging
import socket
import threading

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import WorkerHeartbeat

log = logging.getLogger(__name__)

# Rows of workers gone this long are removed (each test or host name leaves one behind).
FORGET_AFTER = datetime.timedelta(days=7)


def beat(hostname: str, now: datetime.datetime | None = None) -> None:
    """Record that the worker ``hostname`` is alive now."""
    now = now or timezone.now()
    WorkerHeartbeat.objects.update_or_create(hostname=hostname[:200], defaults={"seen_at": now})
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


class _Heart(threading.Thread):
    def __init__(self, hostname: str, interval: float):
        super().__init__(name="worker-heartbeat", daemon=True)
        self.hostname, self.interval = hostname, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while True:
            try:
                close_old_connections()  # a restarted database: reconnect rather than fail forever
                beat(self.hostname)
            except Exception as exc:  # a database outage must not end the heartbeat for good
                log.warning("could not record the worker heartbeat: %s", exc)
            if self.stopping.wait(self.interval):
                connection.close()
                return


_heart: _Heart | None = None


@worker_ready.connect
def start_heartbeat(sender=None, **kwargs) -> None:
    global _heart
    hostname = getattr(sender, "hostname", None) or socket.gethostname()
    _heart = _Heart(hostname, float(settings.WORKER_HEARTBEAT_SECONDS))
    _heart.start()


@worker_shutdown.connect
def stop_heartbeat(**kwargs) -> None:
    if _heart is not None:
        _heart.stopping.set()
