"""Nodes' background work: the health file (beat, every NODES_HEALTH_SECONDS)."""

from __future__ import annotations

import fcntl

from celery import shared_task


@shared_task(acks_late=True)
def write_health() -> str:
    """Rewrite /swarm/health.parquet from the database (atomic: readers see the old or the new file). One
    build at a time on a machine (a lock file beside it): a run that finds one under way does nothing, so
    slow builds never pile up; beat's next run catches up. The lock goes with the process that held it."""
    from .health import health_path
    from .health import write_health as write

    folder = health_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".health.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return "busy: another build is under way"
        written = write()
    return f"{written.rows} rows, {written.size} bytes in {written.seconds:.2f} s"
