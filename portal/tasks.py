"""Task conventions shared by every app, and the one claim/lease helper for background work.

- Tasks take primary keys, never model instances, and are idempotent: each claims its work with a
  conditional update and treats 0 rows as "someone else has it" or "done already".
- ``acks_late`` (set globally) so a task whose worker dies is delivered again.
- Retries only for the temporary errors below, with backoff, capped, and budgeted in time where a short
  outage must not spend them (the pipeline's steps, see apps.submissions).
- Dispatch with ``dispatch(task, *args)``: it waits for the surrounding transaction to commit, and a
  rolled-back transaction dispatches nothing. A broker that is down at that moment is logged, never
  raised: every dispatched kind of work has a beat job that finds what is still due and sends it again.

Leases (``claim`` → ``Lease``): a row that carries ``lease_until`` (and, where two runs of the same work
must be told apart, ``lease_owner``) is claimed with one conditional UPDATE that only matches while no
one else holds an unexpired lease. The claimer renews the lease while it works (``Lease.heartbeat()``, a
thread that renews every ``interval`` seconds, for long hashing, fetches and checks) and releases it when
it finishes. A worker that dies stops renewing; once the lease has passed, the work can be claimed again
(a sweeper or a re-delivered task does so). This module is ``portal``'s: it imports no app.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

from django.db import connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone

log = logging.getLogger(__name__)


class TemporaryError(Exception):
    """Raise from a service to ask the task to try again later (storage errors subclass it)."""


TEMPORARY_ERRORS: tuple[type[BaseException], ...] = (
    TemporaryError,
    ConnectionError,
    TimeoutError,
    socket.timeout,
)

RETRY_POLICY = {
    "autoretry_for": TEMPORARY_ERRORS,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "max_retries": 8,
}


def send(task, *args, **options) -> bool:
    """Send ``task`` now; False (logged) when the broker cannot be reached. For dispatchers whose work
    stays due in the database until it is claimed, so a failed send is simply tried again later."""
    from kombu.exceptions import KombuError

    if task.app.conf.task_always_eager:  # runs in-process: its own errors must surface (tests, demo)
        task.apply_async(args, **options)
        return True
    try:
        task.apply_async(args, **options)
        return True
    except (KombuError, OSError) as exc:  # "broker down" (kombu wraps redis' errors as OperationalError)
        log.warning("could not send %s%r to the broker: %s: %s", task.name, args, type(exc).__name__, exc)
        return False


def queue_of(task) -> str | None:
    """The queue the running bound ``task`` was delivered from (None: the default). Follow-up work is
    sent there, so a worker pool dedicated to a queue (a test worker, a separate ingest worker) handles
    its own."""
    return (task.request.delivery_info or {}).get("routing_key") or None


def same_queue(task) -> dict:
    """``apply_async``/``send`` options that send follow-up work to the queue ``task`` came from."""
    queue = queue_of(task)
    return {"queue": queue} if queue else {}


def dispatch(task, *args, **kwargs) -> None:
    """Queue ``task`` with these arguments after the current transaction commits; a broker error is
    logged, not raised (the request that committed must still answer), and a beat job retries."""
    transaction.on_commit(partial(send, task, *args, kwargs=kwargs or None))


# --- leases ---------------------------------------------------------------------------------------


def new_owner() -> str:
    """A lease owner name: host, process and a random part (unique per claim)."""
    return f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}"


def execution_owner(task_id: str) -> str:
    """The lease owner of one execution of a task: ``<task id>:<host>:<pid>``. A re-delivery of the same
    message runs under another pid (or host), so it never shares a live execution's lease."""
    return f"{task_id}:{socket.gethostname()[:40]}:{os.getpid()}"


