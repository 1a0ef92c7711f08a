"""Model rows read and written by SQL written once, for the few statements of the busiest requests.

Django builds and compiles every queryset anew: on the reference machine that is most of a millisecond of
CPU for a one-row look-up or a one-row insert, several times what the database spends on it
(``bench/profile_eventlog.py``). The event-log POST makes several such statements a request, so it writes
them here instead. The SQL text comes from the models' metadata, built once per process (a new column is
picked up, no column list to keep in step by hand), and rows come back as ordinary model instances
(``Model.from_db`` with the fields' converters applied), the same objects the ORM would have given.

On PostgreSQL these statements run as prepared statements (``cursor()``): parsed and planned once per
database connection instead of once per request, which saves the database more CPU than it spends executing
them (the token look-up's plan cost 0.3 ms, its execution 0.05 ms). Django leaves psycopg's automatic
preparation off so that transaction-mode connection poolers keep working; Quayside's deployment talks to
PostgreSQL directly (docs/operations.md), and only these few statements are prepared.

Only for statements a profile shows are hot; everywhere else the ORM reads better. Works on PostgreSQL and
on SQLite (the embedded default): plain SQL, ``RETURNING`` on both.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


def _connection():
    # The connection itself, not django.db.connection: every attribute read through that proxy is a
    # thread-local look-up, and an insert reads a few per column.
    return connections[DEFAULT_DB_ALIAS]


class _Sent:
    """What Django's ``last_executed_query`` reads of a psycopg cursor: the statement's text."""

    __slots__ = ("query", "params")

    def __init__(self, query: bytes):
        self.query = query
        self.params = None


@functools.cache
def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        """Server-side binding, and every statement prepared (psycopg keeps the last 100 per connection)."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            super().execute(query, params, prepare=True, binary=binary)
            if self._query is None:
                # psycopg records the query it sent only when it sent its text, not a prepared statement's
                # name; Django's query log (DEBUG, CaptureQueriesContext) reads it from there.
                self._query = _Sent(query.encode() if isinstance(query, str) else query)
            return self

    return PreparingCursor


def cursor():
    """A cursor of the default connection (Django's wrapper: query logging, execute wrappers and error
    translation as for any cursor; use it in a ``with``) whose statements are prepared on PostgreSQL. For
    fixed SQL text only: each distinct text is one prepared statement on the server for the connection's
    life."""
    conn = _connection()
    if conn.vendor != "postgresql":
        return conn.cursor()
    # What BaseDatabaseWrapper.cursor() does, with our cursor class instead of the configured one.
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    if conn.connection.prepare_threshold is None:
        # Django turns psycopg's statement cache off (None), which makes prepare=True a no-op. Only
        # server-side-binding cursors consult it, and Django's own cursors bind on the client (unless
        # OPTIONS server_side_binding is set), so turning it on here prepares these statements alone.
        conn.connection.prepare_threshold = 5
    with conn.wrap_database_errors:
        return conn._prepare_cursor(_preparing_cursor_class()(conn.connection))


@functools.cache
def _fields(model: type[Model]) -> tuple:
    return tuple(model._meta.concrete_fields)


def columns(model: type[Model], alias: str) -> str:
    """The select list of ``model``'s concrete columns, qualified by ``alias``, in ``from_row``'s order."""
    return _columns(model, alias, connection.vendor)


@functools.cache
def _columns(model: type[Model], alias: str, vendor: str) -> str:
    q = connection.ops.quote_name
    return ", ".join(f"{q(alias)}.{q(f.column)}" for f in _fields(model))


def width(model: type[Model]) -> int:
    """How many columns ``columns(model, …)`` selects."""
    return len(_fields(model))


@functools.cache
def _loader(model: type[Model], vendor: str) -> tuple[list[str], list[tuple[int, list, object]]]:
    attnames = [f.attname for f in _fields(model)]
    converters = []
    for i, f in enumerate(_fields(model)):
        col = f.get_col(model._meta.db_table)
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((i, found, col))
    return attnames, converters


def from_row(model: type[Model], row: Sequence, start: int = 0) -> Model:
    """The instance of ``model`` in ``row[start:start + width(model)]``, as the ORM would load it."""
    conn = _connection()
    attnames, converters = _loader(model, conn.vendor)
    values = list(row[start : start + len(attnames)])
    for i, convs, col in converters:
        for convert in convs:
            values[i] = convert(values[i], col, conn)
    return model.from_db(conn.alias, attnames, values)


@functools.cache
def _insertable(model: type[Model]) -> tuple:
    return tuple(f for f in _fields(model) if not (f.primary_key and f.db_returning) and not f.generated)


def insert(objs: Sequence[Model]) -> None:
    """INSERT ``objs`` (one model, new rows) in one statement and set their primary keys: what
    ``bulk_create`` does for a model without inheritance, conflicts handling or signals."""
    if not objs:
        return
    conn = _connection()
    model = type(objs[0])
    fields = _insertable(model)
    size = max(1, conn.ops.bulk_batch_size(fields, objs))  # SQLite caps the parameters
    if len(objs) > size:
        for i in range(0, len(objs), size):
            insert(objs[i : i + size])
        return
    pk = model._meta.pk
    params = []
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="insert")
        params.extend([f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields])
    # One row (a single entry, an audit row): the same text every time, worth preparing. Many: a text per
    # batch size, and more parameters than server-side binding allows for the largest.
    with cursor() if len(objs) == 1 else conn.cursor() as c:
        c.execute(_insert_sql(model, len(objs), conn.vendor), params)
        keys = c.fetchall()
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, pk.attname, key)
        obj._state.adding = False
        obj._state.db = conn.alias


@functools.lru_cache(maxsize=64)
def _insert_sql(model: type[Model], rows: int, vendor: str) -> str:
    q = connection.ops.quote_name
    fields = _insertable(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} RETURNING {q(model._meta.pk.column)}"
    )


def get(model: type[Model], pk) -> Model | None:
    """The row of ``model`` with primary key ``pk``, or None: ``Model.objects.filter(pk=pk).first()``
    without the ordering and without building a query."""
    with cursor() as c:
        c.execute(_get_sql(model, _connection().vendor), [model._meta.pk.get_prep_value(pk)])
        row = c.fetchone()
    return None if row is None else from_row(model, row)


@functools.cache
def _get_sql(model: type[Model], vendor: str) -> str:
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    return f"SELECT {columns(model, model._meta.db_table)} FROM {table} WHERE {table}.{q(model._meta.pk.column)} = %s"
