"""Beat starts the way deploy/ starts it (the systemd unit's ExecStart and environment, the compose
service's command and image environment) on a fresh data folder with Redis as the broker, and sends a
scheduled task. Issue 17: both put beat's schedule in var/celery/, which only the file-system queue made."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
import yaml
from django.conf import settings

from tests.support.redis import private_redis
from tests.support.worker import database_url

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DEPLOY = Path(settings.BASE_DIR) / "deploy"


def unit(name: str) -> dict[str, list[str]]:
    """The [Service] (and [Unit]) keys of a systemd unit in deploy/systemd, each with its values."""
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def systemd_beat() -> tuple[list[str], dict[str, str]]:
    keys = unit("quayside-beat.service")
    argv = shlex.split(keys["ExecStart"][0])
    assert argv[0] == "/srv/quayside/.venv/bin/celery"
    env = dict(value.split("=", 1) for value in keys.get("Environment", []))
    return argv[1:], env  # WorkingDirectory=/srv/quayside: the checkout, so QUAYSIDE_VAR_DIR is its var/


def compose_beat() -> tuple[list[str], dict[str, str]]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    argv = compose["services"]["beat"]["command"]
    assert argv[0] == "celery"
    # The image's ENV (deploy/Dockerfile) sets QUAYSIDE_VAR_DIR=/var/lib/quayside, a fresh volume.
    return argv[1:], {}


def queued_tasks(url: str, queue: str) -> list[str]:
    client = redis.Redis.from_url(url)
    return [json.loads(raw)["headers"]["task"] for raw in client.lrange(queue, 0, -1)]


@pytest.mark.parametrize("layout", ["systemd", "compose"])
def test_beat_started_as_deploy_starts_it_sends_scheduled_tasks(layout, tmp_path):
    argv, unit_env = systemd_beat() if layout == "systemd" else compose_beat()
    var = tmp_path / "var"  # a fresh data folder: nothing in it but what the settings make
    # The deployed data folder (the checkout's var/ under systemd, the volume in compose) is this one here.
    argv = [arg.replace("/srv/quayside/var", str(var)).replace("/var/lib/quayside", str(var)) for arg in argv]
    queue = f"beat-{uuid.uuid4().hex[:8]}"
    with private_redis(tmp_path / "redis") as broker:
        env = {
            **os.environ,
            **unit_env,
            "QUAYSIDE_VAR_DIR": str(var),
            "QUAYSIDE_TESTING": "0",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker.url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "SCRATCH_SWEEP_INTERVAL": "1",  # a job due every second, so the test need not wait an hour
            "PYTHONPATH": str(settings.BASE_DIR),
        }
        log = tmp_path / "beat.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", *argv],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=open(log, "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if "apps.storage.tasks.sweep_scratch" in queued_tasks(broker.url, queue):
                    break
                time.sleep(0.3)
            assert proc.poll() is None, f"beat exited:\n{log.read_text()[-3000:]}"
            assert "apps.storage.tasks.sweep_scratch" in queued_tasks(broker.url, queue), log.read_text()[
                -3000:
            ]
            assert (var / "celery").is_dir() and any((var / "celery").glob("beat-schedule*"))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)


@pytest.mark.parametrize("name", ["quayside-worker.service", "quayside-beat.service"])
def test_systemd_restarts_worker_and_beat_whatever_made_them_exit(name):
    keys = unit(name)
    assert keys["Restart"] == ["always"]
    assert keys["StartLimitIntervalSec"] == ["0"]  # and never stops trying
