"""kombu's Redis transport, with the one fix that lets a busy worker outlive a Redis outage.

Celery 5.7 / kombu 5.7 (redis-py 7.x and 8.x alike) kill a worker for good when Redis goes away while the
worker is busy on a task *and* waiting on Redis for more (a ``BRPOP`` in flight)::

    CRITICAL/MainProcess] Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")

What happens (``tests/portal/test_worker_faults.py`` reproduces it with a real worker and a real Redis):

1. The consumer sees the connection drop and calls ``connection.collect()``, which closes the channel.
   ``redis.Channel.close()`` first reads the pending ``BRPOP`` reply; with Redis down that read raises, so
   the close stops half-way: the channel's connection pool is dropped, but the channel is not marked closed.
   ``collect()`` swallows the error and detaches the transport from its connection (``client = None``).
2. The consumer then calls ``connection.close()``, which closes the same channel again. This time the
   close gets as far as restoring the unacknowledged message (the running task), which needs a new pool,
   whose parameters come from ``transport.client`` — now ``None``: ``AttributeError``. It is not a
   connection error, so nothing catches it and the worker stops.

The fix: a failed read of the pending ``BRPOP`` reply while closing is what it looks like — the connection
is gone — so the close carries on (the reply is lost either way) and the channel is closed the first time.
The unacknowledged message is still held in Redis's unacked index and comes back after the visibility
timeout (``CELERY_VISIBILITY_TIMEOUT``) if the task never acknowledges it.

``portal.settings`` selects this transport for ``redis://`` and ``rediss://`` broker URLs
(``CELERY_BROKER_TRANSPORT``). Drop it once the upstream close is fixed: the fault test says when.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(redis.Channel):
    def close(self):
        if self._in_poll and not self.closed:
            try:
                self._brpop_read()
            except (redis.Empty, *self.connection_errors):
                # The connection is gone: no reply will come. _brpop_read has cleared _in_poll, so
                # the close below does not read again and runs to the end.
                pass
        super().close()


class Transport(redis.Transport):
    Channel = Channel


# --- the file-system transport (no broker URL: the embedded default) -----------------------------------
# kombu 5.7's file-system channel creates a message file and then writes it, while a consumer polling the
# folder moves and reads any file it lists, with no regard to the writer's lock: a consumer that comes
# between the two reads an empty file, and the worker stops with "Unrecoverable error: JSONDecodeError"
# (seen under the parallel test suite on a busy machine). Here a message is written under a name the
# consumer ignores and renamed into place when complete; a rename within a folder is atomic.


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.partial")  # not "<queue>.msg": never read
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
