"""Nodes' background work: the health file (beat, every NODES_HEALTH_SECONDS)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def write_health() -> str:
    """Rewrite /swarm/health.parquet from the database (atomic: readers see the old or the new file).
    Two runs at once each write their own temporary file; the later rename wins, both are complete."""
    from .health import write_health as write

    written = write()
    return f"{written.rows} rows, {written.size} bytes in {written.seconds:.2f} s"
