"""`manage.py serve` (what `make run` starts): web and a real worker together, stopped together."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.ports import free_port, wait_for_port
from tests.support.worker import database_url

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def start_serve(tmp_path) -> tuple[subprocess.Popen, int, Path]:
    """``manage.py serve`` on a free port in its own process group, its output in ``tmp_path/serve.log``:
    the process, the port and the log."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "QUAYSIDE_VAR_DIR": str(tmp_path),
        "QUAYSIDE_TESTING": "1",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, port, log


def test_serve_runs_web_and_worker_and_stops_both(tmp_path):
    proc, port, log = start_serve(tmp_path)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
        worker = int(re.search(r"Worker started \(pid (\d+)\)", log.read_text()).group(1))
        assert group_alive(worker)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=40)
        deadline = time.monotonic() + 10
        while group_alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(worker), log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_serve_starts_a_new_worker_when_the_worker_dies(tmp_path):
    proc, port, log = start_serve(tmp_path)

    def workers() -> list[int]:
        return [int(pid) for pid in re.findall(r"Worker started \(pid (\d+)\)", log.read_text())]

    try:
        wait_for_port(port, timeout=60, proc=proc)
        first = workers()[0]
        os.killpg(first, signal.SIGKILL)  # the whole worker, as the OOM killer or a crash would

        deadline = time.monotonic() + 30
        while len(workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        text = log.read_text()
        assert len(workers()) == 2, text[-3000:]
        second = workers()[1]
        assert second != first and group_alive(second) and not group_alive(first)
        assert f"Worker (pid {first}) exited with code -9; restarting in 1 s." in text

        proc.send_signal(signal.SIGTERM)  # and the restarted worker still stops with the server
        proc.wait(timeout=40)
        deadline = time.monotonic() + 10
        while group_alive(second) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_alive(second), log.read_text()[-3000:]
        assert len(workers()) == 2  # nothing started after the stop
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in workers():
            if group_alive(pid):
                os.killpg(pid, signal.SIGKILL)
