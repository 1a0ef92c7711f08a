#!/usr/bin/env python
"""Nothing stuck, nothing lost (issue 17): 200 submissions (× BENCH_SCALE) while a chaos loop stops Redis,
SIGKILLs workers and restarts PostgreSQL at random for 5 minutes (× BENCH_SCALE, at least one minute).

Everything is real and private to the run: a PostgreSQL cluster made with initdb on a spare port (restarted
with ``pg_ctl restart -m fast``), a Redis on a spare port (killed and started again), two Celery workers and
beat started as ``deploy/`` starts them (a killed worker is started again a moment later, as systemd's
``Restart=always`` does). Submissions go in through ``apps.submissions.services.submit`` at a steady rate,
retried by the client when the database is down at that moment (as a person presses the button again).

The peer, measured in the same run on the same components: the same kind of submissions with no faults.
Prints submissions/min under chaos against the calm rate, the time from the last fault to the last
submission archived, and the issue's invariants: every submission archived exactly once, none stuck, no
duplicate archive rows. Writes bench/results/chaos.json.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.support import machine_speed, write_results  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.redis import RedisServer  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
SUBMISSIONS = max(12, int(200 * SCALE))
CHAOS_SECONDS = max(60, int(300 * SCALE))
CALM_SUBMISSIONS = max(6, SUBMISSIONS // 4)
PG_BIN = Path(f"/usr/lib/postgresql/{sorted(os.listdir('/usr/lib/postgresql'))[-1]}/bin")
SEED = int(os.environ.get("BENCH_CHAOS_SEED", "17"))


class Postgres:
    """A private cluster (initdb) on a spare port, run as the postgres user, restarted for real."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, check=check
        )

    def start(self) -> Postgres:
        self.folder.mkdir(parents=True)
        shutil.chown(self.folder, "postgres", "postgres")
        self._pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._ctl("start")
        self._pg(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "chaos")
        return self

    def _ctl(self, *what: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "log"),
            "-w",
            "-t",
            "60",
            *what,
        )

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._ctl("stop", "-m", "immediate")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/chaos"


