"""Read navigation files as ships write them: NMEA 0183 (with or without a logger's timestamp before each
sentence) and simple delimited files (time, lat, lon[, quality, satellites, hdop]).

Why by hand: ``pynmea2`` and ``pynmeagps`` parse one sentence per Python call (tens of thousands of sentences
a second), and a month of 1 Hz GGA+RMC+ZDA is eight million sentences; ``bench/bench_nav.py`` measures both
against this module in the same run. Here the file is read in blocks (``BLOCK`` bytes, cut after a line end,
read in place into one reused buffer) and each block is one numpy array: one scan finds sentence starts,
checksum stars, line ends and binary bytes (not the commas), checksums are one XOR-accumulate over the
block, the commas are one packed bit mask of the block (two words of it compared a sentence, and listed
only where a sentence kind's field layout changes), and fields are parsed in place from their byte offsets
— column by column where a field has one width and its dot one column (the usual case), else through
(rows × width) byte matrices; a few vectorised passes per field, never a Python loop per sentence. Text that
repeats (an epoch's time in each of its sentences, a logger's date) is parsed once where it changes. Memory
is one block plus the per-epoch fix columns; a 2 GB file never sits in memory.

Where it is built, the compiled scanner (``nmeascan.c``, one pass over each block: ``_read_compiled``) reads
instead, through a memory map and on two threads; it applies the rules of ``_nmea_block`` and gives the
same fixes and counts, bit for bit (tests/navigation/test_nmeascan.py). This numpy reader is its fallback
and its reference.

The result is a ``Reading``: one row per epoch (several position sentences of the same epoch — GGA+RMC+GLL,
GPGGA+GLGGA — make one fix) and the counts of everything met, dirty parts included.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from apps.navigation import nmeascan

BLOCK = 4 * 1024 * 1024
SECONDS_PER_DAY = 86400
WEEK_ROLLOVER_DAYS = 1024 * 7

_DOLLAR, _BANG, _STAR, _COMMA, _NL, _CR = 36, 33, 42, 44, 10, 13

# Position sentence kinds, best first: the epoch's fix comes from the best valid one.
GGA, GNS, RMC, GLL = 0, 1, 2, 3
_KINDS = {b"GGA": GGA, b"GNS": GNS, b"RMC": RMC, b"GLL": GLL}
_OTHER = (b"ZDA", b"VTG", b"HDT")
# GNS mode indicator (first character) → GGA quality code.
_GNS_QUALITY = {ord("N"): 0, ord("A"): 1, ord("D"): 2, ord("P"): 3, ord("R"): 4, ord("F"): 5, ord("E"): 6}

_HEX = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789ABCDEF"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _HEX[_c] = 10 + _i

_FIX_COLUMNS = ("tod", "day", "logger", "lat", "lon", "quality", "nsat", "hdop", "sog", "kind")


@dataclass
class Reading:
    """What was read: ``fixes`` (one row per epoch, numpy columns) and ``counts``.

    Fix columns: ``tod`` sensor time of day in seconds (NaN if the sentence had none), ``day`` sensor date as
    days since 1970-01-01 (-1 if no RMC/ZDA date was known), ``logger`` logger time as POSIX seconds (NaN
    without a prefix), ``lat``/``lon`` decimal degrees (NaN when impossible), ``quality`` GGA quality (-1
    unknown), ``nsat`` (-1 unknown), ``hdop`` (NaN unknown), ``sog`` speed over ground reported by RMC in
    m/s (NaN unknown), ``kind`` the sentence kind the fix came from.
    """

    fixes: dict[str, np.ndarray]
    counts: Counter = field(default_factory=Counter)
    format: str = "nmea"

    def __len__(self) -> int:
        return len(self.fixes["lat"])


def _empty_fixes() -> dict[str, np.ndarray]:
    return {
        "tod": np.empty(0),
        "day": np.empty(0, np.int64),
        "logger": np.empty(0),
        "lat": np.empty(0),
        "lon": np.empty(0),
        "quality": np.empty(0, np.int8),
        "nsat": np.empty(0, np.int16),
        "hdop": np.empty(0, np.float32),
        "sog": np.empty(0, np.float32),
        "kind": np.empty(0, np.int8),
    }


# --- vectorised field parsing ----------------------------------------------------------------------

# Every block buffer ends in this many zero bytes, so a window of up to _PAD bytes may start anywhere in it.
_PAD = 256


def _rows(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes from each offset ``at``, as a (len(at) × width) matrix: a row gather over a sliding
    window view copies each row as one run (several times faster than an element-wise index matrix)."""
    return sliding_window_view(buf, width)[at]


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm), vectorised."""
    y = y.astype(np.int64) - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m.astype(np.int64) + 9) % 12
    doy = (153 * mp + 2) // 5 + d.astype(np.int64) - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _numbers(buf: np.ndarray, fs: np.ndarray, fe: np.ndarray, width: int = 16):
    """Parse the unsigned decimal numbers ``buf[fs:fe]``: (mantissa, decimals, dot position, ok).

    The value is ``mantissa / 10**decimals``: both are exact in a float64, so the one division rounds
    correctly — the same double ``float(text)`` gives. ``ok`` is False for empty, too long or non-numeric
    fields. The fields are gathered into one (fields × width) byte matrix: a handful of array operations
    for all of them.
    """
    n = len(fs)
    length = fe - fs
    if n == 0:
        z = np.zeros(0, np.int64)
        return z, z, z, np.zeros(0, bool)
    fixed = _fixed_width_numbers(buf, fs, length)
    if fixed is not None:
        return fixed
    w = int(min(width, max(1, length.max())))
    cols = np.arange(w)
    c = _rows(buf, fs, w)
    inside = cols < length[:, None]
    d = c - np.uint8(48)  # wraps for bytes below '0': not a digit
    is_digit = (d < 10) & inside
    is_dot = (c == 46) & inside
    ones = np.ones(w, np.uint8)  # row sums as a product: faster than count_nonzero(axis=1) on narrow rows
    ndot = is_dot.view(np.uint8) @ ones
    ndigits = is_digit.view(np.uint8) @ ones
    ok = (length > 0) & (length <= width) & (ndot <= 1) & (ndigits > 0) & (ndigits + ndot == length)
    dot = np.where(ndot > 0, np.argmax(is_dot, axis=1), length)
    dec = np.maximum(length - dot - 1, 0)
    # The field's characters as one integer (the dot as a 0 digit): fixed powers of ten over the window
    # (w ≤ 16 columns, so it fits an int64), then shifted right by the columns past the field's end.
    whole = np.where(is_digit, d, np.uint8(0)).astype(np.int64) @ _POW10[w - 1 :: -1]
    whole //= _POW10[w - np.minimum(length, w)]
    # Take the dot's 0 out: the digits before it move down one place.
    p = _POW10[np.minimum(dec, 17)]
    mant = np.where(ndot > 0, whole // (p * 10) * p + whole % p, whole)
    return mant, dec, dot, ok


_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _fixed_width_numbers(buf: np.ndarray, fs: np.ndarray, length: np.ndarray):
    """``_numbers`` for the usual case, read column by column: every field the same width (a logger's
    receiver pads them), the dot — if any — in the same column, digits everywhere else. A column is one
    gather of a byte per field, so a field costs a few operations a character instead of the general
    reading's byte matrices. None when the fields are not all so; the general reading then decides."""
    w = int(length[0])
    if not 0 < w <= 15 or (length != w).any():
        return None
    dots = np.flatnonzero(buf[fs[0] : fs[0] + w] == 46)
    if len(dots) > 1 or w == len(dots):
        return None
    dot = int(dots[0]) if len(dots) else w
    mant = np.zeros(len(fs), np.int64)
    bad = np.zeros(len(fs), bool)
    # The fields' bytes as eight-byte words (one gather a word, not one a column); a column is a byte lane.
    words = _at_every_byte(buf)
    lanes = [words[fs]] + ([words[fs + 8]] if w > 8 else [])
    for j in range(w):
        column = (lanes[j >> 3] >> np.uint64(8 * (j & 7))).astype(np.uint8)  # the lane's low byte
        if j == dot:
            bad |= column != 46
            continue
        digit = column - np.uint8(48)  # wraps for bytes below '0': not a digit
        bad |= digit > 9
        mant *= 10
        mant += digit
    if bad.any():
        return None
    n = len(fs)
    return mant, np.full(n, max(w - dot - 1, 0), np.int64), np.full(n, dot, np.int64), np.ones(n, bool)


