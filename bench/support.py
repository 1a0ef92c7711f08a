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


def machine_speed() -> str:
    """A fixed single-core workload, timed: figures from machines (or moments) of different speed can be
    compared by it. The same shared VM has measured 2.5-3.3× apart between sessions."""
    import hashlib
    import time

    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i % 7
    python_ms = (time.perf_counter() - started) * 1000
    data = b"\0" * (64 << 20)
    started = time.perf_counter()
    hashlib.sha256(data).digest()
    sha_mib_s = 64 / (time.perf_counter() - started)
    return f"machine speed: 2M-step Python loop {python_ms:.0f} ms, SHA-256 {sha_mib_s:,.0f} MiB/s (one core)"
