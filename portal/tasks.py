"""Task conventions shared by every app.

- Tasks take primary keys, never model instances, and are idempotent: each claims its work with a
  conditional update (``filter(pk=..., state=X).update(state=Y)``) and treats 0 rows as "done already".
- ``acks_late`` (set globally) so a task whose worker dies is delivered again.
- Retries only for the temporary errors below, with backoff, capped.
- Dispatch with ``dispatch(task, *args)``: it waits for the surrounding transaction to commit, and a
  rolled-back transaction dispatches nothing.
"""

from __future__ import annotations

import socket
from functools import partial

from django.db import transaction

from apps.storage.services import StorageUnavailable


class TemporaryError(Exception):
    """Raise from a service to ask the task to try again later."""


TEMPORARY_ERRORS: tuple[type[BaseException], ...] = (
    TemporaryError,
    StorageUnavailable,
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


def dispatch(task, *args, **kwargs) -> None:
    """Queue ``task`` with these arguments after the current transaction commits."""
    transaction.on_commit(partial(task.delay, *args, **kwargs))