def _value(mant, dec):
    return mant / _POW10[np.minimum(dec, 18)].astype(np.float64)


def _angle(buf, fs, fe, hemi_fs, hemi_fe, degree_digits: int, limit: float):
    """``ddmm.mmmm`` / ``dddmm.mmmm`` plus N/S or E/W → signed decimal degrees (NaN when impossible)."""
    mant, dec, dot, ok = _numbers(buf, fs, fe)
    ok &= dot == degree_digits + 2
    scale = 100 * _POW10[np.minimum(dec, 16)]
    degrees = mant // scale
    minutes = _value(mant % scale, dec)
    value = degrees + minutes / 60.0
    hemi = buf[hemi_fs]
    has_hemi = (hemi_fe - hemi_fs) == 1
    south = has_hemi & ((hemi == ord("S")) | (hemi == ord("W")))
    north = has_hemi & ((hemi == ord("N")) | (hemi == ord("E")))
    ok &= (south | north) & (minutes < 60) & (value <= limit)
    return np.where(ok, np.where(south, -value, value), np.nan), ok


def _time_of_day(buf, fs, fe):
    """``hhmmss[.sss]`` → seconds of day (NaN when absent or impossible): the six fixed digits by column,
    the fraction as an integer over its power of ten (exact)."""
    if len(fs) == 0:
        return np.zeros(0)
    length = fe - fs
    mant, places, dot, ok = _numbers(buf, fs, fe)
    ok &= (dot == 6) & (length >= 6)  # six digits, then nothing or a dot and the fraction
    scale = _POW10[np.minimum(places, 12)]
    hhmmss, frac = mant // scale, mant % scale
    hh, mm, ss = hhmmss // 10000, hhmmss // 100 % 100, hhmmss % 100
    ok &= (hh < 24) & (mm < 60) & (ss < 61)
    seconds = hh * 3600 + mm * 60 + ss + frac / _POW10[np.minimum(places, 18)]
    return np.where(ok, seconds, np.nan)


def _integer(buf, fs, fe, default=-1):
    """A small unsigned integer field (quality, satellites, day, month, year), digit by digit."""
    length = fe - fs
    value = np.zeros(len(fs), np.int64)
    ok = (length > 0) & (length <= 6)
    for j in range(int(min(6, length.max(initial=0)))):
        inside = j < length
        digit = buf[fs + j].astype(np.int64) - 48
        ok &= ~inside | ((digit >= 0) & (digit <= 9))
        value = np.where(inside, value * 10 + digit, value)
    return np.where(ok, value, default)


def _float(buf, fs, fe):
    mant, dec, dot, ok = _numbers(buf, fs, fe)
    return np.where(ok, _value(mant, dec), np.nan)


def _digits_at(c, cols: tuple[int, ...]):
    """The decimal number written at columns ``cols`` of the gathered rows (``c`` transposed: one contiguous
    row per column), and whether all are digits."""
    value = np.zeros(len(c[cols[0]]), np.int32)  # at most four digits
    ok = np.ones(len(value), bool)
    for j in cols:
        d = c[j].astype(np.int32) - 48
        ok &= (d >= 0) & (d <= 9)
        value = value * 10 + d
    return value, ok


def _logger_times(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """POSIX seconds of a logger timestamp written at ``at`` (NaN where there is none).

    Two shapes: ISO 8601 as OpenRVDAS writes it (``2024-01-10T12:00:00.123456Z``, also with a space for the
    ``T``; read as UTC) and SCS's ``01/10/2024,12:00:00.123``. The date (the first ten characters) changes
    once a day: it is read only where its text differs from the previous row's.
    """
    c = np.ascontiguousarray(_rows(buf, at, 30).T)  # column by column: each a contiguous array
    new_date = np.ones(len(at), bool)
    new_date[1:] = (c[:10, 1:] != c[:10, :-1]).any(axis=0)
    which = np.cumsum(new_date) - 1
    dc = c[:10, new_date]
    iso_date = (dc[4] == 45) & (dc[7] == 45)
    scs_date = (dc[2] == 47) & (dc[5] == 47)
    y_iso, ok_y1 = _digits_at(dc, (0, 1, 2, 3))
    mo_iso, ok_m1 = _digits_at(dc, (5, 6))
    d_iso, ok_d1 = _digits_at(dc, (8, 9))
    mo_scs, ok_m2 = _digits_at(dc, (0, 1))
    d_scs, ok_d2 = _digits_at(dc, (3, 4))
    y_scs, ok_y2 = _digits_at(dc, (6, 7, 8, 9))
    iso_date &= ok_y1 & ok_m1 & ok_d1
    scs_date &= ok_y2 & ok_m2 & ok_d2
    y = np.where(iso_date, y_iso, y_scs)
    mo = np.where(iso_date, mo_iso, mo_scs)
    d = np.where(iso_date, d_iso, d_scs)
    date_ok = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31)
    days = days_from_civil(np.where(date_ok, y, 1970), np.where(date_ok, mo, 1), np.where(date_ok, d, 1))
    iso = iso_date[which] & ((c[10] == 84) | (c[10] == 32))
    scs = scs_date[which] & (c[10] == 44)
    hh, ok_h = _digits_at(c, (11, 12))
    mi, ok_mi = _digits_at(c, (14, 15))
    ss, ok_s = _digits_at(c, (17, 18))
    ok = (iso | scs) & (c[13] == 58) & (c[16] == 58) & ok_h & ok_mi & ok_s & date_ok[which]
    ok &= (hh < 24) & (mi < 60) & (ss < 61)
    # Fraction: the digits after a '.' at column 19, as many as there are (up to 9).
    frac = np.zeros(len(at))
    running = c[19] == 46
    scale = 0.1
    for j in range(20, 29):
        if not running.any():
            break
        digit = c[j].astype(np.int64) - 48
        running &= (digit >= 0) & (digit <= 9)
        frac += np.where(running, digit * scale, 0.0)
        scale /= 10
    days = days[which]
    return np.where(ok, days * SECONDS_PER_DAY + hh * 3600 + mi * 60 + ss + frac, np.nan)


# --- one block of NMEA -----------------------------------------------------------------------------


