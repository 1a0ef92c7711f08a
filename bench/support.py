"""What the benchmarks share: a fresh PostgreSQL database of their own."""

from __future__ import annotations

from pathlib import Path
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


def write_results(name: str, figures: dict, summary: str, *, peers: dict | None = None) -> Path:
    """Write one benchmark's figures as data: ``bench/results/<name>.json`` (figures, the peer's figures,
    a one-line summary, the machine speed line, date and commit) and print the summary line.

    ``docs/performance.md`` holds the current table made from these files; no figures live in prose."""
    import datetime
    import json
    import subprocess

    root = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    record = {
        "benchmark": name,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": machine_speed(),
        "summary": summary,
        "figures": figures,
        "peers": peers or {},
    }
    out = root / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    print(f"{name}: {summary}  ->  {out.relative_to(root.parent)}")
    return out
