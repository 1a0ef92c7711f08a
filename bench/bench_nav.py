#!/usr/bin/env python
"""Reading and assessing navigation: a month of 1 Hz NMEA behind a logger prefix.

Generates a 30-day 1 Hz stream (×BENCH_SCALE) — 2.6 million epochs, each GGA + RMC + ZDA behind an
OpenRVDAS ISO 8601 timestamp, about 500 MB at scale 1 — and measures in the same run, each in its own
process (so each peak RSS is its own):

- Quayside end to end: ``apps.navigation.qa.assess`` (the streaming, vectorised reader, then the whole
  certificate: clock, flags, speeds, accelerations, ratings) on the whole file;
- ``pynmea2`` and ``pynmeagps`` (PyPI) parsing the same file line by line (prefix cut at the ``$``, checksum
  checked), each on the file's first PEER_BYTES (they are far slower; their rate per line is constant, a
  prefix gives it) — parsing only, no assessment.

Targets: ≥ 20× pynmea2 in epochs/s, stretch ≥ 1,000,000 epochs/s end to end, memory bounded (one block plus
the per-epoch columns).
"""

from __future__ import annotations

import datetime
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.support import head_lines, phase_main, run_phase, work_dir, write_results  # noqa: E402  (bench/ is run as a script)

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
EPOCHS = int(30 * 86400 * SCALE)
PEER_BYTES = max(4 * 1024**2, int(40 * 1024**2 * SCALE))
START = datetime.datetime(2025, 6, 1, tzinfo=datetime.UTC)


