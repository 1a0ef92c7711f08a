"""What the benchmarks share: a fresh PostgreSQL database of their own."""

from __future__ import annotations

from urllib.parse import urlparse


def recreate_database(url: str) -> None:
    """Drop and create the database ``url`` names (connecting to its server's ``postgres`` database)."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
