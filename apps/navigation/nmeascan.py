"""NMEA read by compiled C (``nmeascan.c``), one pass over each block; loaded with ctypes.

The numpy reader (``reader._nmea_block``) runs a few dozen vectorised passes over each 4 MiB block; this
library applies the same rules in one pass and gives the same counts and fixes, bit for bit
(tests/navigation/test_nmeascan.py compares them on clean, dirty and random files). ``reader.read_nmea``
uses it when it is built (``make install``: ``python -m portal.native``) and ``QUAYSIDE_NMEA_SCAN`` is not
false; otherwise the numpy reader reads, slower.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np

LIBRARY = Path(__file__).resolve().parent / "_nmeascan.so"

# The counters nmeascan.c adds to, in its order (its enum N_...).
COUNT_NAMES = (
    "binary_bytes",
    "lines",
    "comment_lines",
    "sentences",
    "proprietary",
    "ais",
    "malformed",
    "run_together",
    "valid_checksum",
    "bad_checksum",
    "no_checksum",
    "GGA",
    "GNS",
    "RMC",
    "GLL",
    "ZDA",
    "VTG",
    "HDT",
    "truncated",
    "impossible_coordinates",
    "zda_without_date",
)
# The fix columns nmea_block writes, in its argument order (reader._FIX_COLUMNS' names and dtypes).
COLUMNS = (
    ("tod", np.float64),
    ("day", np.int64),
    ("logger", np.float64),
    ("lat", np.float64),
    ("lon", np.float64),
    ("quality", np.int8),
    ("nsat", np.int16),
    ("hdop", np.float32),
    ("sog", np.float32),
    ("kind", np.int8),
)

OFF = ("0", "false", "no", "off", "")  # portal.settings.FALSE_WORDS, which checks the variable at start

_lib = None
_tried = False


def _load():
    global _lib, _tried
    if not _tried:
        lib = None
        if (
            sys.byteorder == "little"
            and LIBRARY.exists()
            and os.environ.get("QUAYSIDE_NMEA_SCAN", "1").strip().lower() not in OFF
        ):
            lib = ctypes.CDLL(str(LIBRARY))
            lib.nmea_new.restype = ctypes.c_void_p
            lib.nmea_new.argtypes = []
            lib.nmea_free.restype = None
            lib.nmea_free.argtypes = [ctypes.c_void_p]
            lib.nmea_block.restype = ctypes.c_int64
            p, i64 = ctypes.c_void_p, ctypes.c_int64
            # (ctx, buf, n, state, counts, cap, then one pointer per fix column)
            lib.nmea_block.argtypes = [p, p, i64, p, p, i64] + [p] * len(COLUMNS)
        _lib, _tried = lib, True
    return _lib


def available() -> bool:
    """Whether the library is built and may be used (``QUAYSIDE_NMEA_SCAN=false`` turns it off)."""
    return _load() is not None


class Scanner:
    """One reading's C context (its row buffers grow once and are kept from block to block), the counters,
    the carried date (``day``, ``day_tod``, as ``reader._State`` keeps them for the numpy reader) and the
    fix columns, which the library writes in place, block after block: no per-block arrays to join.

    ``expect`` is a guess of the rows to come (the columns grow when it is short; pages never written cost
    nothing)."""

    def __init__(self, expect: int = 1 << 16, day: float = -1.0):
        self._lib = _load()
        self._ctx = self._lib.nmea_new()
        if not self._ctx:
            raise MemoryError("nmeascan: no memory for a context")
        self.state = np.array([day, np.nan])
        self._counts = np.zeros(len(COUNT_NAMES), np.int64)
        self.columns = {name: np.empty(max(expect, 16), dtype) for name, dtype in COLUMNS}
        self.size = 0

    def close(self) -> None:
        if self._ctx:
            self._lib.nmea_free(self._ctx)
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def block(self, buf: np.ndarray, n: int) -> int:
        """Read ``buf[:n]`` (at least 256 zero bytes follow it) as ``reader._nmea_block`` does, its fixes
        written after the ones before; the number of fixes it added."""
        self._room(self.size + n // 7 + 2)  # a sentence the epochs are made of is at least seven bytes long
        at = self.size
        got = self._lib.nmea_block(
            self._ctx,
            buf.ctypes.data,
            n,
            self.state.ctypes.data,
            self._counts.ctypes.data,
            len(self.columns["lat"]) - at,
            *(self.columns[name].ctypes.data + at * np.dtype(dtype).itemsize for name, dtype in COLUMNS),
        )
        if got < 0:
            raise MemoryError("nmeascan: no memory for a block's rows")
        self.size += got
        return got

    def _room(self, need: int) -> None:
        cap = len(self.columns["lat"])
        if need > cap:
            grown = max(need, 2 * cap)
            for name, dtype in COLUMNS:
                column = np.empty(grown, dtype)
                column[: self.size] = self.columns[name][: self.size]
                self.columns[name] = column

    def snapshot(self) -> tuple:
        """What ``restore`` takes back to: the fixes and counts so far (the carried date goes on)."""
        return self.size, self._counts.copy()

    def restore(self, snapshot: tuple) -> None:
        self.size, counts = snapshot
        self._counts[:] = counts

    def extend(self, other: Scanner) -> None:
        """Append the fixes ``other`` read (its counts are its own)."""
        self._room(self.size + other.size)
        for name, column in self.columns.items():
            column[self.size : self.size + other.size] = other.columns[name][: other.size]
        self.size += other.size

    def fixes(self) -> dict[str, np.ndarray]:
        """The fix columns so far (views)."""
        return {name: column[: self.size] for name, column in self.columns.items()}

    def counts(self) -> Counter:
        return Counter({name: int(v) for name, v in zip(COUNT_NAMES, self._counts, strict=True) if v})