class Supervised:
    """A process restarted a moment after it dies (systemd's Restart=always, or `manage.py serve`)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen | None = None
        self.stopping = False
        self.restarts = 0
        threading.Thread(target=self._watch, daemon=True).start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _watch(self) -> None:
        self._start()
        while not self.stopping:
            if self.proc.poll() is not None and not self.stopping:
                time.sleep(1.0)
                self.restarts += 1
                self._start()
            time.sleep(0.2)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        self.stopping = True
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="qs-chaos-"))
    os.chmod(work, 0o755)
    print(machine_speed(), flush=True)
    pg = Postgres(work / "pg").start()
    redis = RedisServer(work / "redis").start()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "QUAYSIDE_TESTING": "0",
        "QUAYSIDE_VAR_DIR": str(work / "var"),
        "DATABASE_URL": pg.url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis.port}/0",
        "CELERY_VISIBILITY_TIMEOUT": "30",
        "PIPELINE_LEASE_SECONDS": "20",
        "PIPELINE_HEARTBEAT_SECONDS": "4",
        "PIPELINE_DISPATCH_SECONDS": "5",
        "PIPELINE_SWEEP_SECONDS": "10",
        "PIPELINE_RESEND_SECONDS": "30",
        "STORAGE_FSYNC": "0",
        "FETCH_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATACITE_API_URL": "",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import OperationalError, connection
    from django.db.models import Count

    call_command("migrate", verbosity=0)
    from apps.accounts import roles
    from apps.accounts.models import User
    from apps.packages.models import Resource, Revision
    from apps.submissions import services
    from apps.submissions.models import Submission
    from tests.packages.helpers import eml_for, two_tables

    user = User.objects.create_user(email="chaos@example.org", password="x-chaos", name="Chaos Monkey")
    roles.ensure_groups()
    roles.grant(user, roles.VETTED)

    celery = [sys.executable, "-m", "celery", "-A", "portal"]
    workers = [
        Supervised(
            [*celery, "worker", "-l", "warning", "-c", "2", "-n", f"chaos{i}@%h"], env, work / f"w{i}.log"
        )
        for i in range(2)
    ]
    beat = Supervised(
        [*celery, "beat", "-l", "warning", "-s", str(work / "beat-schedule")], env, work / "beat.log"
    )

    tables_dir = work / "tables"
    submitted: list[int] = []
    counter = iter(range(1, 10**6))

    def submit_one() -> None:
        n = next(counter)
        folder = tables_dir / str(n)
        tables = two_tables(folder, rows=200)
        package_id = f"edi.{1000 + n}.1"
        for _ in range(120):  # a person pressing the button again while the database restarts
            try:
                files = [(t.object_name, open(folder / t.object_name, "rb")) for t in tables]
                sub = services.submit(user, eml_for(package_id, tables), files=files)
                submitted.append(sub.pk)
                return
            except OperationalError:
                connection.close()
                time.sleep(1.0)
        raise RuntimeError(f"could not submit {package_id}")

    def wait_final(pks: list[int], timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                open_ = (
                    Submission.objects.filter(pk__in=pks)
                    .exclude(state__in=[Submission.State.SUCCEEDED, Submission.State.FAILED])
                    .count()
                )
            except OperationalError:
                connection.close()
                open_ = -1
            if open_ == 0:
                return time.monotonic()
            time.sleep(1.0)
        return float("nan")

    try:
        # The peer: calm submissions on the same components.
        calm_start = time.monotonic()
        for _ in range(CALM_SUBMISSIONS):
            submit_one()
        calm_pks = list(submitted)
        calm_end = wait_final(calm_pks, 600)
        calm_rate = len(calm_pks) / ((calm_end - calm_start) / 60)
        print(
            f"calm: {len(calm_pks)} submissions in {calm_end - calm_start:.0f} s = {calm_rate:.1f}/min",
            flush=True,
        )

        # Chaos: submissions at a steady rate over the window while faults strike at random.
        rng = random.Random(SEED)
        faults: list[tuple[float, str]] = []
        stop = threading.Event()
        last_fault = [0.0]

        def chaos() -> None:
            while not stop.wait(rng.uniform(8, 25)):
                kind = rng.choice(["redis", "worker", "postgres"])
                at = time.monotonic()
                if kind == "redis":
                    redis.stop()
                    time.sleep(rng.uniform(5, 20))
                    redis.start()
                elif kind == "worker":
                    rng.choice(workers).kill()
                else:
                    pg.restart()
                faults.append((at, kind))
                last_fault[0] = time.monotonic()
                print(f"  fault: {kind} at +{at - chaos_start:.0f} s", flush=True)

        chaos_start = time.monotonic()
        thread = threading.Thread(target=chaos, daemon=True)
        thread.start()
        interval = CHAOS_SECONDS / SUBMISSIONS
        first_chaos = len(submitted)
        for i in range(SUBMISSIONS):
            target = chaos_start + i * interval
            time.sleep(max(0.0, target - time.monotonic()))
            submit_one()
        while time.monotonic() - chaos_start < CHAOS_SECONDS:
            time.sleep(0.5)
        stop.set()
        thread.join()
        chaos_pks = submitted[first_chaos:]
        end = wait_final(chaos_pks, 900)
        recovery = end - last_fault[0]
        chaos_rate = len(chaos_pks) / ((end - chaos_start) / 60)

        all_pks = list(submitted)
        states = dict(
            Submission.objects.filter(pk__in=all_pks)
            .values_list("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        stuck = sum(n for s, n in states.items() if s not in ("succeeded", "failed"))
        failed = states.get("failed", 0)
        revisions = Revision.objects.filter(submissions__pk__in=all_pks).distinct()
        archived = revisions.exclude(archived_at=None).count()
        duplicate_resources = (
            Resource.objects.values("resource_id").annotate(n=Count("pk")).filter(n__gt=1).count()
        )
        kinds = {k: sum(1 for _, f in faults if f == k) for k in ("redis", "worker", "postgres")}
        figures = {
            "submissions": len(chaos_pks),
            "calm_submissions": len(calm_pks),
            "chaos_seconds": CHAOS_SECONDS,
            "faults": kinds,
            "worker_restarts": sum(w.restarts for w in workers),
            "calm_per_min": round(calm_rate, 1),
            "chaos_per_min": round(chaos_rate, 1),
            "ratio_to_calm": round(chaos_rate / calm_rate, 2),
            "recovery_seconds_after_last_fault": round(recovery, 1),
            "archived_revisions": archived,
            "failed": failed,
            "stuck": stuck,
            "duplicate_archive_rows": duplicate_resources,
            "scale": SCALE,
        }
        ok = stuck == 0 and failed == 0 and duplicate_resources == 0 and archived == len(all_pks)
        summary = (
            f"{len(chaos_pks)} submissions under {sum(kinds.values())} faults ({kinds}): "
            f"{chaos_rate:.1f}/min vs {calm_rate:.1f}/min calm ({chaos_rate / calm_rate:.2f}x); "
            f"all archived once {'yes' if ok else 'NO'}, stuck {stuck}, failed {failed}, "
            f"recovered {recovery:.0f} s after the last fault (target 120 s)"
        )
        write_results("chaos", figures, summary, peers={"calm_per_min": round(calm_rate, 1)})
        return 0 if ok and recovery <= 120 else 1
    finally:
        for w in workers:
            w.stop()
        beat.stop()
        redis.stop()
        connection.close()
        try:
            pg.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
