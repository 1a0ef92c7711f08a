"""Read navigation files as ships write them: NMEA 0183 (with or without a logger's timestamp before each
sentence) and simple delimited files (time, lat, lon[, quality, satellites, hdop]).

Why by hand: ``pynmea2`` and ``pynmeagps`` parse one sentence per Python call (tens of thousands of sentences
a second), and a month of 1 Hz GGA+RMC+ZDA is eight million sentences; ``bench/bench_nav.py`` measures both
against this module in the same run. Here the file is read in blocks (``BLOCK`` bytes, cut after a line end)
and each block is one numpy array: sentence starts, commas and checksum stars are found with vectorised
searches, checksums are one XOR-accumulate over the block, and fields are parsed in place from their byte
offsets (a few vectorised passes per field, never a Python loop per sentence). Memory is one block plus the
per-epoch fix columns; a 2 GB file never sits in memory.

The result is a ``Reading``: one row per epoch (several position sentences of the same epoch — GGA+RMC+GLL,
GPGGA+GLGGA — make one fix) and the counts of everything met, dirty parts included.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

BLOCK = 16 * 1024 * 1024
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
    fields.
    """
    n = len(fs)
    length = fe - fs
    ok = (length > 0) & (length <= width)
    mant = np.zeros(n, np.int64)
    dec = np.zeros(n, np.int64)
    dot = length.copy()
    seen_dot = np.zeros(n, bool)
    digits = np.zeros(n, np.int64)
    for j in range(width):
        inside = j < length
        if not inside.any():
            break
        c = buf[fs + j]
        is_digit = inside & (c >= 48) & (c <= 57)
        is_dot = inside & (c == 46)
        ok &= ~inside | is_digit | (is_dot & ~seen_dot)
        dot = np.where(is_dot, j, dot)
        seen_dot |= is_dot
        mant = np.where(is_digit, mant * 10 + (c.astype(np.int64) - 48), mant)
        dec += is_digit & seen_dot
        digits += is_digit
    ok &= digits > 0
    return mant, dec, dot, ok


