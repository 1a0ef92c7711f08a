"""A real Celery worker process for tests, sharing the test database and the configured broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or "5432"
    return f"postgres://{user}{password}@{host}:{port}/{s['NAME']}"


class Worker:
    def __init__(self, queue: str, proc: subprocess.Popen, log: Path):
        self.queue, self.proc, self.log = queue, proc, log

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# Set per test by tests/conftest.py: whether the running test carries the ``worker`` mark.
MARKED_FOR_WORKERS = True


def start_worker(
    tmp: Path, *, extra_env: dict | None = None, concurrency: int = 1, queue: str | None = None
) -> Worker:
    """Start ``celery worker`` on a queue of its own (or on ``queue``, to take over another worker's);
    the caller points its task calls at that queue.

    Only from a test marked ``worker`` (use the ``celery_worker_process`` fixture, which marks it)."""
    if not MARKED_FOR_WORKERS:
        raise RuntimeError(
            "this test starts a worker: mark it pytest.mark.worker (or use celery_worker_process)"
        )
    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    env = os.environ.copy()
    env.update(
        {
            "DATABASE_URL": database_url(),
            "QUAYSIDE_VAR_DIR": str(settings.VAR_DIR),
            "QUAYSIDE_TESTING": "1",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            # Tasks the worker queues itself (next step, DOI registration) must come back to this queue.
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "PYTHONPATH": str(settings.BASE_DIR),
        }
    )
    env.update(extra_env or {})
    name = f"{queue}-{uuid.uuid4().hex[:6]}"
    log = tmp / f"worker-{name}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            f"--concurrency={concurrency}",
            "--pool=prefork",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={name}@%h",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{log.read_text()}")
        if "ready." in log.read_text(errors="replace"):
            return Worker(queue, proc, log)
        time.sleep(0.2)
    Worker(queue, proc, log).stop()
    raise TimeoutError(f"worker not ready in 60 s:\n{log.read_text()}")


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, worker: Worker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\nworker log:\n{worker.output()[-4000:]}" if worker else ""
    raise AssertionError(f"condition not met within {timeout}s{detail}")
