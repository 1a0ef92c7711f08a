#!/usr/bin/env python
"""Where one event-log POST spends its time: SQL statements and Python, in one process, no server.

``python bench/profile_eventlog.py [N]`` sets up a cruise with an open log and a shipboard writer with an
API token in its own PostgreSQL database (``PROFILE_EVENTLOG_DATABASE_URL``), posts ``N`` single entries
through the whole Django stack (``django.test.Client``: every middleware, DRF, the service, the audit
rows) and prints the SQL statements of one POST and the functions where the time went (cProfile,
cumulative). Not a benchmark (``bench/bench_eventlog.py`` is): a tool to see what each request costs.
Under ``valgrind --tool=callgrind`` (with ``PROFILE_SKIP_CPROFILE=1``) its instruction counts are stable
on a loaded machine: (count with N posts − count with 0) / N is one POST's instructions in Django.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import recreate_database  # noqa: E402

DB_URL = os.environ.get(
    "PROFILE_EVENTLOG_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qs_profile_eventlog"
)


def main(n: int) -> int:
    var = Path(tempfile.mkdtemp(prefix="qs-profile-eventlog-"))
    (var / "static").mkdir()
    os.environ.update(
        {
            "DATABASE_URL": DB_URL,
            "QUAYSIDE_VAR_DIR": str(var),
            "DATABASE_CONN_MAX_AGE": "600",
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "DEBUG": "False",
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        }
    )
    import subprocess

    recreate_database(DB_URL)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts.models import ApiToken, User
    from apps.cruises.models import Cruise, CruiseMember, Organisation, OrganisationMember, Vessel
    from apps.eventlogs.services import open_log

    org = Organisation.objects.create(name="Profile Ocean Institute")
    operator = User.objects.create_user(email="op@profile.example", password="x", name="Op")
    OrganisationMember.objects.create(organisation=org, user=operator, role="operator")
    vessel = Vessel.objects.create(name="Profile", code="PR", operator=org)
    cruise = Cruise.objects.create(cruise_id="PR2401", vessel=vessel, operator=org)
    staff = User.objects.create_user(email="staff@profile.example", password="x", name="Staff")
    CruiseMember.objects.create(cruise=cruise, user=staff, name="Staff", role="shipboard_staff")
    open_log(cruise, operator)
    _, key = ApiToken.issue(staff, "profile")

    client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_HOST="localhost")
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    counter = iter(range(10**9))

    def post():
        body = {"instrument": "CTD", "action": "deploy", "idempotency_key": f"p-{next(counter)}"}
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 201, response.content[:300]

    for _ in range(20):  # warm up: imports, URL resolver, vocabulary cache, token last_used_at
        post()
    with CaptureQueriesContext(connection) as queries:
        post()
    print(f"SQL statements for one single-entry POST: {len(queries.captured_queries)}")
    for q in queries.captured_queries:
        print(f"  {q['sql'][:160]}")

    import psutil

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = psutil.Process(cursor.fetchone()[0])

    def backend_cpu() -> float:
        t = backend.cpu_times()
        return t.user + t.system

    started, cpu, pg_cpu = time.perf_counter(), time.process_time(), backend_cpu()
    for _ in range(n):
        post()
    wall, cpu, pg_cpu = time.perf_counter() - started, time.process_time() - cpu, backend_cpu() - pg_cpu
    print(
        f"\n{n} POSTs, no profiler: {1000 * wall / n:.2f} ms each; CPU: Django {1000 * cpu / n:.2f} ms, "
        f"its PostgreSQL backend {1000 * pg_cpu / n:.2f} ms (the rest: waiting, on a loaded machine)"
    )

    if os.environ.get("PROFILE_SKIP_CPROFILE"):  # under callgrind: the timed loop alone
        connection.close()
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        post()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Deterministic, unlike any timing: the number of Python function calls one POST makes.
    print(f"Python function calls per POST: {stats.total_calls / n:,.0f}")
    stats.sort_stats("cumulative").print_stats(45)
    print(out.getvalue())
    if os.environ.get("PROFILE_OUT"):
        profiler.dump_stats(os.environ["PROFILE_OUT"])  # for pstats/snakeviz
    connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
