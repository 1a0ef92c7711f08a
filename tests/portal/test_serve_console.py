"""`manage.py serve` in development: a refused request is one line in its console (a 5xx keeps its
traceback), it will not start on an unmigrated database, and without an explicit SITE_BASE_URL the links
it sends out follow the address it serves on."""

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.contrib.sites.models import Site
from django.http import HttpResponse
from django.test import Client
from django.utils.log import log_response

from portal.management.commands.serve import served_base_url
from tests.support.ports import free_port, wait_for_port
from tests.support.worker import database_url


def _env(tmp_path, **extra) -> dict:
    env = {
        **os.environ,
        "QUAYSIDE_VAR_DIR": str(tmp_path),
        "QUAYSIDE_TESTING": "1",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PYTHONPATH": str(settings.BASE_DIR),
        **extra,
    }
    for name in ("SITE_BASE_URL", "PRODUCTION", "LOG_LEVEL"):
        if name not in extra:
            env.pop(name, None)
    return env


def test_serve_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path):
    port = free_port()
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}", "--no-worker"],
        cwd=settings.BASE_DIR,
        env=_env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "run `python manage.py migrate` first" in result.stderr
    assert "Starting development server" not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_refused_request_is_one_console_line_and_links_follow_the_served_port(tmp_path, plain_user):
    client = Client()
    client.force_login(plain_user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}", "--no-worker"],
        cwd=settings.BASE_DIR,
        env=_env(tmp_path, DATABASE_URL=database_url()),
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=90, proc=proc)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/audit/", headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=20)
        assert refused.value.code == 403
        # the e-mails' links and the Sites row name the port served on, not the default 8000
        Site.objects.clear_cache()
        assert Site.objects.get(pk=settings.SITE_ID).domain == f"127.0.0.1:{port}"
        # The server logs a request after answering it: on a busy machine the answer can reach us first.
        deadline = time.monotonic() + 20
        while "/audit/" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    text = log.read_text()
    assert f"SITE_BASE_URL is http://127.0.0.1:{port}" in text
    assert "Traceback" not in text, text
    assert [line for line in text.splitlines() if "/audit/" in line] == [
        line for line in text.splitlines() if '"GET /audit/ HTTP/1.1" 403' in line
    ]
    assert len([line for line in text.splitlines() if "/audit/" in line]) == 1


def _answer(status: int, caplog) -> list[logging.LogRecord]:
    caplog.clear()
    try:
        raise PermissionError("refused") if status < 500 else RuntimeError("broken")
    except Exception as exc:
        log_response("answer %s", status, response=HttpResponse(status=status), exception=exc)
    return [r for r in caplog.records if r.name == "django.request"]


def test_a_5xx_keeps_its_traceback_and_a_4xx_leaves_it_to_the_access_line(caplog):
    caplog.set_level(logging.INFO)
    (error,) = _answer(500, caplog)
    assert error.exc_info is not None
    assert _answer(403, caplog) == []


@pytest.mark.parametrize(
    ("addrport", "url"),
    [
        ("127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("8123", "http://127.0.0.1:8123"),
        ("0.0.0.0:8123", "http://127.0.0.1:8123"),
        ("localhost:8123", "http://localhost:8123"),
        ("[::1]:8123", "http://[::1]:8123"),
    ],
)
def test_the_served_address_becomes_a_base_url(addrport, url):
    assert served_base_url(addrport) == url