def generate(path: Path) -> int:
    from apps.navigation import synthetic

    return synthetic.write(
        path, START, EPOCHS, lat0=-20.0, lon0=170.0, heading=95.0, speed_kn=11.0, prefix="iso"
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    """This process's CPU seconds: on a shared, loaded machine a fairer clock than the wall's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- phases (each runs in its own process) ----------------------------------------------------------


def phase_quayside(path: str) -> dict:
    from apps.navigation import qa

    t, cpu = time.perf_counter(), _cpu()
    a = qa.assess([path])
    elapsed, cpu = time.perf_counter() - t, _cpu() - cpu
    c = a.certificate
    assert c["bad_checksum"] == 0 and c["overall"] == "green", (c["overall"], c["tests"])
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "epochs": c["fixes"],
        "sentences": c["sentences"],
        "rss_mb": _rss_mb(),
    }


def phase_pynmea2(path: str) -> dict:
    import pynmea2

    epochs = sentences = 0
    t, cpu = time.perf_counter(), _cpu()
    with open(path, encoding="ascii") as fh:
        for line in fh:
            msg = pynmea2.parse(line[line.index("$") :].rstrip(), check=True)
            sentences += 1
            if msg.sentence_type == "GGA":
                epochs += 1
    return {
        "seconds": time.perf_counter() - t,
        "cpu": _cpu() - cpu,
        "epochs": epochs,
        "sentences": sentences,
        "rss_mb": _rss_mb(),
    }


def phase_pynmeagps(path: str) -> dict:
    from pynmeagps import NMEAReader

    epochs = sentences = 0
    t, cpu = time.perf_counter(), _cpu()
    with open(path, "rb") as fh:
        for line in fh:
            msg = NMEAReader.parse(line[line.index(b"$") :])
            sentences += 1
            if msg.msgID == "GGA":
                epochs += 1
    return {
        "seconds": time.perf_counter() - t,
        "cpu": _cpu() - cpu,
        "epochs": epochs,
        "sentences": sentences,
        "rss_mb": _rss_mb(),
    }


def main() -> int:
    workdir = work_dir("bench-nav-")
    path = workdir / "nav.nmea"
    t = time.perf_counter()
    generate(path)
    size = path.stat().st_size
    print(
        f"generated {size / 1e6:,.0f} MB, {EPOCHS:,} epochs (GGA+RMC+ZDA, ISO prefix) in {time.perf_counter() - t:.1f} s"
    )
    small = head_lines(path, workdir / "prefix.nmea", PEER_BYTES)
    results = {}
    for name, target in (("quayside", path), ("pynmea2", small), ("pynmeagps", small)):
        r = run_phase(__file__, name, target)
        mb = target.stat().st_size / 1e6
        r["mb"], r["mbps"], r["eps"] = mb, mb / r["seconds"], r["epochs"] / r["seconds"]
        r["eps_cpu"] = r["epochs"] / max(r["cpu"], 1e-9)
        results[name] = r
        print(
            f"{name:10} {mb:8,.0f} MB {r['epochs']:>10,} epochs in {r['seconds']:7.2f} s = "
            f"{r['eps']:>12,.0f} epochs/s {r['mbps']:8.1f} MB/s ({r['eps_cpu']:,.0f} epochs per CPU second)"
            f"   peak RSS {r['rss_mb']:6.0f} MB"
        )
    q, p2, pg = results["quayside"], results["pynmea2"], results["pynmeagps"]
    print(
        f"ratio quayside / pynmea2   = {q['eps'] / p2['eps']:8.1f}×   (target ≥ 20×; quayside also assesses)"
    )
    print(f"ratio quayside / pynmeagps = {q['eps'] / pg['eps']:8.1f}×")
    print(
        f"ratio per CPU second       = {q['eps_cpu'] / p2['eps_cpu']:8.1f}× pynmea2 (the load on a shared machine aside)"
    )
    print(f"quayside end to end        = {q['eps']:12,.0f} epochs/s   (stretch ≥ 1,000,000)")
    print(
        f"file / quayside peak RSS   = {size / 1e6 / q['rss_mb']:8.1f}   (memory: one block + per-epoch columns)"
    )
    write_results(
        "nav",
        figures={
            "scale": SCALE,
            "file_mb": round(size / 1e6, 1),
            "epochs": q["epochs"],
            "quayside_epochs_s": round(q["eps"]),
            "quayside_mb_s": round(q["mbps"], 1),
            "quayside_epochs_per_cpu_s": round(q["eps_cpu"]),
            "quayside_peak_rss_mb": round(q["rss_mb"]),
            "ratio_to_pynmea2_cpu": round(q["eps_cpu"] / p2["eps_cpu"], 1),
            "ratio_to_pynmea2": round(q["eps"] / p2["eps"], 1),
            "ratio_to_pynmeagps": round(q["eps"] / pg["eps"], 1),
            # The wall figures above depend on the shared machine's load; the per-CPU-second ones less so.
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        peers={
            "pynmea2_epochs_s": round(p2["eps"]),
            "pynmea2_mb_s": round(p2["mbps"], 2),
            "pynmea2_epochs_per_cpu_s": round(p2["eps_cpu"]),
            "pynmea2_peak_rss_mb": round(p2["rss_mb"]),
            "pynmeagps_epochs_s": round(pg["eps"]),
            "pynmeagps_mb_s": round(pg["mbps"], 2),
            "pynmeagps_peak_rss_mb": round(pg["rss_mb"]),
            "peer_prefix_mb": round(p2["mb"], 1),
        },
        summary=(
            f"parse + assess {q['eps']:,.0f} epochs/s ({q['mbps']:.0f} MB/s, peak {q['rss_mb']:.0f} MB): "
            f"{q['eps'] / p2['eps']:.0f}× pynmea2 ({q['eps_cpu'] / p2['eps_cpu']:.0f}× per CPU second), "
            f"{q['eps'] / pg['eps']:.0f}× pynmeagps (they parse only); "
            f"target 20× pynmea2 {'met' if q['eps'] / p2['eps'] >= 20 else 'not met'} "
            f"({'met' if q['eps_cpu'] / p2['eps_cpu'] >= 20 else 'not met'} per CPU second), "
            f"1M epochs/s {'met' if q['eps'] >= 1e6 else 'not met'}"
        ),
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        phase_main({"quayside": phase_quayside, "pynmea2": phase_pynmea2, "pynmeagps": phase_pynmeagps})
    sys.exit(main())
