"""A private Redis server for fault tests: on a spare loopback port, stopped and started again at will.

Without ``persist`` it keeps nothing on disk, like a Redis restarted without persistence (whatever was
queued is gone when it comes back); with it, an append-only file fsynced on every write, like
``deploy/compose.yaml``'s Redis (``--appendonly yes``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from .ports import free_port, wait_for_port


class RedisServer:
    def __init__(self, folder: Path, port: int | None = None, *, persist: bool = False):
        self.folder, self.port, self.persist = Path(folder), port or free_port(), persist
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", ""),
                *("--appendonly", "yes" if self.persist else "no", "--appendfsync", "always"),
            ],
            cwd=self.folder,
            stdout=open(self.folder / "redis.log", "ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, timeout=20, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop it by its pid (SIGKILL by default: a crash, not a clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        self.proc = None


@contextlib.contextmanager
def private_redis(folder: Path, *, persist: bool = False):
    server = RedisServer(folder, persist=persist).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def app_broker(url: str):
    """Point this process's Celery app (what ``dispatch`` sends through) at ``url`` for a while."""
    from portal.celery import app

    previous, previous_transport = app.conf.broker_url, app.conf.broker_transport

    def reset():
        # kombu keeps connection and producer pools in a registry keyed by connection: close and forget
        # them all, or the app would be handed a closed pool for a URL it used before.
        from kombu import pools

        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None

    # Celery reads the CELERY_BROKER_URL environment variable before its own setting: change both.
    previous_env = os.environ.get("CELERY_BROKER_URL")
    reset()
    app.conf.broker_url = url
    # The settings name portal.broker's transport for the configured broker: follow the URL instead.
    app.conf.broker_transport = "portal.broker:Transport"
    os.environ["CELERY_BROKER_URL"] = url
    try:
        yield app
    finally:
        reset()
        app.conf.broker_url = previous
        app.conf.broker_transport = previous_transport
        if previous_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = previous_env
