"""What the benchmarks share: a fresh PostgreSQL database of their own, a work folder, phases run each
in its own process (so each peak RSS is its own), and the results as data."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent  # the checkout: phases run from it, with it on PYTHONPATH


def recreate_database(url: str) -> None:
    """Drop and create the database ``url`` names (connecting to its server's ``postgres`` database), with
    the settings of ``deploy/postgresql/quayside.conf`` that a database may carry (the planner's costs,
    ``work_mem``, ``jit``…: ``production_settings``), so that it plans as a production server does; the
    server-wide ones (``shared_buffers``) stay the local server's."""
    import psycopg

    name = urlparse(url).path.lstrip("/")
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        settable = {
            row[0]
            for row in conn.execute("SELECT name FROM pg_settings WHERE context IN ('user', 'superuser')")
        }
        for setting, value in production_settings().items():
            if setting in settable:
                conn.execute(f'ALTER DATABASE "{name}" SET {setting} = {_literal(value)}')


def production_settings() -> dict[str, str]:
    """``name = value`` lines of deploy/postgresql/quayside.conf (comments dropped)."""
    conf = Path(__file__).resolve().parent.parent / "deploy" / "postgresql" / "quayside.conf"
    found = {}
    for line in conf.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = (part.strip() for part in line.split("=", 1))
            found[key] = value
    return found


def _literal(value: str) -> str:
    value = value.strip("'")
    return value if value.replace(".", "", 1).isdigit() or value in ("on", "off") else "'" + value + "'"


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


def work_dir(prefix: str) -> Path:
    """``BENCH_DIR`` when set (created if missing), else a new temporary folder named ``prefix…``."""
    workdir = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def head_lines(path: Path, dest: Path, nbytes: int) -> Path:
    """Copy the whole lines within the first ``nbytes`` of ``path`` to ``dest`` (a prefix for the slow
    peers, which would take hours on the whole file)."""
    with open(path, "rb") as src, open(dest, "wb") as out:
        data = src.read(nbytes)
        out.write(data[: data.rfind(b"\n") + 1])
    return dest


def run_phase(script: str, name: str, *args) -> dict:
    """Run phase ``name`` of the benchmark ``script`` (its ``__file__``) with ``args`` in a process of its
    own, and return the JSON object it printed last (see ``phase_main``)."""
    out = subprocess.run(
        [sys.executable, script, "--phase", name, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if out.returncode:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. VmHWM, not ru_maxrss: ru_maxrss survives exec and would
    report the generating parent's peak."""
    with open("/proc/self/status") as status:
        hwm = [line for line in status if line.startswith("VmHWM:")]
    return (int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def phase_main(phases: dict[str, Callable[..., dict]]) -> None:
    """The phase process's side of ``run_phase`` (``script --phase NAME ARGS…``): run the phase, add its
    peak RSS as ``rss_mb`` unless the phase measured its own, print the result as JSON and exit."""
    result = phases[sys.argv[2]](*sys.argv[3:])
    result.setdefault("rss_mb", peak_rss_mb())
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    # The result is out; skip interpreter teardown. A peer that read Parquet through a Python file with
    # pyarrow's pre-buffering (bench_node_rank) can leave an Arrow pool worker holding a Python buffer, and
    # freeing it during teardown aborts the process (quayside_node.httpfile's docstring).
    os._exit(0)
