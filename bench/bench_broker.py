#!/usr/bin/env python
"""The embedded default's broker: kombu's file-system transport against its SQLAlchemy transport over
SQLite (the candidate replacement named in issue 17), with Redis measured in the same run as the peer.

For each transport, a real ``celery worker`` (prefork, 2 processes) configured as Quayside configures its
own (acks_late, reject_on_worker_lost, prefetch 1) runs a task that appends its number to a file:

Contenders: the file-system transport as configured until now (kombu's 1 s polling interval), the same
polling every 0.1 s, and ``sqla+sqlite://`` (SQLAlchemy from the ``bench`` extra).

  (a) throughput: BENCH_BROKER_TASKS (default 400) tasks sent while the worker runs; tasks/s from the
      first send to the last task done, and the sending rate alone;
  (b) a whole-worker SIGKILL: 12 tasks of 2 s each; the worker is killed (main process and pool) while
      two of them run, a new worker is started, and once nothing has run for 20 s the tasks never run are
      counted as lost. Redis gets a visibility timeout of 5 s and a restore scan every second here, so
      its restore is seen within the run.

The question it answers: does moving the embedded default to ``sqla+sqlite://`` stop the loss on SIGKILL,
and at what cost in speed? (The module is also the Celery app the bench's workers load.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import Celery

ROOT = Path(__file__).resolve().parent.parent
TASKS = int(os.environ.get("BENCH_BROKER_TASKS", "400"))
KILL_TASKS, KILL_AFTER, SLOW_SECONDS = 12, 2, 2.0

# --- the Celery app the workers run (configured from the environment the bench gives them) ---------

app = Celery("bench_broker")
_work = Path(os.environ.get("BENCH_BROKER_WORK", tempfile.gettempdir()))
_url = os.environ.get("BENCH_BROKER_URL", "memory://")
_options: dict = {}
if _url.startswith("filesystem://"):
    # The same options as portal.settings gives the embedded default.
    for sub in ("queue", "processed", "control"):
        (_work / "celery" / sub).mkdir(parents=True, exist_ok=True)
    _options = {
        "data_folder_in": str(_work / "celery" / "queue"),
        "data_folder_out": str(_work / "celery" / "queue"),
        "processed_folder": str(_work / "celery" / "processed"),
        "control_folder": str(_work / "celery" / "control"),
        "store_processed": False,
    }
    if os.environ.get("BENCH_BROKER_POLL"):
        _options["polling_interval"] = float(os.environ["BENCH_BROKER_POLL"])
elif _url.startswith("redis://"):
    # Short visibility timeout and a restore scan every second, so a restore is seen within the run.
    _options = {"visibility_timeout": 5, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
app.conf.update(
    broker_url=_url,
    broker_transport_options=_options,
    broker_connection_retry_on_startup=True,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
)


@app.task(name="bench.done")
def done(number: int, seconds: float = 0.0) -> None:
    if seconds:
        time.sleep(seconds)
    # One short O_APPEND write per task: atomic, so two pool processes never interleave lines.
    fd = os.open(_work / "done.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{number}\n".encode())
    finally:
        os.close(fd)


# --- the bench ------------------------------------------------------------------------------------


def _done(work: Path) -> set[int]:
    path = work / "done.txt"
    return {int(line) for line in path.read_text().split()} if path.exists() else set()


def _start_worker(work: Path, url: str, log_name: str, poll: str = "") -> subprocess.Popen:
    env = {
        **os.environ,
        "BENCH_BROKER_URL": url,
        "BENCH_BROKER_WORK": str(work),
        "BENCH_BROKER_POLL": poll,
        "PYTHONPATH": str(ROOT),
    }
    log = open(work / log_name, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "bench.bench_broker", "worker", "--concurrency=2",
         "--pool=prefork", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         f"--hostname=bench-{log_name}@%h"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if " ready." in (work / log_name).read_text(errors="replace"):
            return proc
        if proc.poll() is not None:
            raise RuntimeError((work / log_name).read_text())
        time.sleep(0.1)
    raise TimeoutError((work / log_name).read_text())


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _sender(work: Path, url: str) -> Celery:
    """A fresh app for this process (the sender), pointed at the broker under test as a worker sees it."""
    options = {}
    if url.startswith("filesystem://"):
        options = {
            "data_folder_in": str(work / "celery" / "queue"),
            "data_folder_out": str(work / "celery" / "queue"),
            "processed_folder": str(work / "celery" / "processed"),
            "control_folder": str(work / "celery" / "control"),
            "store_processed": False,
        }
        for sub in ("queue", "processed", "control"):
            (work / "celery" / sub).mkdir(parents=True, exist_ok=True)
    elif url.startswith("redis://"):
        options = {"visibility_timeout": 5}
    sender = Celery("bench_broker_sender")
    sender.conf.update(broker_url=url, broker_transport_options=options, task_ignore_result=True)
    return sender


def _send(sender: Celery, count: int, seconds: float = 0.0) -> None:
    with sender.producer_or_acquire() as producer:
        for i in range(count):
            sender.send_task("bench.done", (i, seconds), producer=producer)


def throughput(url: str, work: Path, poll: str = "") -> dict:
    sender = _sender(work, url)
    worker = _start_worker(work, url, "throughput.log", poll)
    try:
        started = time.perf_counter()
        _send(sender, TASKS)
        sent = time.perf_counter() - started
        deadline = time.monotonic() + 600
        while len(_done(work)) < TASKS and time.monotonic() < deadline:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        finished = len(_done(work))
    finally:
        _kill(worker)
    return {"tasks": TASKS, "done": finished, "tasks_per_s": round(finished / elapsed, 1),
            "sent_per_s": round(TASKS / sent, 1)}  # fmt: skip


def sigkill(url: str, work: Path, poll: str = "") -> dict:
    sender = _sender(work, url)
    worker = _start_worker(work, url, "kill-1.log", poll)
    _send(sender, KILL_TASKS, SLOW_SECONDS)
    while len(_done(work)) < KILL_AFTER:
        time.sleep(0.02)
    time.sleep(SLOW_SECONDS / 4)  # the next tasks have started: they are in flight when the kill comes
    _kill(worker)  # the whole worker: main process and pool, nothing acknowledged or restored
    at_kill = len(_done(work))
    worker = _start_worker(work, url, "kill-2.log", poll)
    try:
        quiet_since, count = time.monotonic(), len(_done(work))
        while time.monotonic() - quiet_since < 20 and count < KILL_TASKS:
            time.sleep(0.2)
            now = len(_done(work))
            if now != count:
                quiet_since, count = time.monotonic(), now
    finally:
        _kill(worker)
    ran = _done(work)
    return {"tasks": KILL_TASKS, "done_before_kill": at_kill, "ran": len(ran), "lost": KILL_TASKS - len(ran)}


def main() -> int:
    from bench.support import write_results
    from tests.support.redis import private_redis

    figures = {}
    base = Path(tempfile.mkdtemp(prefix="quayside-bench-broker-"))
    try:
        transports = {  # name: (URL for a work folder, polling interval of the file-system transport)
            "filesystem": (lambda w: "filesystem://", ""),
            "filesystem-poll-0.1s": (lambda w: "filesystem://", "0.1"),
            "sqla+sqlite": (lambda w: f"sqla+sqlite:///{w / 'celery.sqlite3'}", ""),
        }
        for name, (make_url, poll) in transports.items():
            figures[name] = {}
            for part, run in (("throughput", throughput), ("sigkill", sigkill)):
                work = base / name / part
                work.mkdir(parents=True)
                figures[name][part] = run(make_url(work), work, poll)
                print(name, part, figures[name][part], flush=True)
        with private_redis(base / "redis") as redis:
            figures["redis"] = {}
            for part, run in (("throughput", throughput), ("sigkill", sigkill)):
                work = base / "redis-work" / part
                work.mkdir(parents=True)
                figures["redis"][part] = run(redis.url, work)
                print("redis", part, figures["redis"][part], flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    fs, fast, sq = figures["filesystem"], figures["filesystem-poll-0.1s"], figures["sqla+sqlite"]
    summary = (
        f"filesystem {fs['throughput']['tasks_per_s']} tasks/s, lost {fs['sigkill']['lost']} of "
        f"{KILL_TASKS} on SIGKILL; polling every 0.1 s {fast['throughput']['tasks_per_s']} tasks/s, lost "
        f"{fast['sigkill']['lost']}; sqla+sqlite {sq['throughput']['tasks_per_s']} tasks/s, lost "
        f"{sq['sigkill']['lost']}; redis {figures['redis']['throughput']['tasks_per_s']} tasks/s, lost "
        f"{figures['redis']['sigkill']['lost']} (visibility timeout 5 s)"
    )
    write_results("broker", figures, summary)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
