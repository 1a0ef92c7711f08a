#!/usr/bin/env python
"""Benchmark runner: ``python bench/run.py [NAME ...]`` runs bench/bench_NAME.py (all when no name).

Each benchmark measures Quayside against a peer in the same run and prints throughputs and ratios;
benchmarks are never part of the test suite. Sizes can be reduced with BENCH_SCALE=0.1 for a quick look.
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        wanted = {f"bench_{n.removeprefix('bench_').removesuffix('.py')}.py" for n in names}
        scripts = [s for s in scripts if s.name in wanted]
        missing = wanted - {s.name for s in scripts}
        if missing:
            print(f"unknown benchmark(s): {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
    env = {**os.environ, "PYTHONPATH": str(HERE.parent), "DJANGO_SETTINGS_MODULE": "portal.settings"}
    status = 0
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        status |= subprocess.call([sys.executable, str(script)], env=env, cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
