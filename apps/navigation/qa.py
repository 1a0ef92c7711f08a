"""The navigation quality assessment certificate (QAC), after R2R NavManager (``webbpinner/r2rNavManagerPy``).

``assess(paths, start=None, end=None)`` reads the files (``reader``), chooses the clock, flags fixes and rates
six tests green/yellow/red the way R2R does; docs/navigation.md lists every place where Quayside differs and
why. Everything here is numpy over the whole fix columns (one row per epoch): no loop per fix.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field

import numpy as np

from . import reader as nav_reader

EARTH_RADIUS_M = 6371008.8
KNOT = 1852.0 / 3600.0


@dataclass(frozen=True)
class Thresholds:
    """R2R's defaults: 8.7 m/s (~17 kn), 1 m/s², gaps counted above 300 s (``MAX_DELTA_T``)."""

    speed: float = 8.7
    acceleration: float = 1.0
    gap: float = 300.0
    moving: float = 0.5  # m/s: a repeated position while the ship moves faster than this is a frozen receiver


# name, unit, description (as R2R's certificate words them), green test, red test
TESTS = {
    "percent_completeness": (
        "percent",
        "GREEN if greater than 95% complete, YELLOW if less than or equal to 95% and greater than 75%, "
        "RED if less than or equal to 75%.",
    ),
    "longest_epoch_gap": (
        "s",
        "GREEN if no gap of 15 minutes or more, RED if a gap of 24 hours or more, else YELLOW.",
    ),
    "percent_records_out_of_sequence": ("percent", "GREEN if less than 5%, RED if 10% or more, else YELLOW."),
    "percent_records_with_bad_gps_quality_indicator": (
        "percent",
        "GREEN if less than 5%, RED if 10% or more, else YELLOW.",
    ),
    "percent_unreasonable_speeds": ("percent", "GREEN if less than 5%, RED if 10% or more, else YELLOW."),
    "percent_unreasonable_accelerations": (
        "percent",
        "GREEN if less than 5%, RED if 10% or more, else YELLOW.",
    ),
}

FLAGS = (
    "outside_window",
    "invalid_position",
    "no_time",
    "out_of_sequence",
    "bad_quality",
    "unreasonable_speed",
    "unreasonable_acceleration",
    "duplicate_while_moving",
    "week_rollover",
)
_BIT = {name: 1 << i for i, name in enumerate(FLAGS)}
# Flags that keep a fix out of the cleaned track (a corrected week-rollover date does not).
REJECT = sum(_BIT[n] for n in FLAGS if n != "week_rollover")


