"""The production server for tests: gunicorn with deploy/gunicorn.conf.py on a spare loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from .ports import free_port, wait_for_port


@contextlib.contextmanager
def running_gunicorn(
    folder: Path, database_url: str, *, workers: int = 1, port: int | None = None, **env: str
) -> Iterator[int]:
    """Start gunicorn as deploy/ does, on the test database ``database_url`` with ``folder`` as its data
    folder (``env`` adds settings); yield its port and stop it (its whole process group) afterwards.
    ``port``: a port chosen beforehand (a portal whose SITE_BASE_URL must name it); else a free one."""
    port = port or free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "QUAYSIDE_VAR_DIR": str(folder),
        "QUAYSIDE_TESTING": "1",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "BLOB_ROOT": str(folder / "blobs"),
        "PYTHONPATH": str(settings.BASE_DIR),
        **env,
    }
    log = open(folder / "gunicorn.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "portal.wsgi:application"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60, proc=proc)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