def owner_died_here(owner: str, task_id: str) -> bool:
    """True when ``owner`` is an execution of ``task_id`` on this host whose process is gone — a pool
    child killed mid-task (OOM, SIGKILL), whose message Celery hands back at once (``acks_late`` with
    ``reject_on_worker_lost``). Its lease may then be taken over now instead of after it lapses. An
    execution on another host, or one still alive (Redis re-delivers a long task after its visibility
    timeout), is never taken over: its lease lapses first."""
    try:
        task, host, pid = owner.rsplit(":", 2)
        pid_number = int(pid)
    except ValueError:
        return False
    if task != task_id or host != socket.gethostname()[:40] or pid_number == os.getpid():
        return False
    try:
        os.kill(pid_number, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Lease:
    """A claim on one row, valid until ``until``. Renew it while working, release it when done."""

    model: type[models.Model]
    pk: object
    owner: str
    duration: datetime.timedelta
    until: datetime.datetime
    owner_field: str | None = "lease_owner"
    until_field: str = "lease_until"
    lost: bool = field(default=False)

    def _mine(self) -> models.QuerySet:
        qs = self.model._default_manager.filter(pk=self.pk)
        return qs.filter(**{self.owner_field: self.owner}) if self.owner_field else qs

    def renew(self) -> bool:
        """Push the lease ``duration`` further; False when it was taken over (the caller should stop)."""
        until = timezone.now() + self.duration
        if self._mine().update(**{self.until_field: until}):
            self.until = until
            return True
        self.lost = True
        return False

    def release(self, **updates) -> bool:
        """Drop the lease, applying ``updates`` to the row in the same UPDATE; False if it was not ours."""
        clear = {self.until_field: None}
        if self.owner_field:
            clear[self.owner_field] = ""
        return bool(self._mine().update(**clear, **updates))

    @contextlib.contextmanager
    def heartbeat(self, interval: float) -> Iterator[Lease]:
        """Renew the lease every ``interval`` seconds in a thread while the block runs.

        The thread opens its own database connection for each renewal and closes it after. A renewal that fails (the
        database is briefly down) is logged and tried at the next beat; the lease then may lapse, which
        only means the sweeper can hand the work to someone else, whose claim is exclusive.
        """
        stop = threading.Event()

        def beat() -> None:
            try:
                while not stop.wait(interval):
                    try:
                        if not self.renew():
                            log.warning("lease on %s %s was taken over", self.model.__name__, self.pk)
                            return
                    except Exception as exc:  # a heartbeat reports; the work itself decides
                        log.warning("lease renewal for %s %s failed: %s", self.model.__name__, self.pk, exc)
                    # No connection is kept between beats: work that forks (the catalog's segment
                    # processes) must not copy an open one, which the child would close on the server.
                    connections.close_all()
            finally:
                connections.close_all()

        thread = threading.Thread(target=beat, name=f"lease-{self.model.__name__}-{self.pk}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=30)


def lease_free(now: datetime.datetime | None = None, *, until_field: str = "lease_until") -> Q:
    """The rows nobody holds a lease on: none taken, or the last one lapsed (``now`` by default)."""
    now = now or timezone.now()
    return Q(**{f"{until_field}__isnull": True}) | Q(**{f"{until_field}__lt": now})


def claim(
    queryset: models.QuerySet,
    pk,
    *,
    duration: datetime.timedelta,
    owner: str | None = None,
    owner_field: str | None = "lease_owner",
    until_field: str = "lease_until",
    **updates,
) -> Lease | None:
    """Claim row ``pk`` of ``queryset`` (its filters are the work's own conditions, e.g. a state) with
    one conditional UPDATE that matches only while no unexpired lease is held, or the lease is already
    ``owner``'s (a retry of the same task). ``updates`` are applied in the same UPDATE. None = taken.
    """
    now = timezone.now()
    owner = owner or new_owner()
    free = lease_free(now, until_field=until_field)
    if owner_field:
        free |= Q(**{owner_field: owner})
    values = {until_field: now + duration, **updates}
    if owner_field:
        values[owner_field] = owner
    if not queryset.filter(pk=pk).filter(free).update(**values):
        return None
    return Lease(queryset.model, pk, owner, duration, now + duration, owner_field, until_field)


# --- build-and-sweep: one derived thing per published version -----------------------------------------
#
# Artifacts (Parquet, manifests) and torrents are both built per published version from a row with
# ``state`` (due/failed/…), ``message``, ``attempts``, ``requested_at`` and a lease. The worker claims the
# row, builds under a heartbeat and releases it with the outcome; a beat job queues what is still due.

BuildOutcome = tuple[str, str, dict]


def run_leased_build(
    task,
    queryset: models.QuerySet,
    pk,
    build: Callable[[models.Model], BuildOutcome],
    *,
    duration: datetime.timedelta,
    failed_state: str = "failed",
) -> str:
    """Claim row ``pk`` of ``queryset`` (the builds still due) for this execution of ``task`` (a bound
    task), counting an attempt; run ``build(row)`` while the lease is renewed every third of ``duration``,
    and release the lease with its ``(state, message, fields)``. An exception marks the row
    ``failed_state`` with its message and is raised again (the task's retry policy decides). Returns
    the build's message, or "taken or done" when another execution holds it or nothing is due."""
    lease = claim(
        queryset,
        pk,
        duration=duration,
        owner=execution_owner(task.request.id or "eager"),
        attempts=F("attempts") + 1,
    )
    if lease is None:
        return "taken or done"
    try:
        with lease.heartbeat(interval=duration.total_seconds() / 3):
            state, message, fields = build(queryset.model._default_manager.get(pk=pk))
    except Exception as exc:
        lease.release(state=failed_state, message=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    lease.release(state=state, message=message, **fields)
    return message


def send_due_builds(task, due: models.QuerySet, *, max_attempts: int, limit: int) -> int:
    """Send ``task`` for every row of ``due`` whose lease is free and which has been tried fewer than
    ``max_attempts`` times, oldest request first, at most ``limit``. Returns how many were sent."""
    pks = (
        due.filter(lease_free())
        .filter(attempts__lt=max_attempts)
        .order_by("requested_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(send(task, pk) for pk in pks)
