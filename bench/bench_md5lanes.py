#!/usr/bin/env python
"""MD5 in SIMD lanes (``apps.storage.md5lanes``) against hashlib's MD5 (OpenSSL), on one core.

Two workloads, generated in memory (×BENCH_SCALE), each digest checked against hashlib's:

- large: 16 messages of 64 MiB side by side (``Md5Lanes.update`` with the whole messages, then ``final``),
  as the inventory's hashing threads feed large files;
- small: 8,192 messages of 1–32 KB (``md5_many``), as a helper process hashes a batch of small files, the
  Python around the call included.

Peer: ``hashlib.md5`` over the same messages one after another. Target (issue 12, the inventory): MD5 must
stop being the inventory's slowest part — at least 4× hashlib on large messages.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.support import write_results  # noqa: E402  (bench/ is run as a script)

SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
MiB = 1024 * 1024


def best(function, rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    from apps.storage import md5lanes

    if not md5lanes.available():
        sys.exit("the MD5 lanes are not built: make install (needs a C compiler)")
    rng = random.Random(20261204)
    large = [bytearray(rng.randbytes(max(MiB, int(64 * MiB * SCALE)))) for _ in range(16)]
    small = [rng.randbytes(rng.randint(1024, 32 * 1024)) for _ in range(max(256, int(8192 * SCALE)))]
    expected_large = [hashlib.md5(m).hexdigest() for m in large]
    expected_small = [hashlib.md5(m).hexdigest() for m in small]

    def lanes_large():
        lanes = md5lanes.Md5Lanes(len(large))
        lanes.update({i: memoryview(m)[: len(m) - len(m) % 64] for i, m in enumerate(large)})
        got = [lanes.final(i, m[len(m) - len(m) % 64 :], len(m)) for i, m in enumerate(large)]
        assert got == expected_large

    def lanes_small():
        assert md5lanes.md5_many(small) == expected_small

    figures = {"scale": SCALE}
    for name, messages, ours in (("large", large, lanes_large), ("small", small, lanes_small)):
        mib = sum(map(len, messages)) / MiB
        theirs = best(lambda messages=messages: [hashlib.md5(m).hexdigest() for m in messages])
        mine = best(ours)
        figures[f"{name} MiB"] = round(mib)
        figures[f"{name} lanes MiB/s"] = round(mib / mine)
        figures[f"{name} hashlib MiB/s"] = round(mib / theirs)
        figures[f"{name} vs hashlib"] = round(theirs / mine, 2)
        print(f"{name:5} {mib:8,.0f} MiB: lanes {mib / mine:8,.0f} MiB/s, hashlib {mib / theirs:8,.0f} MiB/s")
    summary = (
        f"MD5 on one core: {figures['large lanes MiB/s']:,} MiB/s in 16 lanes, "
        f"{figures['large vs hashlib']}× hashlib (target ≥ 4); a batch of 1–32 KB files "
        f"{figures['small lanes MiB/s']:,} MiB/s, {figures['small vs hashlib']}× hashlib"
    )
    peers = {
        "hashlib.md5 (OpenSSL)": {
            "large MiB/s": figures["large hashlib MiB/s"],
            "small MiB/s": figures["small hashlib MiB/s"],
        }
    }
    write_results("md5lanes", figures, summary, peers=peers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
