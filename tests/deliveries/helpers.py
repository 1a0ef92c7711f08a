"""Delivery trees for tests: a few instrument folders of small files, and an md5deep manifest of them."""

from __future__ import annotations

import hashlib
from pathlib import Path

TREE = {
    "multibeam/raw/0001.all": b"multibeam ping data " * 50,
    "multibeam/raw/0002.all": b"more pings " * 80,
    "ctd/cast001.hex": b"ctd cast one\n" * 20,
    "ctd/cast002.hex": b"ctd cast two\n" * 20,
    "adcp/os75/adcp.raw": b"\x00\x01adcp" * 100,
    "nav/gps.nmea": b"$GPGGA,120000,3240.0,N,11710.0,W,1,08,0.9,10.0,M,,,,*47\r\n" * 10,
    "README.txt": b"Cruise distribution\n",
}


def make_tree(root: Path, files: dict[str, bytes] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, data in (files or TREE).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def md5deep_manifest(root: Path, files: dict[str, bytes] | None = None, name: str = "md5deep.txt") -> Path:
    """``hash  ./path`` lines, as ``md5deep -r -l .`` writes them from the root."""
    lines = [f"{hashlib.md5(data).hexdigest()}  ./{path}\n" for path, data in sorted((files or TREE).items())]
    target = root / name
    target.write_text("".join(lines))
    return target
