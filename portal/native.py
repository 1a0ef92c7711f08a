"""The two C libraries Quayside compiles for itself, built in one place (``make install`` runs this).

- ``apps/storage/md5lanes.c``: MD5 of many files at once in SIMD lanes (the inventory, docs/deliveries.md);
- ``apps/navigation/nmeascan.c``: NMEA read in one pass over each block (navigation, docs/navigation.md).

Each is loaded with ctypes by its own module (``apps.storage.md5lanes``, ``apps.navigation.nmeascan``), which
falls back to a pure-Python path when the library is not there, so a machine without a C compiler still runs
everything, only slower. The compiler is the one Python was built with, else ``cc``; floating point is
compiled without fused multiply-add (``-ffp-contract=off``) so that the NMEA reader's arithmetic is numpy's,
step for step.

This file imports nothing from Quayside, so the image's build stage runs it alone:
``python native.py SOURCE TARGET``. ``python -m portal.native`` builds every library that is missing or
older than its source.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARIES = {
    "md5lanes": ("apps/storage/md5lanes.c", "apps/storage/_md5lanes.so"),
    "nmeascan": ("apps/navigation/nmeascan.c", "apps/navigation/_nmeascan.so"),
}
FLAGS = ("-O3", "-shared", "-fPIC", "-ffp-contract=off")


def build(source: Path, target: Path) -> bool:
    """Compile ``source`` into the shared library ``target`` (written whole, then renamed into place); False,
    with a note on stderr, when there is no compiler or it fails (the caller's module then falls back)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    command = [compiler, *FLAGS, "-o", str(partial), str(source)]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        print(
            f"{target.name} not built ({' '.join(command)}): {detail}; the Python path is used",
            file=sys.stderr,
        )
        partial.unlink(missing_ok=True)
        return False
    os.replace(partial, target)
    return True


def build_all(root: Path = ROOT) -> bool:
    """Build each library that is missing or older than its source; True when all are there."""
    ok = True
    for source, target in LIBRARIES.values():
        src, lib = root / source, root / target
        if not lib.exists() or lib.stat().st_mtime < src.stat().st_mtime:
            ok &= build(src, lib)
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 3:
        sys.exit(0 if build(Path(sys.argv[1]), Path(sys.argv[2])) else 1)
    if len(sys.argv) > 1:
        sys.exit("usage: python -m portal.native  |  python native.py SOURCE TARGET")
    build_all()
