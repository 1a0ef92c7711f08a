"""Timestamps from PostgreSQL at psycopg's C speed.

Django loads ``timestamptz`` with a loader of its own (``psycopg_any.BaseTzLoader``) that subclasses
psycopg's *Python* ``TimestamptzLoader`` to set the time zone, so every timestamp of every query is parsed
in Python (about 3 µs each) although psycopg-binary, which Quayside installs, has the parser in C. A page
of OAI-PMH records, a catalog build (three timestamps a version, a million versions) and the harvester pay
for it. ``use_c_timestamp_loader`` (on ``connection_created``) registers, on each new PostgreSQL
connection, a loader that calls the C parser and sets the same time zone Django's would: the same
datetimes (``tests/portal/test_pgtypes.py``), about half the time per value. Django reads the loader's
``timezone`` to decide whether a cursor needs its own loader, so ours carries it too.

Written here (not a library): no package offers it; it is Django's own loader with one call swapped.
"""

from __future__ import annotations

import functools


def use_c_timestamp_loader(sender, connection, **kwargs) -> None:
    if connection.vendor != "postgresql":
        return
    loader = _loader_for(connection.timezone)
    if loader is not None:
        connection.connection.adapters.register_loader("timestamptz", loader)


@functools.cache
def _loader_for(tz):
    try:
        import psycopg  # noqa: F401  (psycopg_binary refuses to be imported first)
        from psycopg.adapt import Loader
        from psycopg_binary._psycopg import TimestamptzLoader as CLoader
    except ImportError:  # pure-Python psycopg: Django's loader stays
        return None

    class CTimestamptzLoader(Loader):
        timezone = tz

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._parse = CLoader(oid, context).load

        def load(self, data):
            return self._parse(data).replace(tzinfo=self.timezone)

    return CTimestamptzLoader