@dataclass
class _State:
    """What carries over from one block (and one file) to the next: the latest date and its time of day,
    and the block-sized mask each block reuses (a fresh one would cost its pages again every block)."""

    day: int = -1
    day_tod: float = np.nan
    mask: np.ndarray | None = None

    def scratch(self, size: int) -> np.ndarray:
        """A bool array of ``size`` for block-wide masks (a view of one kept from block to block)."""
        if self.mask is None or len(self.mask) < size:
            self.mask = np.empty(size, bool)
        return self.mask[:size]


def _merge_epochs(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per epoch: consecutive rows with the same sensor time of day (or, without one, the same
    logger time) are one epoch; its row is the best valid position (GGA, GNS, RMC, GLL), with the RMC's
    speed over ground and the latest date seen in the epoch."""
    n = len(f["lat"])
    if n == 0:
        return f
    key = np.where(np.isnan(f["tod"]), f["logger"], f["tod"])
    has_key = ~np.isnan(key)
    new = np.ones(n, bool)
    if n > 1:
        same = has_key[1:] & has_key[:-1] & (np.abs(key[1:] - key[:-1]) < 0.0005)
        same &= np.isnan(f["tod"][1:]) == np.isnan(f["tod"][:-1])
        new[1:] = ~same
    if new.all():
        return f
    epoch = np.cumsum(new) - 1
    priority = f["kind"].astype(np.int64) + np.where(np.isnan(f["lat"]), 10, 0)
    order = np.lexsort((np.arange(n), priority, epoch))
    first_of = np.flatnonzero(new)
    best = order[first_of]  # rows sorted by epoch then priority: the first row of each epoch is its best
    merged = {name: column[best] for name, column in f.items()}
    merged["sog"] = np.fmax.reduceat(f["sog"], first_of)
    # The epoch's date: its own RMC's when it has one (a GGA before it carries the previous epoch's).
    own = np.maximum.reduceat(np.where(f["kind"] == RMC, f["day"], -1), first_of)
    merged["day"] = np.where(own >= 0, own, np.maximum.reduceat(f["day"], first_of))
    if (merged["quality"] < 0).any():  # a GGA's quality when the best row was an RMC/GLL
        q = np.maximum.reduceat(np.where(f["kind"] <= GNS, f["quality"], -1).astype(np.int16), first_of)
        merged["quality"] = np.where(merged["quality"] < 0, q, merged["quality"]).astype(np.int8)
    return merged


# Byte classes: 0 ordinary printable, then the bytes the reader looks for.
_C_DOLLAR, _C_BANG, _C_COMMA, _C_STAR, _C_NL, _C_CR, _C_BINARY = 1, 2, 3, 4, 5, 6, 7
_CLASS = np.zeros(256, np.uint8)
_CLASS[[c for c in range(256) if (c < 32 and c not in (9, 10, 13)) or c > 126]] = _C_BINARY
_CLASS[[_DOLLAR, _BANG, _COMMA, _STAR, _NL, _CR]] = [_C_DOLLAR, _C_BANG, _C_COMMA, _C_STAR, _C_NL, _C_CR]
_MIN_FIELDS = {GGA: 9, GNS: 8, RMC: 9, GLL: 4}


def _fold(x: np.ndarray) -> np.ndarray:
    """XOR of the 8 bytes of each uint64."""
    x = x ^ (x >> np.uint64(32))
    x ^= x >> np.uint64(16)
    x ^= x >> np.uint64(8)
    return (x & np.uint64(0xFF)).astype(np.int16)


def _xor_prefix(words: np.ndarray, cw: np.ndarray, p: np.ndarray) -> np.ndarray:
    """XOR of bytes [0, p), eight lanes a word (fold with ``_fold``): ``cw`` is the exclusive word-wise XOR
    prefix (``cw[q]`` the XOR of words [0, q)), and the low ``p % 8`` bytes of word ``p // 8`` (8 bytes per
    step: 8× fewer than bytes)."""
    return cw[p >> 3] ^ (words[p >> 3] & _LOW_BYTES[p & 7])


_LOW_BYTES = np.array([(1 << (8 * r)) - 1 for r in range(8)], np.uint64)  # the low r bytes (little-endian)


def _at_every_byte(buf: np.ndarray) -> np.ndarray:
    """The little-endian uint64 starting at each byte offset of ``buf`` (a strided, unaligned view: one gather
    reads eight bytes a row)."""
    return np.ndarray((len(buf) - 7,), np.uint64, buffer=buf, strides=(1,))


_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


def _same_text_as_previous(buf: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> np.ndarray:
    """Whether each text ``buf[fs:fe]`` (up to 16 bytes; longer ones never count as the same) is the one
    before it: two eight-byte words a text, cut to its length, compared."""
    n = len(fs)
    same = np.zeros(n, bool)
    if n < 2:
        return same
    words = _at_every_byte(buf)
    length = fe - fs
    bits = np.clip(length, 0, 16).astype(np.uint64) * np.uint64(8)
    w0 = words[fs] & ~(_ALL << bits)  # a shift by 64 or more gives 0 in numpy
    w1 = words[fs + 8] & ~(_ALL << (np.maximum(bits, np.uint64(64)) - np.uint64(64)))
    same[1:] = (w0[1:] == w0[:-1]) & (w1[1:] == w1[:-1]) & (length[1:] == length[:-1]) & (length[1:] <= 16)
    return same


_WINDOW = 120  # bits of the comma mask a range is compared by: two words, whatever the range's bit offset


def _commas(bits: np.ndarray, buf: np.ndarray, s: np.ndarray, e: np.ndarray, group: np.ndarray):
    """Where the commas of the byte ranges ``[s, e)`` are: ``(offsets, layout, count)``.

    ``bits`` is the block's comma mask, packed (``np.packbits(buf == ',', bitorder="little")``, padded).
    ``offsets[layout[i]]`` holds the offsets from ``s[i]`` of range i's first ``_MOST_COMMAS`` commas (-1
    past its last), ``count[layout[i]]`` how many it has. A logger writes the same kind of sentence with the
    same field widths for long runs, so a range shares its layout with the previous one of its ``group``
    (sentence kind) whenever their comma masks — the range's bits of the packed mask, two words a range —
    are equal; the commas are listed only for the ranges where the layout changes. A range longer than the
    window (real sentences are at most 82 bytes) is read byte by byte, and gets a layout of its own, as
    does the range after it.
    """
    n = len(s)
    length = e - s
    # Ranges in group order (stable), so each is compared with the previous one of its group.
    order = np.argsort(group, kind="stable")
    so, lo_len = s[order], length[order]
    words = _at_every_byte(bits)
    q, r = so >> 3, (so & 7).astype(np.uint64)
    w0, w1 = words[q], words[q + 8]
    lo = (w0 >> r) | (w1 << (np.uint64(64) - r))  # a shift by 64 gives 0 in numpy
    hi = w1 >> r
    size = np.clip(lo_len, 0, _WINDOW).astype(np.uint64)
    lo &= ~(_ALL << size)
    hi &= ~(_ALL << (np.maximum(size, np.uint64(64)) - np.uint64(64)))
    long = lo_len > _WINDOW
    changed = long.copy()
    changed[0] = True
    g = group[order]
    changed[1:] |= (g[1:] != g[:-1]) | (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]) | long[:-1]
    ch = np.flatnonzero(changed)  # in group order
    at = np.where(changed, np.arange(n), 0)
    np.maximum.accumulate(at, out=at)  # each range takes the layout of the latest change in its group
    layout = np.empty(n, np.int64)
    layout[order] = (np.cumsum(changed) - 1)[at]
    long = long[ch]
    ch_s, ch_e = so[ch], e[order][ch]

    offsets = np.full((len(ch), _MOST_COMMAS), -1, np.int64)
    mask = np.unpackbits(np.stack((lo[ch], hi[ch]), axis=1).view(np.uint8), axis=1, bitorder="little")
    flat = np.flatnonzero(mask)
    row = flat >> 7  # 128 bits a row
    count = np.bincount(row, minlength=len(ch))
    nth = np.arange(len(flat)) - (np.cumsum(count) - count)[row]
    keep = nth < _MOST_COMMAS
    offsets[row[keep], nth[keep]] = (flat & 127)[keep]
    lr = np.flatnonzero(long)
    if len(lr):  # ranges longer than the window: all their bytes, gathered as one index range
        ls = ch_s[lr]
        lens = ch_e[lr] - ls
        ends = np.cumsum(lens)
        at = np.repeat(ls - (ends - lens), lens) + np.arange(int(ends[-1]))
        hit = np.flatnonzero(buf[at] == _COMMA)
        r2 = np.searchsorted(ends, hit, side="right")
        c2 = np.bincount(r2, minlength=len(lr))
        nth = np.arange(len(hit)) - (np.cumsum(c2) - c2)[r2]
        keep = nth < _MOST_COMMAS
        offsets[lr] = -1
        offsets[lr[r2[keep]], nth[keep]] = (at[hit] - ls[r2])[keep]
        count[lr] = c2
    return offsets, layout, count


_MOST_COMMAS = 11  # the fields read are at most the 9th (RMC's date): its end is the 10th comma


def _nmea_block(buf: np.ndarray, n: int, state: _State, counts: Counter) -> dict[str, np.ndarray]:
    """The fixes of the block ``buf[:n]`` (zero bytes follow it, see ``_blocks``), its counts added to
    ``counts``."""
    pad = _PAD + (-(n + _PAD)) % 8
    b = buf[: n + pad]
    mask = state.scratch(n + pad)

    # One pass finds the special bytes — below '-' (45) or above 127, leaving out the commas and spaces that
    # are most of those — and a table classifies them; everything after works on these (sentence starts,
    # stars, line ends, binary bytes) in order. Commas are found later, only inside the sentences read.
    body = b[:n]
    # As int8, bytes above 127 are negative: one comparison, below ',' (44). Spaces are dropped by the table.
    idx = np.flatnonzero(np.less(body.view(np.int8), _COMMA, out=mask[:n]))
    k = _CLASS[body[idx]]
    keep = k != 0  # spaces, '#', '(' …: ordinary after all
    idx, k = idx[keep], k[keep]
    nspecial = len(idx)
    counts["binary_bytes"] += int(np.count_nonzero(k == _C_BINARY))
    is_nl = k == _C_NL
    nl_pos = idx[is_nl]
    counts["lines"] += len(nl_pos) + (1 if n and b[n - 1] != _NL else 0)
    line_starts = np.concatenate(([0], nl_pos + 1))
    first = b[line_starts[line_starts < n]]
    counts["comment_lines"] += int(np.count_nonzero((first == ord("#")) | (first == ord(";"))))
    sp = np.flatnonzero((k == _C_DOLLAR) | (k == _C_BANG))  # sentence starts, as special indexes
    if len(sp) == 0:
        return _empty_fixes()
    starts = idx[sp]
    idx_ext = np.append(idx, n)
    k_ext = np.append(k, _C_NL)
    j_end = sp + 1  # the next special: the star, or the sentence's end; its commas lie before it
    has_star = k_ext[j_end] == _C_STAR
    body_end = idx_ext[j_end]
    ends = np.where(has_star, idx_ext[np.minimum(j_end + 1, nspecial)], body_end)

    # Address: $ + 5 upper-case letters/digits + ',' (standard and AIS), or $P + letters (proprietary).
    a = _rows(b, starts + 1, 6)
    upper = ((a >= 65) & (a <= 90)) | ((a >= 48) & (a <= 57))
    is_dollar = b[starts] == _DOLLAR
    standard = (
        (upper[:, :5].view(np.uint8) @ np.ones(5, np.uint8) == 5) & (a[:, 5] == _COMMA) & (starts + 6 < ends)
    )
    proprietary = is_dollar & (a[:, 0] == ord("P")) & (a[:, 1] >= 65) & (a[:, 1] <= 90)
    ais = ~is_dollar & standard
    standard &= is_dollar & ~proprietary
    recognised = standard | proprietary | ais
    counts["sentences"] += int(np.count_nonzero(recognised))
    counts["proprietary"] += int(np.count_nonzero(proprietary))
    counts["ais"] += int(np.count_nonzero(ais))
    counts["malformed"] += int(np.count_nonzero(~recognised))

    # Sentences sharing a line with the one before (run together, or after binary bytes).
    line_of = np.cumsum(is_nl)[sp]
    run_together = np.zeros(len(sp), bool)
    run_together[1:] = (line_of[1:] == line_of[:-1]) & recognised[1:] & recognised[:-1]
    counts["run_together"] += int(np.count_nonzero(run_together))

    # Checksums: '*' + two hex digits; the XOR of the bytes between '$' and '*' from one word-wise
    # XOR-accumulate over the block.
    words = b.view(np.uint64)
    cw = np.empty(len(words) + 1, np.uint64)
    cw[0] = 0
    np.bitwise_xor.accumulate(words, out=cw[1:])
    # XOR is per byte lane, so the two prefixes are combined before their lanes are folded to one byte.
    computed = _fold(_xor_prefix(words, cw, body_end) ^ _xor_prefix(words, cw, starts + 1))
    hi = _HEX[b[body_end + 1]]
    lo = _HEX[b[body_end + 2]]
    valid = has_star & (hi >= 0) & (lo >= 0) & (body_end + 3 <= ends) & (computed == (hi * 16 + lo))
    bad = has_star & ~valid
    counts["valid_checksum"] += int(np.count_nonzero(valid & recognised))
    counts["bad_checksum"] += int(np.count_nonzero(bad & recognised))
    counts["no_checksum"] += int(np.count_nonzero(~has_star & recognised))

    # Sentence formatter → kind; only standard sentences with a good (or no) checksum are read further.
    formatter = (a[:, 2].astype(np.int32) << 16) | (a[:, 3].astype(np.int32) << 8) | a[:, 4]
    kind = np.full(len(sp), -1, np.int8)
    for name, code in _KINDS.items():
        kind[formatter == ((name[0] << 16) | (name[1] << 8) | name[2])] = code
    for name in (*_KINDS, *_OTHER):
        code = (name[0] << 16) | (name[1] << 8) | name[2]
        counts[name.decode()] += int(np.count_nonzero(standard & (formatter == code)))
    is_zda = formatter == ((ord("Z") << 16) | (ord("D") << 8) | ord("A"))
    use = np.flatnonzero(standard & ~bad & ((kind >= 0) | is_zda))
    if len(use) == 0:
        return _empty_fixes()
    u_start, u_body_end = starts[use], body_end[use]
    kd = kind[use]
    zda = is_zda[use]
    # The commas of the sentences read, by a window over each (not a scan of the block): field j lies
    # between comma j and comma j + 1 (or the body's end).
    bits = np.packbits(np.equal(b, _COMMA, out=mask), bitorder="little")
    offsets, layout, ncommas = _commas(bits, b, u_start, u_body_end, np.where(zda, -1, kd))
    nfields = ncommas[layout]

    def fields(rows, *js):
        """Byte ranges ``(fs, fe)`` of fields ``js`` (1-based) of the sentences ``rows``, empty where absent;
        the rows' layouts are looked up once for all the fields, and where every row has them all (the
        usual case) no absent field is masked."""
        lay = layout[rows]
        nf = nfields[rows]
        st = u_start[rows]
        every = len(rows) == 0 or int(nf.min()) > max(js)
        ranges = []
        for j in js:
            fs = st + offsets[lay, j - 1] + 1
            fe = st + offsets[lay, j]
            if not every:
                present = j <= nf
                fs = np.where(present, fs, 0)
                fe = np.where(j < nf, fe, np.where(present, u_body_end[rows], 0))
            ranges.append((fs, fe))
        return ranges

    def field(rows, j):
        """Byte range of field ``j`` (1-based) of the sentences ``rows``; empty where it is absent."""
        return fields(rows, j)[0]

    m = len(use)
    tod = np.full(m, np.nan)
    tfs, tfe = np.zeros(m, np.int64), np.zeros(m, np.int64)
    for code, j in ((GGA, 1), (GNS, 1), (RMC, 1), (GLL, 5)):
        rows = np.flatnonzero(kd == code)
        if len(rows):
            tfs[rows], tfe[rows] = field(rows, j)
            short = nfields[rows] < _MIN_FIELDS[code]
            counts["truncated"] += int(np.count_nonzero(short))
    # The sentences of one epoch write the same time: a time is parsed only where its text differs from
    # the previous position sentence's.
    timed = np.flatnonzero(kd >= 0)
    new_text = ~_same_text_as_previous(b, tfs[timed], tfe[timed])
    tod[timed] = _time_of_day(b, tfs[timed[new_text]], tfe[timed[new_text]])[np.cumsum(new_text) - 1]

    # Dates (RMC field 9, ZDA fields 2-4) change once a day: a date is parsed only where its text differs
    # from the previous one's, and carried forward. ZDA dates are read only when an epoch has no RMC.
    day = np.full(m, -1, np.int64)

    def parse_dates(drows):
        if len(drows) == 0:
            return
        is_rmc = kd[drows] == RMC
        dfs, dfe = field(drows, 9)
        if not is_rmc.all():
            (zfs, _), (_, zfe) = fields(drows, 2, 4)
            dfs, dfe = np.where(is_rmc, dfs, zfs), np.where(is_rmc, dfe, zfe)
        dlen = np.clip(dfe - dfs, 0, 12)
        width = max(1, int(dlen.max()))
        text = _rows(b, dfs, width) * (np.arange(width) < dlen[:, None])
        changed = np.ones(len(drows), bool)
        changed[1:] = ((text[1:] != text[:-1]).view(np.uint8) @ np.ones(width, np.uint8) > 0) | (
            is_rmc[1:] != is_rmc[:-1]
        )
        ch = np.flatnonzero(changed)
        parsed = np.full(len(ch), -1, np.int64)
        rmc_ch = ch[is_rmc[ch]]
        if len(rmc_ch):
            ddmmyy = _integer(b, dfs[rmc_ch], dfe[rmc_ch])
            ok = (ddmmyy >= 0) & (dfe[rmc_ch] - dfs[rmc_ch] == 6)
            dd, mo, yy = ddmmyy // 10000, (ddmmyy // 100) % 100, ddmmyy % 100
            ok &= (dd >= 1) & (dd <= 31) & (mo >= 1) & (mo <= 12)
            year = np.where(yy < 80, 2000 + yy, 1900 + yy)
            value = np.where(ok, days_from_civil(year, np.where(ok, mo, 1), np.where(ok, dd, 1)), -1)
            parsed[is_rmc[ch]] = value
        zda_ch = ch[~is_rmc[ch]]
        if len(zda_ch):
            zr = drows[zda_ch]
            zd, zm, zy = fields(zr, 2, 3, 4)
            dd, mo, yyyy = _integer(b, *zd), _integer(b, *zm), _integer(b, *zy)
            ok = (dd >= 1) & (dd <= 31) & (mo >= 1) & (mo <= 12) & (yyyy >= 1980)
            yyyy, mo, dd = np.where(ok, yyyy, 1970), np.where(ok, mo, 1), np.where(ok, dd, 1)
            parsed[~is_rmc[ch]] = np.where(ok, days_from_civil(yyyy, mo, dd), -1)
        day[drows] = parsed[np.cumsum(changed) - 1]

    parse_dates(np.flatnonzero(kd == RMC))

    # Logger prefix: the text between the line's start (or its first space) and the sentence.
    line_start = line_starts[line_of[use]]  # line_of: the line ends before each sentence

    def logger_times(rows):
        out = np.full(len(rows), np.nan)
        ls, st = line_start[rows], u_start[rows]
        has = st - ls >= 19
        if has.any():
            r = np.flatnonzero(has)
            t = _logger_times(b, ls[r])
            missing = np.isnan(t)
            if missing.any():  # "<data id> <ISO time> $..." (OpenRVDAS with the data id first)
                rm = r[missing]
                head = _rows(b, ls[rm], 24)
                space = np.argmax(head == 32, axis=1)
                found = (head[np.arange(len(rm)), space] == 32) & (ls[rm] + space + 19 < st[rm])
                t2 = _logger_times(b, ls[rm] + np.where(found, space + 1, 0))
                t[missing] = np.where(found, t2, np.nan)
            out[r] = t
        return out

    # Epochs: consecutive position sentences with the same time of day (or, without one, the same logger
    # time). The best kind (GGA, GNS, RMC, GLL) speaks for the epoch; only its fields are read.
    pos = np.flatnonzero(kd >= 0)
    if len(pos) == 0:
        return _empty_fixes()
    key = tod[pos].copy()
    no_tod = np.isnan(key)
    if no_tod.any():
        key[no_tod] = logger_times(pos[no_tod])
    new = np.ones(len(pos), bool)
    if len(pos) > 1:
        same = ~np.isnan(key[1:]) & (np.abs(key[1:] - key[:-1]) < 0.0005) & (no_tod[1:] == no_tod[:-1])
        new[1:] = ~same
    first_of = np.flatnonzero(new)
    epoch = np.cumsum(new) - 1
    code = kd[pos].astype(np.int64) << 32 | np.arange(len(pos))
    rep = (np.minimum.reduceat(code, first_of) & 0xFFFFFFFF).astype(np.int64)

    def read_positions(rows_pos):
        """lat, lon, quality, nsat, hdop of the position sentences ``pos[rows_pos]``."""
        rows = pos[rows_pos]
        r_lat = np.full(len(rows), np.nan)
        r_lon = np.full(len(rows), np.nan)
        r_q = np.full(len(rows), -1, np.int16)
        r_ns = np.full(len(rows), -1, np.int64)
        r_hd = np.full(len(rows), np.nan)
        impossible = 0
        for kcode, jlat in ((GGA, 2), (GNS, 2), (RMC, 3), (GLL, 1)):
            sel = np.flatnonzero(kd[rows] == kcode)
            if len(sel) == 0:
                continue
            rr = rows[sel]
            extra = (6, 7, 8) if kcode <= GNS else ((2,) if kcode == RMC else (6,))
            la, la_h, lo, lo_h, *more = fields(rr, jlat, jlat + 1, jlat + 2, jlat + 3, *extra)
            lat_v, lat_ok = _angle(b, *la, *la_h, 2, 90.0)
            lon_v, lon_ok = _angle(b, *lo, *lo_h, 3, 180.0)
            r_lat[sel], r_lon[sel] = lat_v, lon_v
            written = (la[1] > la[0]) & (lo[1] > lo[0]) & (nfields[rr] >= _MIN_FIELDS[kcode])
            impossible += int(np.count_nonzero(written & ~(lat_ok & lon_ok)))
            if kcode == GGA:
                r_q[sel] = _integer(b, *more[0])
                r_ns[sel] = _integer(b, *more[1])
                r_hd[sel] = _float(b, *more[2])
            elif kcode == GNS:
                fs, fe = more[0]
                mode = b[fs]
                q = np.full(len(rr), -1, np.int16)
                for letter, value in _GNS_QUALITY.items():
                    q[mode == letter] = value
                r_q[sel] = np.where(fe > fs, q, -1)
                r_ns[sel] = _integer(b, *more[1])
                r_hd[sel] = _float(b, *more[2])
            else:  # RMC status (field 2) / GLL status (field 6, NMEA 2.x): V = no fix
                fs, fe = more[0]
                r_q[sel] = np.where((fe > fs) & (b[fs] == ord("V")), 0, -1)
        return r_lat, r_lon, r_q, r_ns, r_hd, impossible

    lat, lon, quality, nsat, hdop, impossible = read_positions(rep)
    seglen = np.diff(np.append(first_of, len(pos)))
    retry = np.flatnonzero(np.isnan(lat) & (seglen > 1))
    if len(retry):  # the best kind had no position: another sentence of the epoch may have one
        in_retry = np.zeros(len(first_of), bool)
        in_retry[retry] = True
        others = np.flatnonzero(in_retry[epoch])
        o_lat, o_lon, o_q, o_ns, o_hd, _ = read_positions(others)
        score = (np.isnan(o_lat).astype(np.int64) << 40) | code[others]
        order = np.lexsort((score, epoch[others]))
        o_epoch = epoch[others][order]
        firsts = order[np.flatnonzero(np.concatenate(([True], o_epoch[1:] != o_epoch[:-1])))]
        ep = epoch[others][firsts]
        ok = ~np.isnan(o_lat[firsts])
        ep, firsts = ep[ok], firsts[ok]
        rep[ep] = others[firsts]
        lat[ep], lon[ep], quality[ep] = o_lat[firsts], o_lon[firsts], o_q[firsts]
        nsat[ep], hdop[ep] = o_ns[firsts], o_hd[firsts]
    counts["impossible_coordinates"] += impossible

    # The RMC's speed over ground, which only the duplicate-position test reads: for epochs that repeat
    # the previous epoch's position (and the block's first).
    repeated = np.ones(len(first_of), bool)
    repeated[1:] = (lat[1:] == lat[:-1]) & (lon[1:] == lon[:-1])
    rmc_pos = np.flatnonzero((kd[pos] == RMC) & repeated[epoch])
    sog = np.full(len(pos), np.nan)
    if len(rmc_pos):
        sog[rmc_pos] = _float(b, *field(pos[rmc_pos], 7)) * (1852.0 / 3600.0)
    epoch_sog = np.fmax.reduceat(sog, first_of)

    # The epoch's date: its own RMC's, else the latest date before it (ZDA's read now), moved a day where
    # the time of day wrapped around midnight since that date was written.
    t_pos = tod[pos]
    own = np.where(kd[pos] == RMC, day[pos], -1)
    epoch_day = np.maximum.reduceat(own, first_of)
    lacking = np.flatnonzero(epoch_day < 0)
    zrows = np.flatnonzero(zda)
    if len(lacking) and len(zrows):
        parse_dates(zrows)
        counts["zda_without_date"] += int(np.count_nonzero(day[zrows] < 0))
    elif len(zrows):
        zfs, zfe = field(zrows, 2)
        counts["zda_without_date"] += int(np.count_nonzero(zfe <= zfs))
    dated = day >= 0
    prev_state = (state.day, state.day_tod)
    if dated.any():
        last = int(np.flatnonzero(dated)[-1])
        state.day = int(day[last])
        t_last = tod[last] if not np.isnan(tod[last]) else _time_of_day(b, *field(np.array([last]), 1))[0]
        state.day_tod = float(t_last)

    if len(lacking):
        # Latest date (RMC/ZDA) seen so far in the stream; the time of day it was written at is read only
        # where an epoch without its own RMC needs it.
        last_dated = np.where(dated, np.arange(m), -1)
        np.maximum.accumulate(last_dated, out=last_dated)
        src_day = np.where(last_dated >= 0, day[np.maximum(last_dated, 0)], prev_state[0])

        def source_tod(rows):
            """The time of day of the date each of ``rows`` was given (NaN where unknown)."""
            src = last_dated[rows]
            out = np.full(len(rows), prev_state[1] if prev_state[0] >= 0 else np.nan)
            has = src >= 0
            need = np.unique(src[has])
            missing = need[np.isnan(tod[need])]
            if len(missing):  # ZDA rows: their time of day (field 1) was not read yet
                tod[missing] = _time_of_day(b, *field(missing, 1))
            out[has] = tod[src[has]]
            return out

        rows = pos[rep[lacking]]
        d = src_day[rows]
        delta = tod[rows] - source_tod(rows)
        d = np.where((d >= 0) & (delta < -43200), d + 1, d)
        d = np.where((d >= 0) & (delta > 43200), d - 1, d)
        epoch_day[lacking] = np.where(np.isnan(tod[rows]), -1, d)

    return {
        "tod": t_pos[rep],
        "day": epoch_day.astype(np.int64),
        "logger": logger_times(pos[rep]),
        "lat": lat,
        "lon": lon,
        "quality": quality.astype(np.int8),
        "nsat": np.clip(nsat, -1, 32000).astype(np.int16),
        "hdop": hdop.astype(np.float32),
        "sog": epoch_sog.astype(np.float32),
        "kind": kd[pos][rep],
    }


def _blocks(path: str | os.PathLike, block: int):
    """The file's bytes in blocks of about ``block`` bytes, each ending just after a newline (a line longer
    than a block is carried on, up to four blocks, then read as it is), as ``(buffer, n)``: the block is
    ``buffer[:n]`` and at least ``_PAD + 8`` zero bytes follow it. One buffer, reused: each block is read
    into it in place and the next starts with the carried-over tail, so a block is never copied and its
    pages are touched once per file, not once per block."""
    room = _PAD + 8
    raw = bytearray(2 * block + room)  # a block and the tail carried over from the one before
    buf = np.frombuffer(raw, np.uint8)
    have = 0  # bytes carried over at the buffer's front
    with open(path, "rb") as fh:
        while True:
            if len(raw) < have + block + room:  # a long line carried on: a larger buffer
                raw = raw[:have] + bytearray(block + room)
                buf = np.frombuffer(raw, np.uint8)
            got = fh.readinto(memoryview(raw)[have : have + block])
            end = have + got
            if not got:
                if have:
                    buf[have : have + room] = 0
                    yield buf, have
                return
            cut = raw.rfind(b"\n", 0, end)
            if cut < 0 and end < 4 * block:
                have = end
                continue
            if cut < 0:  # one enormous line (binary): read it as it is
                cut = end - 1
            tail = bytes(raw[cut + 1 : end])
            buf[cut + 1 : cut + 1 + room] = 0
            yield buf, cut + 1
            raw[: len(tail)] = tail
            have = len(tail)


class _MappedFile:
    """A navigation file as a read-only memory map, for the compiled scanner: no copy from the page cache.

    ``plan(block)`` gives the blocks ``_blocks`` reads, as byte ranges (cut at the same places: the file is
    read ``block`` bytes at a time in both); ``block(start, end)`` gives one as ``(buffer, n)``. A block that
    ends with a line end is handed over in place: the scanner stops at that line end and never uses the
    bytes after it. A block that does not (the file's last, a line longer than four blocks) or that lies
    near the end of the map is copied into a buffer with zero bytes after it."""

    ROOM = _PAD + 8

    def __init__(self, path: str | os.PathLike):
        import mmap

        self.size = os.path.getsize(path)
        self._mm = None
        self.data = np.zeros(0, np.uint8)
        if self.size:
            with open(path, "rb") as fh:
                self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            if hasattr(self._mm, "madvise"):
                self._mm.madvise(mmap.MADV_SEQUENTIAL)
            self.data = np.frombuffer(self._mm, np.uint8)

    def plan(self, block: int):
        start = consumed = 0
        while start < self.size:
            if consumed == self.size:
                yield start, self.size
                return
            consumed = min(consumed + block, self.size)
            cut = self._mm.rfind(b"\n", start, consumed)
            if cut < 0 and consumed - start < 4 * block:
                continue
            if cut < 0:  # one enormous line (binary): read it as it is
                cut = consumed - 1
            yield start, cut + 1
            start = cut + 1

    def block(self, start: int, end: int) -> tuple[np.ndarray, int]:
        if self.data[end - 1] == _NL and end + self.ROOM <= self.size:
            return self.data[start:end], end - start
        out = np.zeros(end - start + self.ROOM, np.uint8)
        out[: end - start] = self.data[start:end]
        return out, end - start

    def release(self, start: int, end: int) -> None:
        """Unmap the pages wholly inside a block that was read (they stay in the page cache): the reading's
        resident memory stays about a block per thread, not the file's size."""
        import mmap

        first, last = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE, end // mmap.PAGESIZE * mmap.PAGESIZE
        if self._mm is not None and last > first and hasattr(self._mm, "madvise"):
            self._mm.madvise(mmap.MADV_DONTNEED, first, last - first)

    def close(self) -> None:
        self.data = np.zeros(0, np.uint8)
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a caller still holds a block (an error on the way): it closes with it
                pass


def _mapped_blocks(path: str | os.PathLike, block: int):
    """``_blocks`` read through ``_MappedFile`` (the same blocks, byte for byte)."""
    mapped = _MappedFile(path)
    try:
        for start, end in mapped.plan(block):
            yield mapped.block(start, end)
    finally:
        mapped.close()


# Files of at least this many blocks are read by two threads (the compiled scanner lets go of the GIL).
PARALLEL_BLOCKS = 8


def _read_compiled(paths: list, block: int) -> Reading:
    """Read with the compiled scanner, in two halves on two threads when there are enough blocks.

    The second half starts without the date carried from the first (a sentinel day of -2), so its blocks
    are kept only from the first one that no longer depends on it: after a block with a date of its own
    (which sets the carried date) comes a block of at least two fixes (so that joining across the halves
    touches a fix no other join does). The first half's thread reads on up to there; the rest is the
    second half's, copied after it. The same fixes and counts as one thread reading all blocks in order
    (tested)."""
    maps = [_MappedFile(p) for p in paths]
    try:
        plan = [(m, start, end) for m in maps for start, end in m.plan(block)]
        total = sum(m.size for m in maps)
        counts: Counter = Counter()
        threads = min(2, os.cpu_count() or 1)
        with nmeascan.Scanner(total // 64) as first:
            if threads < 2 or len(plan) < PARALLEL_BLOCKS:
                counts["bytes"] += _scan(first, plan)
            else:
                import threading

                half = len(plan) // 2
                second = nmeascan.Scanner(total // 128, day=-2.0)
                outcome: dict = {}
                worker = threading.Thread(target=_scan_second_half, args=(second, plan[half:], outcome))
                worker.start()
                try:
                    counts["bytes"] += _scan(first, plan[:half])
                finally:
                    worker.join()
                try:
                    if "error" in outcome:
                        raise outcome["error"]
                    kept = half + outcome["first_kept"]
                    counts["bytes"] += _scan(first, plan[half:kept]) + outcome["bytes"]
                    at = first.size
                    first.extend(second)
                    if at and second.size:
                        _join_in_place(first, at)
                    counts.update(second.counts())
                finally:
                    second.close()
            counts.update(first.counts())
            return Reading(first.fixes(), counts, "nmea")
    finally:
        for m in maps:
            m.close()


def _scan(scanner, plan) -> int:
    """Read the planned blocks in order, each block's first fix joined to the one before; the bytes read."""
    done = 0
    for mapped, start, end in plan:
        buf, n = mapped.block(start, end)
        done += n
        at = scanner.size
        got = scanner.block(buf, n)
        mapped.release(start, end)
        if got and at:
            _join_in_place(scanner, at)
    return done


def _scan_second_half(scanner, plan, outcome: dict) -> None:
    """The second half's thread (see ``_read_compiled``): blocks are read and dropped (fixes and counts)
    until one carries a date of its own; from the next block with at least two fixes on, they are kept."""
    try:
        dated = False
        for i, (mapped, start, end) in enumerate(plan):
            buf, n = mapped.block(start, end)
            before = scanner.snapshot()
            got = scanner.block(buf, n)
            mapped.release(start, end)
            if dated and got >= 2:
                outcome["first_kept"] = i
                outcome["bytes"] = n + _scan(scanner, plan[i + 1 :])
                return
            dated = dated or scanner.state[0] != -2.0
            scanner.restore(before)
        outcome["first_kept"], outcome["bytes"] = len(plan), 0
    except BaseException as exc:  # raised again on the reading's thread
        outcome["error"] = exc


def _join_parts(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate blocks' fixes; an epoch cut by a block boundary (its last row and the next block's first
    row share the key) becomes one fix."""
    joined: list[dict[str, np.ndarray]] = []
    for part in parts:
        if joined:
            prev = joined[-1]
            pair = {name: np.concatenate((prev[name][-1:], part[name][:1])) for name in _FIX_COLUMNS}
            merged = _merge_epochs(pair)
            if len(merged["lat"]) == 1:
                joined[-1] = {name: np.concatenate((prev[name][:-1], merged[name])) for name in _FIX_COLUMNS}
                part = {name: column[1:] for name, column in part.items()}
        if len(part["lat"]):  # an emptied part would hide the fix before it from the next part
            joined.append(part)
    return _concat(joined)


def _join_in_place(scanner, at: int) -> None:
    """``_join_parts`` for the compiled scanner, whose blocks' fixes follow each other in its columns: the
    block's first fix (at ``at``) and the fix before it are one when ``_merge_epochs`` says so; the merged
    fix takes the earlier place and the block's other fixes move down one."""
    columns = scanner.columns
    pair = {name: columns[name][at - 1 : at + 1] for name in _FIX_COLUMNS}
    merged = _merge_epochs({name: column.copy() for name, column in pair.items()})
    if len(merged["lat"]) != 1:
        return
    end = scanner.size
    for name in _FIX_COLUMNS:
        column = columns[name]
        column[at - 1] = merged[name][0]
        column[at : end - 1] = column[at + 1 : end].copy()
    scanner.size = end - 1


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _empty_fixes()
    return {name: np.concatenate([p[name] for p in parts]) for name in _FIX_COLUMNS}


# A sentence start: '$' or '!', a talker and formatter (four to six capitals or digits: proprietary 'P'
# sentences vary), a comma.
_SENTENCE_START = re.compile(rb"[$!][A-Z][A-Z0-9]{3,5},")
SNIFF_BYTES = 16 << 20


def sniff(path: str | os.PathLike) -> str:
    """``nmea`` if a sentence starts within the first ``SNIFF_BYTES`` (read 1 MiB at a time, stopping at
    the first), else ``delimited``. Not only the first 64 KiB: loggers start files with binary receiver
    output or a long header, and a file whose first sentence came later was read as an empty table."""
    tail = b""
    with open(path, "rb") as fh:
        for _ in range(SNIFF_BYTES >> 20):
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            if _SENTENCE_START.search(tail + chunk):
                return "nmea"
            tail = chunk[-6:]  # a start cut by the chunk's end
    return "delimited"


def read_nmea(paths, *, block: int = BLOCK) -> Reading:
    """Read NMEA files (in the given order, one stream: a date in one file dates the next's fixes).

    Each block is read by the compiled scanner (``nmeascan``) where it is built, else by ``_nmea_block``:
    the same fixes and counts either way."""
    if nmeascan.available():
        return _read_compiled(list(paths), block)
    counts: Counter = Counter()
    parts = []
    state = _State()
    for path in paths:
        for buf, n in _blocks(path, block):
            counts["bytes"] += n
            part = _nmea_block(buf, n, state, counts)
            if len(part["lat"]):
                parts.append(part)
    return Reading(_join_parts(parts), counts, "nmea")


def read_delimited(path: str | os.PathLike) -> Reading:
    """A delimited file: time, lat, lon[, quality, satellites, hdop], comma, tab or ';' separated, with or
    without a header line; ``#`` lines are comments. Read with pyarrow's streaming CSV reader."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    with open(path, "rb") as fh:
        head = fh.read(65536).decode("utf-8", "replace")
    lines = [line for line in head.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    counts: Counter = Counter()
    counts["comment_lines"] = sum(1 for line in head.splitlines() if line.lstrip().startswith("#"))
    if not lines:
        return Reading(_empty_fixes(), counts, "delimited")
    delimiter = max("\t,;", key=lambda ch: lines[0].count(ch))
    first = lines[0].split(delimiter)
    if len(first) < 3:  # not time, lat, lon: nothing to read as positions
        counts["unreadable_lines"] = len(lines)
        return Reading(_empty_fixes(), counts, "delimited")
    header = len(first) > 1 and not first[1].strip().lstrip("-").replace(".", "", 1).isdigit()
    ncols = len(first)
    names = ["time", "lat", "lon", "quality", "nsat", "hdop"][:ncols] + [f"x{i}" for i in range(ncols - 6)]
    reader = csv.open_csv(
        path,
        read_options=csv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=1 << 22),
        parse_options=csv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda row: "skip"),
        convert_options=csv.ConvertOptions(
            column_types={"time": pa.string(), "lat": pa.float64(), "lon": pa.float64()},
            strings_can_be_null=True,
        ),
    )
    parts = []
    try:
        batches = list(_batches(reader))
    except pa.ArrowInvalid as exc:  # a malformed file part-way: keep what was read, count the rest
        counts["unreadable_lines"] += 1
        batches = getattr(exc, "batches", [])
    for batch in batches:
        text = pc.utf8_trim_whitespace(batch.column("time"))
        comment = pc.starts_with(pc.fill_null(text, ""), "#")
        text = pc.if_else(comment, None, text)
        counts["records"] += len(batch)
        # ISO 8601 with or without 'Z' / offset, 'T' or space: normalised then parsed as UTC.
        normal = pc.replace_substring_regex(text, r"^(\d{4}-\d\d-\d\d)[ T]", r"\1T")
        normal = pc.replace_substring_regex(normal, r"(Z|[+-]00:?00)$", "")
        try:
            ts = pc.cast(normal, pa.timestamp("us"))
            seconds = pc.divide(pc.cast(ts, pa.int64()).to_numpy(zero_copy_only=False), 1e6)
            seconds = np.asarray(seconds, float)
        except pa.ArrowInvalid:
            seconds = np.array([_iso_seconds(v) for v in normal.to_pylist()], float)  # mixed junk: row by row
        lat = np.asarray(pc.fill_null(batch.column("lat"), np.nan), float)
        lon = np.asarray(pc.fill_null(batch.column("lon"), np.nan), float)
        bad = (np.abs(lat) > 90) | (np.abs(lon) > 180)
        counts["impossible_coordinates"] += int(np.count_nonzero(bad))
        lat, lon = np.where(bad, np.nan, lat), np.where(bad, np.nan, lon)
        n = len(batch)

        def optional(name, default, dtype, batch=batch, n=n):
            if name not in batch.schema.names:
                return np.full(n, default, dtype)
            column = batch.column(name)
            if pa.types.is_string(column.type):  # a value that is not a number: unknown, and counted
                text = pc.utf8_trim_whitespace(column)
                number = pc.match_substring_regex(text, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
                text = pc.if_else(pc.fill_null(number, False), text, None)
                counts["unreadable_values"] += text.null_count - column.null_count
                column = text
            values = pc.cast(column, pa.float64(), safe=False)
            return np.nan_to_num(np.asarray(pc.fill_null(values, default), float), nan=default).astype(dtype)

        keep = ~np.isnan(seconds) | ~np.isnan(lat)
        days = np.where(
            np.isnan(seconds), -1, np.floor_divide(np.nan_to_num(seconds), SECONDS_PER_DAY)
        ).astype(np.int64)
        parts.append(
            {
                "tod": np.where(np.isnan(seconds), np.nan, seconds - days * SECONDS_PER_DAY)[keep],
                "day": days[keep],
                "logger": np.full(n, np.nan)[keep],
                "lat": lat[keep],
                "lon": lon[keep],
                "quality": optional("quality", -1, np.int8)[keep],
                "nsat": optional("nsat", -1, np.int16)[keep],
                "hdop": optional("hdop", np.nan, np.float32)[keep],
                "sog": np.full(n, np.nan, np.float32)[keep],
                "kind": np.full(n, GGA, np.int8)[keep],
            }
        )
    return Reading(_concat(parts), counts, "delimited")


def _batches(reader):
    """The reader's record batches; on an error the ones read so far travel on the exception."""
    done = []
    try:
        for batch in reader:
            done.append(batch)
    except Exception as exc:
        exc.batches = done
        raise
    return done


def _iso_seconds(text: str | None) -> float:
    import datetime

    if not text:
        return np.nan
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return np.nan
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def read(paths, *, block: int = BLOCK) -> Reading:
    """Read navigation files (NMEA and delimited may be mixed; NMEA files form one stream in order)."""
    paths = list(paths)
    nmea = [p for p in paths if sniff(p) == "nmea"]
    readings = [read_nmea(nmea, block=block)] if nmea else []
    readings += [read_delimited(p) for p in paths if p not in nmea]
    if len(readings) == 1:
        return readings[0]
    counts: Counter = Counter()
    for r in readings:
        counts.update(r.counts)
    fmt = "mixed" if nmea and len(readings) > 1 else ("nmea" if nmea else "delimited")
    return Reading(_concat([r.fixes for r in readings]), counts, fmt)