def rate(name: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "red"
    if name == "percent_completeness":
        return "green" if value > 95 else ("red" if value <= 75 else "yellow")
    if name == "longest_epoch_gap":
        return "green" if value < 900 else ("red" if value >= 86400 else "yellow")
    return "green" if value < 5 else ("red" if value >= 10 else "yellow")


def overall(ratings) -> str:
    ratings = list(ratings)
    if not ratings or "red" in ratings:
        return "red"
    return "green" if all(r == "green" for r in ratings) else "yellow"


def haversine(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (spherical Earth, IUGG mean radius), vectorised."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _consecutive_haversine(lat, lon):
    """``haversine`` between each fix and the next, the same doubles, each fix's radians and cosine taken
    once instead of twice, and the steps written over three arrays (a month at 1 Hz is 2.6 million fixes:
    each fresh temporary would be 21 MB of new pages). The same doubles as ``haversine``."""
    p = np.radians(lat)
    h = np.diff(p)  # dp, then sin(dp / 2) ** 2
    cos_p = np.cos(p, out=p)
    np.divide(h, 2, out=h)
    np.sin(h, out=h)
    np.square(h, out=h)
    dl = np.diff(lon)  # then radians, sin(dl / 2) ** 2 and the product with the cosines
    np.radians(dl, out=dl)
    np.divide(dl, 2, out=dl)
    np.sin(dl, out=dl)
    np.square(dl, out=dl)
    cos_pair = np.multiply(cos_p[:-1], cos_p[1:], out=p[:-1])
    np.multiply(cos_pair, dl, out=dl)
    np.add(h, dl, out=h)
    np.clip(h, 0, 1, out=h)
    np.sqrt(h, out=h)
    np.arcsin(h, out=h)
    return np.multiply(2 * EARTH_RADIUS_M, h, out=h)


def iso(seconds: float | None) -> str | None:
    """POSIX seconds → ISO 8601 UTC with the fraction the data has (milliseconds at most)."""
    if seconds is None or math.isnan(seconds):
        return None
    ms = int(round(seconds * 1000))
    value = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(milliseconds=ms)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"


@dataclass
class Assessment:
    """A certificate (``certificate``, a JSON-ready dict) and the columns products are built from."""

    certificate: dict
    time: np.ndarray  # POSIX seconds (or, undated, seconds from the first day's midnight)
    lat: np.ndarray
    lon: np.ndarray
    quality: np.ndarray
    nsat: np.ndarray
    hdop: np.ndarray
    speed: np.ndarray  # m/s made good since the previous in-order fix (NaN for the first)
    flags: np.ndarray  # bit set per FLAGS
    dated: bool
    extra: dict = field(default_factory=dict)

    @property
    def clean(self) -> np.ndarray:
        """Indexes of the fixes the cleaned track keeps, in time order."""
        return np.flatnonzero((self.flags & REJECT) == 0)

    def flagged(self, limit: int = 2000) -> list[dict]:
        """Flagged fixes (at most ``limit``, evenly spread) for the certificate page and the map layer."""
        idx = np.flatnonzero(self.flags & ~_BIT["outside_window"] & ~_BIT["no_time"])
        if len(idx) > limit:
            idx = idx[np.linspace(0, len(idx) - 1, limit).astype(int)]
        rows = []
        for i in idx.tolist():
            names = [n for n in FLAGS if self.flags[i] & _BIT[n]]
            t = float(self.time[i])
            sp = self.speed[i]
            rows.append(
                {
                    "t": None if math.isnan(t) else round(t, 3),
                    "speed": None if math.isnan(sp) else round(float(sp), 3),
                    "time": iso(t) if self.dated else None,
                    "lat": None if math.isnan(self.lat[i]) else float(self.lat[i]),
                    "lon": None if math.isnan(self.lon[i]) else float(self.lon[i]),
                    "flags": names,
                }
            )
        return rows


def _to_seconds(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time(), tzinfo=datetime.UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def _unroll(tod: np.ndarray, first_day: int) -> np.ndarray:
    """Times of day without a date → seconds, counting a new day whenever the time goes back by > 12 h."""
    back = np.zeros(len(tod), np.int64)
    if len(tod) > 1:
        back[1:] = np.diff(np.nan_to_num(tod)) < -43200
    return (first_day + np.cumsum(back)) * 86400.0 + tod


def _bbox(lat: np.ndarray, lon: np.ndarray) -> list[float] | None:
    """[west, south, east, north]; west > east when the track crosses the antimeridian (RFC 7946 §5.2)."""
    ok = ~np.isnan(lat) & ~np.isnan(lon)
    if not ok.any():
        return None
    la, lo = (lat, lon) if ok.all() else (lat[ok], lon[ok])
    west, east = float(lo.min()), float(lo.max())
    # Crossing (west is then the least eastern, east the most western): only a track on both sides of it
    # can cross, whatever the rounding of lo + 360 says for a track all in the west.
    if west < 0 <= east:
        shifted = np.where(lo < 0, lo + 360, lo)
        if shifted.max() - shifted.min() < east - west:
            west, east = float(lo[lo >= 0].min()), float(lo[lo < 0].max())
    return [west, float(la.min()), east, float(la.max())]


def _take(column: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``column[idx]`` for an increasing index: the column itself when ``idx`` is every row (the usual
    case: nothing out of sequence or left out), which saves a copy of a whole column."""
    return column if len(idx) == len(column) else column[idx]


def _point(a: Assessment, i: int | None) -> dict | None:
    if i is None:
        return None
    return {
        "time": iso(float(a.time[i])) if a.dated else None,
        "lat": float(a.lat[i]),
        "lon": float(a.lon[i]),
    }


def assess(
    paths,
    start=None,
    end=None,
    *,
    thresholds: Thresholds | None = None,
    assume_start: datetime.date | None = None,
    block: int = nav_reader.BLOCK,
) -> Assessment:
    """Read ``paths`` and assess them; ``start``/``end`` (datetime, date or ISO text) are the cruise's dates
    (fixes outside are flagged and left out). ``assume_start`` dates an undated file from that day — only
    when the cruise says its navigation may take the cruise's dates; otherwise undated stays undated.

    Clock: a fix's time is its sensor (GPS) time when the sentence and a preceding RMC/ZDA give it; the
    logger's timestamp otherwise. ``clock_offset_s`` is the median of logger − sensor where both exist.
    """
    th = thresholds or Thresholds()
    reading = nav_reader.read(paths, block=block)
    f = reading.fixes
    n = len(f["lat"])
    w0, w1 = _to_seconds(start), _to_seconds(end)
    if w1 is not None and end is not None and not isinstance(end, datetime.datetime) and len(str(end)) <= 10:
        w1 += 86400  # an end date includes its whole day

    sensor = np.where((f["day"] >= 0) & ~np.isnan(f["tod"]), f["day"] * 86400.0 + f["tod"], np.nan)
    logger = f["logger"]
    flags = np.zeros(n, np.int64)

    # GPS week rollover: a sensor date 1,024 weeks before the logger's clock or the cruise's dates is
    # corrected (and flagged); with neither reference it cannot be told from an old cruise.
    roll = 1024 * 7 * 86400.0
    early = np.zeros(n, bool)
    has_both = ~np.isnan(sensor) & ~np.isnan(logger)
    early |= has_both & (np.abs(sensor + roll - logger) < 2 * 86400)
    if w0 is not None:
        inside_after = (sensor + roll >= w0 - 86400) & (sensor + roll <= (w1 or w0 + 400 * 86400) + 86400)
        early |= ~np.isnan(sensor) & (sensor < w0 - 86400) & inside_after
    if not early.any() and (~np.isnan(sensor)).sum() > 1:
        # Without a reference, a minority of fixes exactly 1,024 weeks before the file's median date.
        median_day = np.nanmedian(sensor) // 86400
        early |= np.abs(sensor / 86400 + 7168 - median_day) < 2
    sensor = np.where(early, sensor + roll, sensor)
    flags[early] |= _BIT["week_rollover"]

    time = np.where(np.isnan(sensor), logger, sensor)
    from_sensor = int(np.count_nonzero(~np.isnan(sensor)))
    from_logger = int(np.count_nonzero(np.isnan(sensor) & ~np.isnan(logger)))
    clock = (
        "sensor"
        if from_sensor and not from_logger
        else ("logger" if from_logger and not from_sensor else None)
    )
    if from_sensor and from_logger:
        clock = "mixed"
    offset = None
    if has_both.all():  # the usual case: no copies of the two columns
        offset = float(np.median(logger - sensor))
    elif has_both.any():
        offset = float(np.median(logger[has_both] - sensor[has_both]))
    dated = bool((~np.isnan(time)).any())
    undated_note = None
    if not dated and n:
        # No date anywhere: times of day only. Assess on relative time; report no date unless told.
        if assume_start is not None:
            first_day = (assume_start - datetime.date(1970, 1, 1)).days
            time = _unroll(f["tod"], first_day)
            dated = bool((~np.isnan(time)).any())
            clock = "sensor (date assumed from the cruise)"
            undated_note = "dates taken from the cruise"
        else:
            time = _unroll(f["tod"], 0)
            clock = "sensor (time of day only)"
            undated_note = "undated: times of day only, no date in the file"

    lat, lon = f["lat"], f["lon"]
    flags[np.isnan(time)] |= _BIT["no_time"]
    flags[np.isnan(lat) | np.isnan(lon)] |= _BIT["invalid_position"]
    if dated and w0 is not None:
        flags[~np.isnan(time) & (time < w0)] |= _BIT["outside_window"]
    if dated and w1 is not None:
        flags[~np.isnan(time) & (time >= w1)] |= _BIT["outside_window"]
    skip = _BIT["no_time"] | _BIT["invalid_position"] | _BIT["outside_window"]
    a_idx = np.flatnonzero((flags & skip) == 0)

    # Out of sequence: time not after the previous assessed fix (R2R: deltaT <= 0).
    ta = _take(time, a_idx)
    out = np.zeros(len(a_idx), bool)
    if len(a_idx) > 1 and not (ta[1:] > ta[:-1]).all():  # strictly increasing (usual): nothing is out
        running = np.maximum.accumulate(ta)
        out[1:] = ta[1:] <= running[:-1]
    if out.any():
        flags[a_idx[out]] |= _BIT["out_of_sequence"]
        b_idx = a_idx[~out]
    else:
        b_idx = a_idx

    q, ns = f["quality"], f["nsat"]
    bad_q = (q == 0) | (q == 6) | ((ns >= 0) & (ns < 4))
    flags[a_idx[_take(bad_q, a_idx)]] |= _BIT["bad_quality"]

    tb = _take(time, b_idx)
    lat_b, lon_b = _take(lat, b_idx), _take(lon, b_idx)
    speed = np.full(n, np.nan)
    accel_range = None
    gaps = np.diff(tb) if len(b_idx) > 1 else np.empty(0)
    if len(b_idx) > 1:
        sp = _consecutive_haversine(lat_b, lon_b)
        np.divide(sp, gaps, out=sp)
        speed[b_idx[1:]] = sp
        ac = np.full(len(sp), np.nan)
        np.divide(np.diff(sp), gaps[1:], out=ac[1:])
        valid_ac = ac[~np.isnan(ac)]
        accel_range = [float(valid_ac.min()), float(valid_ac.max())] if len(valid_ac) else None
        flags[b_idx[1:][sp > th.speed]] |= _BIT["unreasonable_speed"]
        flags[b_idx[1:][np.abs(ac) > th.acceleration]] |= _BIT["unreasonable_acceleration"]
        # Duplicate positions while moving: a run of repeated positions whose span (from the fix before
        # the run to the fix after it) was covered faster than ``moving`` m/s — a frozen receiver.
        same = (lat_b[1:] == lat_b[:-1]) & (lon_b[1:] == lon_b[:-1])
        if same.any():
            dup = np.concatenate(([False], same))
            run_start = np.flatnonzero(dup & ~np.concatenate(([False], dup[:-1])))
            run_end = np.flatnonzero(dup & ~np.concatenate((dup[1:], [False])))
            before = run_start - 1
            after = np.minimum(run_end + 1, len(b_idx) - 1)
            span = tb[after] - tb[before]
            moved = haversine(lat[b_idx[before]], lon[b_idx[before]], lat[b_idx[after]], lon[b_idx[after]])
            rv = reported = f["sog"][b_idx[run_start]]
            fast = (np.where(span > 0, moved / np.where(span > 0, span, 1), 0) > th.moving) | (
                ~np.isnan(rv) & (reported > th.moving)
            )
            run_id = np.cumsum(np.concatenate(([False], dup[1:] & ~dup[:-1]))) - 1
            moving_dup = dup & fast[np.clip(run_id, 0, len(fast) - 1)]
            flags[b_idx[moving_dup]] |= _BIT["duplicate_while_moving"]

    # Tests, with R2R's denominators where they are meaningful (see docs/navigation.md).
    na, nb = len(a_idx), len(b_idx)
    interval = float(np.median(gaps)) if len(gaps) else None
    counted_flags = _BIT["bad_quality"] | _BIT["unreasonable_speed"] | _BIT["unreasonable_acceleration"]
    counted_flags |= _BIT["duplicate_while_moving"]
    flags_b = _take(flags, b_idx)
    good = int(np.count_nonzero((flags_b & counted_flags) == 0))
    values: dict[str, float | None] = dict.fromkeys(TESTS)
    if nb:
        t0 = w0 if (dated and w0 is not None) else float(tb.min())
        t1 = w1 if (dated and w1 is not None) else float(tb.max())
        step = interval if interval and interval > 0 else 1.0
        possible = max(1.0, math.floor((t1 - t0) / step) + 1)
        values["percent_completeness"] = min(100.0, 100.0 * good / possible)
        # Between fixes only, as R2R: the hours in port before sailing are not a gap (completeness
        # counts them).
        values["longest_epoch_gap"] = float(gaps.max()) if len(gaps) else 0.0
        values["percent_records_out_of_sequence"] = 100.0 * (na - nb) / na
        values["percent_records_with_bad_gps_quality_indicator"] = (
            100.0 * np.count_nonzero(_take(bad_q, a_idx)) / na
        )
        values["percent_unreasonable_speeds"] = (
            100.0 * np.count_nonzero(flags_b & _BIT["unreasonable_speed"]) / nb
        )
        values["percent_unreasonable_accelerations"] = (
            100.0 * np.count_nonzero(flags_b & _BIT["unreasonable_acceleration"]) / nb
        )
    tests = {}
    for name, (uom, description) in TESTS.items():
        value = values[name]
        tests[name] = {
            "value": None if value is None else round(float(value), 6),
            "uom": uom,
            "rating": rate(name, value),
            "description": description,
        }

    counts = reading.counts
    assessment = Assessment(
        certificate={},
        time=time,
        lat=lat,
        lon=lon,
        quality=q,
        nsat=ns,
        hdop=f["hdop"],
        speed=speed,
        flags=flags,
        dated=dated,
    )
    order = b_idx
    first = int(order[np.argmin(tb)]) if nb else None
    last = int(order[np.argmax(tb)]) if nb else None
    valid_speed = speed[~np.isnan(speed)]
    # Fixes per flag from one count of each combination of flags (a few hundred at most), not a pass
    # over all fixes per flag.
    combos = np.bincount(flags) if n else np.zeros(1, np.int64)
    has_bit = np.arange(len(combos))[:, None] & np.array(list(_BIT.values()))[None, :]
    flag_counts = dict(zip(_BIT, (combos @ (has_bit != 0)).tolist(), strict=True))
    hd = _take(f["hdop"], b_idx)
    hd = hd[~np.isnan(hd)]
    ns_b = _take(ns, b_idx)
    ns_b = ns_b[ns_b >= 0]
    assessment.certificate = {
        "format": reading.format,
        "bytes": int(counts["bytes"]),
        "lines": int(counts["lines"]),
        "sentences": int(counts["sentences"]),
        "valid_checksum": int(counts["valid_checksum"]),
        "bad_checksum": int(counts["bad_checksum"]),
        "no_checksum": int(counts["no_checksum"]),
        "sentence_types": {k: int(counts[k]) for k in ("GGA", "RMC", "GLL", "GNS", "ZDA", "VTG", "HDT")},
        "skipped": {
            "proprietary": int(counts["proprietary"]),
            "ais": int(counts["ais"]),
            "malformed": int(counts["malformed"]),
            "truncated": int(counts["truncated"]),
            "comment_lines": int(counts["comment_lines"]),
            "binary_bytes": int(counts["binary_bytes"]),
            "run_together": int(counts["run_together"]),
            "impossible_coordinates": int(counts["impossible_coordinates"]),
            "zda_without_date": int(counts["zda_without_date"]),
            "unreadable_lines": int(counts["unreadable_lines"]),
            "unreadable_values": int(counts["unreadable_values"]),
        },
        "records": int(counts["records"]) if reading.format == "delimited" else None,
        # Positions kept, one per epoch: an epoch without one (a receiver's empty GGA before its first fix)
        # is not a fix; it is counted in flags["invalid_position"].
        "fixes": int(n - flag_counts["invalid_position"]),
        "assessed": int(na),
        "dated": dated,
        "undated_note": undated_note,
        "clock": clock,
        "clock_offset_s": None if offset is None else round(offset, 3),
        "first": _point(assessment, first),
        "last": _point(assessment, last),
        "bbox": _bbox(lat_b, lon_b),
        "window": {"start": iso(w0) if w0 is not None else None, "end": iso(w1) if w1 is not None else None},
        "thresholds": {
            "speed_m_s": th.speed,
            "acceleration_m_s2": th.acceleration,
            "gap_s": th.gap,
            "moving_m_s": th.moving,
        },
        "tests": tests,
        "flags": flag_counts,
        "infos": {
            "epoch_interval_s": interval,
            "gaps_longer_than_threshold": int(np.count_nonzero(gaps > th.gap)),
            "speed_m_s": [float(valid_speed.min()), float(valid_speed.max())] if len(valid_speed) else None,
            "acceleration_m_s2": accel_range,
            "satellites": [int(ns_b.min()), int(ns_b.max())] if len(ns_b) else None,
            "hdop": [float(hd.min()), float(hd.max())] if len(hd) else None,
        },
        "overall": overall(t["rating"] for t in tests.values()),
    }
    return assessment