_POW10 = 10 ** np.arange(19, dtype=np.int64)


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
    """``hhmmss[.sss]`` → seconds of day (NaN when absent or impossible)."""
    mant, dec, dot, ok = _numbers(buf, fs, fe)
    ok &= dot == 6
    p = _POW10[np.minimum(dec, 14)]
    hh = mant // (10000 * p)
    mm = (mant // (100 * p)) % 100
    ss = _value(mant % (100 * p), dec)
    ok &= (hh < 24) & (mm < 60) & (ss < 61)
    return np.where(ok, hh * 3600 + mm * 60 + ss, np.nan)


def _integer(buf, fs, fe, default=-1):
    mant, dec, dot, ok = _numbers(buf, fs, fe)
    ok &= dec == 0
    return np.where(ok, mant, default)


def _float(buf, fs, fe):
    mant, dec, dot, ok = _numbers(buf, fs, fe)
    return np.where(ok, _value(mant, dec), np.nan)


def _digits_at(c: np.ndarray, cols: tuple[int, ...]):
    """The decimal number written at columns ``cols`` of the gathered rows ``c``, and whether all are digits."""
    value = np.zeros(len(c), np.int64)
    ok = np.ones(len(c), bool)
    for j in cols:
        d = c[:, j].astype(np.int64) - 48
        ok &= (d >= 0) & (d <= 9)
        value = value * 10 + d
    return value, ok


def _logger_times(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """POSIX seconds of a logger timestamp written at ``at`` (NaN where there is none).

    Two shapes: ISO 8601 as OpenRVDAS writes it (``2024-01-10T12:00:00.123456Z``, also with a space for the
    ``T``; read as UTC) and SCS's ``01/10/2024,12:00:00.123``.
    """
    c = buf[at[:, None] + np.arange(30)]
    iso = (c[:, 4] == 45) & (c[:, 7] == 45) & ((c[:, 10] == 84) | (c[:, 10] == 32))
    iso &= (c[:, 13] == 58) & (c[:, 16] == 58)
    scs = (c[:, 2] == 47) & (c[:, 5] == 47) & (c[:, 10] == 44) & (c[:, 13] == 58) & (c[:, 16] == 58)
    y_iso, ok_y1 = _digits_at(c, (0, 1, 2, 3))
    mo_iso, ok_m1 = _digits_at(c, (5, 6))
    d_iso, ok_d1 = _digits_at(c, (8, 9))
    mo_scs, ok_m2 = _digits_at(c, (0, 1))
    d_scs, ok_d2 = _digits_at(c, (3, 4))
    y_scs, ok_y2 = _digits_at(c, (6, 7, 8, 9))
    iso &= ok_y1 & ok_m1 & ok_d1
    scs &= ok_y2 & ok_m2 & ok_d2
    y = np.where(iso, y_iso, y_scs)
    mo = np.where(iso, mo_iso, mo_scs)
    d = np.where(iso, d_iso, d_scs)
    hh, ok_h = _digits_at(c, (11, 12))
    mi, ok_mi = _digits_at(c, (14, 15))
    ss, ok_s = _digits_at(c, (17, 18))
    ok = (iso | scs) & ok_h & ok_mi & ok_s & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31)
    ok &= (hh < 24) & (mi < 60) & (ss < 61)
    # Fraction: the digits after a '.' at column 19, as many as there are (up to 9).
    frac = np.zeros(len(c))
    running = c[:, 19] == 46
    scale = 0.1
    for j in range(20, 29):
        digit = c[:, j].astype(np.int64) - 48
        running &= (digit >= 0) & (digit <= 9)
        frac += np.where(running, digit * scale, 0.0)
        scale /= 10
    days = days_from_civil(np.where(ok, y, 1970), np.where(ok, mo, 1), np.where(ok, d, 1))
    return np.where(ok, days * SECONDS_PER_DAY + hh * 3600 + mi * 60 + ss + frac, np.nan)


# --- one block of NMEA -----------------------------------------------------------------------------


@dataclass
class _State:
    """What carries over from one block (and one file) to the next: the latest date and its time of day."""

    day: int = -1
    day_tod: float = np.nan


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


def _nmea_block(raw: bytes, state: _State, counts: Counter) -> dict[str, np.ndarray]:
    pad = 48
    buf = np.frombuffer(raw, np.uint8)
    n = len(buf)
    # Binary bytes (UBX, CASIC, Ashtech…) end a sentence but not a line: 0 marks them.
    binary = ((buf < 32) & (buf != _NL) & (buf != _CR) & (buf != 9)) | (buf > 126)
    nbinary = int(np.count_nonzero(binary))
    work = np.zeros(n + pad, np.uint8)
    work[:n] = buf
    if nbinary:
        work[:n][binary] = 0
        counts["binary_bytes"] += nbinary
    b = work

    is_start = (b == _DOLLAR) | (b == _BANG)
    starts = np.flatnonzero(is_start[:n])
    newlines = np.flatnonzero(b[:n] == _NL)
    counts["lines"] += len(newlines) + (1 if n and buf[-1] != _NL else 0)
    line_starts = np.concatenate(([0], newlines + 1))
    first = b[line_starts[line_starts < n]]
    counts["comment_lines"] += int(np.count_nonzero((first == ord("#")) | (first == ord(";"))))
    if len(starts) == 0:
        return _empty_fixes()

    terms = np.flatnonzero(is_start[:n] | (b[:n] == _NL) | (b[:n] == _CR) | (b[:n] == 0))
    terms = np.append(terms, n)
    ends = terms[np.searchsorted(terms, starts, side="right")]

    # Address: $ + 5 upper-case letters/digits + ',' (standard and AIS), or $P + letters (proprietary).
    a = b[starts[:, None] + np.arange(1, 7)]
    upper = ((a >= 65) & (a <= 90)) | ((a >= 48) & (a <= 57))
    is_dollar = b[starts] == _DOLLAR
    standard = upper[:, :5].all(axis=1) & (a[:, 5] == _COMMA) & (starts + 6 < ends)
    proprietary = is_dollar & (a[:, 0] == ord("P")) & (a[:, 1] >= 65) & (a[:, 1] <= 90)
    ais = ~is_dollar & standard
    standard &= is_dollar & ~proprietary
    recognised = standard | proprietary | ais
    counts["sentences"] += int(np.count_nonzero(recognised))
    counts["proprietary"] += int(np.count_nonzero(proprietary))
    counts["ais"] += int(np.count_nonzero(ais))
    counts["malformed"] += int(np.count_nonzero(~recognised))

    # Sentences sharing a line with the one before (run together, or after binary bytes).
    line_of = np.searchsorted(newlines, starts)
    run_together = np.zeros(len(starts), bool)
    run_together[1:] = (line_of[1:] == line_of[:-1]) & recognised[1:] & recognised[:-1]
    counts["run_together"] += int(np.count_nonzero(run_together))

    # Checksums: '*' + two hex digits; the XOR of the bytes between '$' and '*' from one accumulate.
    stars = np.append(np.flatnonzero(b[:n] == _STAR), n + pad - 4)
    star = stars[np.searchsorted(stars, starts)]
    has_star = star < ends
    hi = _HEX[b[star + 1]]
    lo = _HEX[b[star + 2]]
    cx = np.bitwise_xor.accumulate(b[:n]) if n else b[:0]
    star_c = np.minimum(star, n - 1)
    computed = cx[np.maximum(star_c - 1, 0)] ^ cx[starts]
    valid = has_star & (hi >= 0) & (lo >= 0) & (star + 3 <= ends) & (computed == (hi * 16 + lo))
    bad = has_star & ~valid
    counts["valid_checksum"] += int(np.count_nonzero(valid & recognised))
    counts["bad_checksum"] += int(np.count_nonzero(bad & recognised))
    counts["no_checksum"] += int(np.count_nonzero(~has_star & recognised))
    body_end = np.where(has_star, star, ends)

    # Sentence formatter → kind; only standard sentences with a good (or no) checksum are read further.
    formatter = (a[:, 2].astype(np.int32) << 16) | (a[:, 3].astype(np.int32) << 8) | a[:, 4]
    kind = np.full(len(starts), -1, np.int8)
    for name, code in _KINDS.items():
        kind[formatter == ((name[0] << 16) | (name[1] << 8) | name[2])] = code
    for name in (*_KINDS, *_OTHER):
        code = (name[0] << 16) | (name[1] << 8) | name[2]
        counts[name.decode()] += int(np.count_nonzero(standard & (formatter == code)))
    is_zda = formatter == ((ord("Z") << 16) | (ord("D") << 8) | ord("A"))
    readable = standard & ~bad
    use = np.flatnonzero(readable & ((kind >= 0) | is_zda))
    if len(use) == 0:
        return _empty_fixes()
    s, e, k, zda = starts[use], body_end[use], kind[use], is_zda[use]

    # Fields 1..9 by offsets: field j runs from the j-th comma after the address to the next (or the end).
    commas = np.append(np.flatnonzero(b[:n] == _COMMA), np.full(12, n + pad - 2))
    k0 = np.searchsorted(commas, s + 6)
    nf = 10
    left = commas[k0[:, None] + np.arange(nf)]  # the comma before field j+1
    fs = left + 1
    fe = np.minimum(
        np.append(left[:, 1:], commas[np.minimum(k0 + nf, len(commas) - 1)][:, None], axis=1), e[:, None]
    )
    present = left < e[:, None]
    fs = np.where(present, fs, e[:, None])
    fe = np.where(present, np.maximum(fe, fs), e[:, None])
    nfields = present.sum(axis=1)

    def col(j):
        return fs[:, j - 1], fe[:, j - 1]

    m = len(s)
    tod = np.full(m, np.nan)
    lat = np.full(m, np.nan)
    lon = np.full(m, np.nan)
    quality = np.full(m, -1, np.int16)
    nsat = np.full(m, -1, np.int64)
    hdop = np.full(m, np.nan)
    sog = np.full(m, np.nan)
    day = np.full(m, -1, np.int64)
    truncated = np.zeros(m, bool)
    impossible = np.zeros(m, bool)

    def position(rows, jt, jlat, min_fields):
        nonlocal truncated, impossible
        if len(rows) == 0:
            return
        if jt:
            tod[rows] = _time_of_day(b, *(x[rows] for x in col(jt)))
        la_fs, la_fe = (x[rows] for x in col(jlat))
        lo_fs, lo_fe = (x[rows] for x in col(jlat + 2))
        lat_v, lat_ok = _angle(b, la_fs, la_fe, *(x[rows] for x in col(jlat + 1)), 2, 90.0)
        lon_v, lon_ok = _angle(b, lo_fs, lo_fe, *(x[rows] for x in col(jlat + 3)), 3, 180.0)
        lat[rows], lon[rows] = lat_v, lon_v
        short = nfields[rows] < min_fields
        truncated[rows] = short
        written = (la_fe > la_fs) & (lo_fe > lo_fs)
        impossible[rows] = written & ~short & ~(lat_ok & lon_ok)

    rows = np.flatnonzero(k == GGA)
    position(rows, 1, 2, 9)
    if len(rows):
        quality[rows] = _integer(b, *(x[rows] for x in col(6)))
        nsat[rows] = _integer(b, *(x[rows] for x in col(7)))
        hdop[rows] = _float(b, *(x[rows] for x in col(8)))
    rows = np.flatnonzero(k == GNS)
    position(rows, 1, 2, 8)
    if len(rows):
        mode = b[fs[rows, 5]]
        q = np.full(len(rows), -1, np.int16)
        for letter, code in _GNS_QUALITY.items():
            q[mode == letter] = code
        quality[rows] = np.where(fe[rows, 5] > fs[rows, 5], q, -1)
        nsat[rows] = _integer(b, *(x[rows] for x in col(7)))
        hdop[rows] = _float(b, *(x[rows] for x in col(8)))
    rows = np.flatnonzero(k == RMC)
    position(rows, 1, 3, 9)
    if len(rows):
        status = b[fs[rows, 1]]
        quality[rows] = np.where(status == ord("V"), 0, -1)
        sog[rows] = _float(b, *(x[rows] for x in col(7))) * (1852.0 / 3600.0)
        ddmmyy = _integer(b, *(x[rows] for x in col(9)))
        has_date = (ddmmyy >= 0) & (fe[rows, 8] - fs[rows, 8] == 6)
        dd, mo, yy = ddmmyy // 10000, (ddmmyy // 100) % 100, ddmmyy % 100
        has_date &= (dd >= 1) & (dd <= 31) & (mo >= 1) & (mo <= 12)
        year = np.where(yy < 80, 2000 + yy, 1900 + yy)
        day[rows] = np.where(
            has_date, days_from_civil(year, np.where(has_date, mo, 1), np.where(has_date, dd, 1)), -1
        )
    rows = np.flatnonzero(k == GLL)
    position(rows, 0, 1, 4)
    if len(rows):
        # NMEA 2.x adds time (field 5) and status (field 6); NMEA 1.x GLL has neither.
        tod[rows] = _time_of_day(b, *(x[rows] for x in col(5)))
        status = b[fs[rows, 5]]
        has_status = fe[rows, 5] > fs[rows, 5]
        quality[rows] = np.where(has_status & (status == ord("V")), 0, -1)
    rows = np.flatnonzero(zda)
    if len(rows):
        tod[rows] = _time_of_day(b, *(x[rows] for x in col(1)))
        dd = _integer(b, *(x[rows] for x in col(2)))
        mo = _integer(b, *(x[rows] for x in col(3)))
        yyyy = _integer(b, *(x[rows] for x in col(4)))
        has_date = (dd >= 1) & (dd <= 31) & (mo >= 1) & (mo <= 12) & (yyyy >= 1980)
        day[rows] = np.where(
            has_date,
            days_from_civil(
                np.where(has_date, yyyy, 1970), np.where(has_date, mo, 1), np.where(has_date, dd, 1)
            ),
            -1,
        )
        counts["zda_without_date"] += int(np.count_nonzero(~has_date))

    counts["truncated"] += int(np.count_nonzero(truncated))
    counts["impossible_coordinates"] += int(np.count_nonzero(impossible))

    # Latest date (RMC/ZDA) seen so far in the stream, with the time of day it was written at.
    dated = (day >= 0) & ~np.isnan(tod)
    idx = np.where(dated, np.arange(m), -1)
    np.maximum.accumulate(idx, out=idx)
    src_day = np.where(idx >= 0, day[np.maximum(idx, 0)], state.day)
    src_tod = np.where(idx >= 0, tod[np.maximum(idx, 0)], state.day_tod)
    if dated.any():
        last = np.flatnonzero(dated)[-1]
        state.day, state.day_tod = int(day[last]), float(tod[last])

    # Logger prefix: the text between the line's start (or its first space) and the sentence.
    ls = line_starts[np.searchsorted(line_starts, s, side="right") - 1]
    logger = np.full(m, np.nan)
    has_prefix = s - ls >= 19
    if has_prefix.any():
        rows = np.flatnonzero(has_prefix)
        t = _logger_times(b, ls[rows])
        missing = np.isnan(t)
        if missing.any():  # "<data id> <ISO time> $..." (OpenRVDAS with the data id first)
            spaces = np.flatnonzero(b[:n] == 32)
            if len(spaces):
                sp = spaces[np.minimum(np.searchsorted(spaces, ls[rows[missing]]), len(spaces) - 1)]
                near = (sp < s[rows[missing]]) & (sp >= ls[rows[missing]])
                t2 = _logger_times(b, np.where(near, sp + 1, ls[rows[missing]]))
                t[missing] = np.where(near, t2, np.nan)
        logger[rows] = t

    pos = np.flatnonzero(k >= 0)
    t_pos = tod[pos]
    # A fix just after midnight read with the previous day's date (its RMC comes next), or the reverse.
    d = np.where(src_day[pos] >= 0, src_day[pos], -1)
    delta = t_pos - src_tod[pos]
    d = np.where((d >= 0) & (delta < -43200), d + 1, d)
    d = np.where((d >= 0) & (delta > 43200), d - 1, d)
    d = np.where(np.isnan(t_pos), -1, d)
    fixes = {
        "tod": t_pos,
        "day": d.astype(np.int64),
        "logger": logger[pos],
        "lat": lat[pos],
        "lon": lon[pos],
        "quality": quality[pos].astype(np.int8),
        "nsat": np.clip(nsat[pos], -1, 32000).astype(np.int16),
        "hdop": hdop[pos].astype(np.float32),
        "sog": sog[pos].astype(np.float32),
        "kind": k[pos],
    }
    return _merge_epochs(fixes)


def _blocks(path: str | os.PathLike, block: int):
    """The file's bytes in blocks of about ``block`` bytes, each ending just after a newline."""
    with open(path, "rb") as fh:
        carry = b""
        while True:
            chunk = fh.read(block)
            if not chunk:
                if carry:
                    yield carry
                return
            data = carry + chunk if carry else chunk
            cut = data.rfind(b"\n")
            if cut < 0 and len(data) < 4 * block:
                carry = data
                continue
            if cut < 0:  # one enormous line (binary): read it as it is
                cut = len(data) - 1
            yield data[: cut + 1]
            carry = data[cut + 1 :]


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if not parts:
        return _empty_fixes()
    return {name: np.concatenate([p[name] for p in parts]) for name in _FIX_COLUMNS}


def sniff(path: str | os.PathLike) -> str:
    """``nmea`` or ``delimited``, from the first 64 KiB."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if b"$" in head or b"!AI" in head:
        return "nmea"
    return "delimited"


def read_nmea(paths, *, block: int = BLOCK) -> Reading:
    """Read NMEA files (in the given order, one stream: a date in one file dates the next's fixes)."""
    counts: Counter = Counter()
    state = _State()
    parts = []
    for path in paths:
        for raw in _blocks(path, block):
            counts["bytes"] += len(raw)
            part = _nmea_block(raw, state, counts)
            if len(part["lat"]):
                parts.append(part)
    return Reading(_merge_epochs(_concat(parts)), counts, "nmea")


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
            values = pc.cast(batch.column(name), pa.float64(), safe=False)
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
