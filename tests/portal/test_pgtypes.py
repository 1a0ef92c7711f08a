"""Timestamps loaded by psycopg's C parser (portal.pgtypes) are the datetimes Django's own loader gives."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader")
def test_timestamps_load_through_the_c_parser_as_aware_utc_datetimes():
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    assert loader.__name__ == "CTimestamptzLoader" and loader.timezone == connection.timezone
    values = [
        "2026-12-03 13:40:56.700080+00",
        "1969-07-20 20:17:40+00",
        "2024-02-29 23:59:59.999999-09:30",
        "0044-03-15 12:00:00+01",
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", [values]
        )
        ours = [row[0] for row in cursor.fetchall()]
        # Django's loader on a cursor of its own: the reference.
        raw = connection.connection.cursor()

        class Reference(BaseTzLoader):
            timezone = connection.timezone

        raw.adapters.register_loader("timestamptz", Reference)
        raw.execute(
            "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i", [values]
        )
        reference = [row[0] for row in raw.fetchall()]
    assert ours == reference
    assert all(v.tzinfo is connection.timezone for v in ours)
    assert ours[2] == datetime.datetime(2024, 3, 1, 9, 29, 59, 999999, tzinfo=datetime.UTC)
