"""Track products from an assessment: the cleaned best-resolution track, the one-minute track and the
control points (Douglas–Peucker of the one-minute track, via shapely), each as delimited text and GeoJSON.

Longitudes are written in [-180, 180) and lines are split where the track crosses the antimeridian (RFC 7946
§3.1.9; the crossing segment itself is left out, so no coordinate reads 180). The bytes are deterministic:
numbers are rounded (7 decimals ≈ 1 cm) and formatted by Arrow's shortest round-trip conversion, rows and
keys in a fixed order, no timestamps of the build inside. Text is assembled with pyarrow string kernels (no
Python loop per point: the best-resolution track of a month at 1 Hz has 2.6 million rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from .qa import Assessment

DECIMALS = 7


@dataclass
class Products:
    files: dict[str, bytes]  # name → bytes, in a fixed order
    control: dict  # the control points as a GeoJSON geometry (LineString or MultiLineString)
    control_points: int
    one_minute_points: int
    bestres_points: int
    bbox: list[float] | None
    # The control points' times (epoch seconds; NaN when undated), latitudes and longitudes: the timed
    # pieces search by place reads (apps.navigation.segments).
    control_track: tuple = ((), (), ())


def normalise(lon: np.ndarray) -> np.ndarray:
    """Longitudes into [-180, 180), leaving values already there bit-for-bit as they are."""
    out = ((lon + 180.0) % 360.0) - 180.0
    return np.where((lon >= -180.0) & (lon < 180.0), lon, out)


def unwrap(lon: np.ndarray) -> np.ndarray:
    """Continuous longitudes along a track (a crossing of the antimeridian continues past ±180)."""
    if len(lon) < 2:
        return lon.copy()
    step = np.diff(lon)
    step = np.where(step > 180, step - 360, np.where(step < -180, step + 360, step))
    return np.concatenate(([lon[0]], lon[0] + np.cumsum(step)))


EDGE = 180.0 - 10.0**-DECIMALS  # the last longitude before the antimeridian that [-180, 180) can write


def split_antimeridian(lat: np.ndarray, lon: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A track (lon in [-180, 180)) as pieces between antimeridian crossings. Each crossing adds a vertex
    at the crossing (latitude interpolated on the unwrapped segment) to both pieces: ``EDGE`` on the
    eastern side and -180 on the western one."""
    if len(lon) == 0:
        return []
    cut = np.flatnonzero(np.abs(np.diff(lon)) > 180) + 1
    if len(cut) == 0:
        return [(lat, lon)]
    out = []
    head_lat, head_lon = np.empty(0), np.empty(0)
    begin = 0
    for c in cut.tolist():
        lo0, lo1, la0, la1 = lon[c - 1], lon[c], lat[c - 1], lat[c]
        eastward = lo0 > lo1  # 179 → -179
        x1 = lo1 + 360 if eastward else lo1 - 360
        edge = 180.0 if eastward else -180.0
        frac = (edge - lo0) / (x1 - lo0) if x1 != lo0 else 0.0
        la = la0 + frac * (la1 - la0)
        end_lon, next_lon = (EDGE, -180.0) if eastward else (-180.0, EDGE)
        out.append(
            (
                np.concatenate((head_lat, lat[begin:c], [la])),
                np.concatenate((head_lon, lon[begin:c], [end_lon])),
            )
        )
        head_lat, head_lon = np.array([la]), np.array([next_lon])
        begin = c
    out.append((np.concatenate((head_lat, lat[begin:])), np.concatenate((head_lon, lon[begin:]))))
    return out


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _num(values: np.ndarray, decimals: int = DECIMALS) -> pa.Array:
    arr = pa.array(values, type=pa.float64(), from_pandas=True)  # NaN → null
    return pc.cast(pc.round(arr, decimals), pa.large_string())


def _joined(arr: pa.Array) -> bytes:
    """The concatenation of all values of a (large) string array, straight from its data buffer."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    if len(arr) == 0:
        return b""
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset : arr.offset + len(arr) + 1]
    return arr.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]]


def _times(seconds: np.ndarray, dated: bool) -> pa.Array:
    if not dated:
        return pa.nulls(len(seconds), pa.large_string())
    ms = np.round(seconds * 1000).astype(np.int64)
    return pc.cast(
        pc.strftime(pa.array(ms).cast(pa.timestamp("ms")), format="%Y-%m-%dT%H:%M:%SZ"), pa.large_string()
    )


def delimited(columns: dict[str, pa.Array], header: list[str]) -> bytes:
    """Comma-separated text with a GeoCSV-style ``#`` header (R2R writes GeoCSV) and a column line."""
    names = list(columns)
    head = "".join(f"# {line}\n" for line in header) + ",".join(names) + "\n"
    filled = [pc.fill_null(columns[name], _s("")) for name in names]
    rows = (
        pc.binary_join_element_wise(*filled, _s("\n"), _s(",")) if filled else pa.array([], pa.large_string())
    )
    # binary_join_element_wise puts the separator between the last column and "\n": strip it.
    rows = pc.replace_substring_regex(rows, ",\n$", "\n")
    return head.encode() + _joined(rows)


def _coords(lat: np.ndarray, lon: np.ndarray) -> bytes:
    pairs = pc.binary_join_element_wise(_s("["), _num(lon), _s(","), _num(lat), _s("],"), _s(""))
    return _joined(pairs)[:-1]


def geometry_json(lat: np.ndarray, lon: np.ndarray) -> bytes:
    """A LineString (or MultiLineString when the track crosses the antimeridian; a Point for one fix)."""
    if len(lat) == 1:
        return b'{"coordinates":' + _coords(lat, lon) + b',"type":"Point"}'
    parts = [(la, lo) for la, lo in split_antimeridian(lat, lon) if len(la) >= 2]
    if len(parts) == 1:
        return b'{"coordinates":[' + _coords(*parts[0]) + b'],"type":"LineString"}'
    lines = b",".join(b"[" + _coords(la, lo) + b"]" for la, lo in parts)
    return b'{"coordinates":[' + lines + b'],"type":"MultiLineString"}'


def feature_collection(name: str, lat, lon, properties: dict) -> bytes:
    props = json.dumps({"name": name, **properties}, sort_keys=True, separators=(",", ":")).encode()
    if len(lat) == 0:
        geometry = b"null"
    else:
        geometry = geometry_json(lat, lon)
    return (
        b'{"features":[{"geometry":' + geometry + b',"properties":' + props + b',"type":"Feature"}],'
        b'"type":"FeatureCollection"}\n'
    )


def one_minute(time: np.ndarray) -> np.ndarray:
    """Indexes of the first fix of each minute (R2R's 1-minute resample, ``first``); ``time`` increasing."""
    if len(time) == 0:
        return np.empty(0, np.int64)
    minute = np.floor(time / 60.0)
    return np.flatnonzero(np.concatenate(([True], minute[1:] != minute[:-1])))


def control_points(lat: np.ndarray, lon: np.ndarray, tolerance: float) -> np.ndarray:
    """Indexes of the Douglas–Peucker vertices of a track (``tolerance`` in degrees on unwrapped lon/lat):
    every point of the track lies within ``tolerance`` of the line through the kept ones."""
    n = len(lat)
    if n <= 2:
        return np.arange(n)
    x = unwrap(lon)
    line = shapely.LineString(np.column_stack((x, lat)))
    simple = shapely.simplify(line, tolerance, preserve_topology=False)
    kept = shapely.get_coordinates(simple)
    # simplify keeps original vertices: find each, in order, among the originals.
    index: dict[tuple[float, float], list[int]] = {}
    for i, key in enumerate(zip(x.tolist(), lat.tolist(), strict=True)):
        index.setdefault(key, []).append(i)
    out, last = [], -1
    for xk, yk in kept.tolist():
        candidates = index.get((xk, yk), [])
        nxt = next((i for i in candidates if i > last), None)
        if nxt is not None:
            out.append(nxt)
            last = nxt
    if not out or out[0] != 0:
        out.insert(0, 0)
    if out[-1] != n - 1:
        out.append(n - 1)
    return np.array(out, np.int64)


def build(assessment: Assessment, *, tolerance: float, name: str = "track") -> Products:
    """The three tracks, as text and GeoJSON, from an assessment's cleaned fixes."""
    a = assessment
    idx = a.clean
    t, lat, lon = a.time[idx], a.lat[idx], normalise(a.lon[idx])
    dated = a.dated
    header_common = [
        "dataset: GeoCSV 2.0",
        "delimiter: ,",
        f"source: Quayside navigation ({name})",
        "longitude: degrees east in [-180, 180); latitude: degrees north (WGS 84)",
    ]
    speed = a.speed[idx]
    best_cols = {
        "iso_time": _times(t, dated),
        "ship_longitude": _num(lon),
        "ship_latitude": _num(lat),
        "nmea_quality": pc.cast(
            pa.array(np.where(a.quality[idx] >= 0, a.quality[idx], np.nan)), pa.large_string()
        ),
        "nsv": pc.cast(pa.array(np.where(a.nsat[idx] >= 0, a.nsat[idx], np.nan)), pa.large_string()),
        "hdop": _num(a.hdop[idx].astype(np.float64), 2),
        "speed_made_good": _num(speed, 3),
    }
    best_cols["nmea_quality"] = pc.replace_substring(
        pc.fill_null(best_cols["nmea_quality"], _s("")), ".0", ""
    )
    best_cols["nsv"] = pc.replace_substring(pc.fill_null(best_cols["nsv"], _s("")), ".0", "")
    files: dict[str, bytes] = {}
    files[f"{name}_bestres.csv"] = delimited(best_cols, [*header_common, "product: best-resolution, cleaned"])

    m = one_minute(t)
    t1, lat1, lon1 = t[m], lat[m], lon[m]
    if len(m) > 1:
        from .qa import haversine

        smg = np.concatenate(([np.nan], haversine(lat1[:-1], lon1[:-1], lat1[1:], lon1[1:]) / np.diff(t1)))
    else:
        smg = np.full(len(m), np.nan)
    one_cols = {
        "iso_time": _times(t1, dated),
        "ship_longitude": _num(lon1),
        "ship_latitude": _num(lat1),
        "speed_made_good": _num(smg, 3),
    }
    files[f"{name}_1min.csv"] = delimited(
        one_cols, [*header_common, "product: one-minute (first fix of each minute)"]
    )

    c = control_points(lat1, lon1, tolerance)
    tc, latc, lonc = t1[c], lat1[c], lon1[c]
    files[f"{name}_control.csv"] = delimited(
        {"iso_time": _times(tc, dated), "ship_longitude": _num(lonc), "ship_latitude": _num(latc)},
        [*header_common, f"product: control points (Douglas-Peucker, tolerance {tolerance} degrees)"],
    )
    files[f"{name}_bestres.geojson"] = feature_collection(
        f"{name} best resolution", lat, lon, {"points": len(lat)}
    )
    files[f"{name}_1min.geojson"] = feature_collection(
        f"{name} one-minute", lat1, lon1, {"points": len(lat1)}
    )
    files[f"{name}_control.geojson"] = feature_collection(
        f"{name} control points", latc, lonc, {"points": len(latc), "tolerance_degrees": tolerance}
    )
    control = json.loads(geometry_json(latc, lonc)) if len(latc) else None
    from .qa import _bbox

    return Products(
        files=files,
        control=control,
        control_points=len(c),
        one_minute_points=len(m),
        bestres_points=len(idx),
        bbox=_bbox(lat, lon),
        control_track=(tc if dated else np.full(len(tc), np.nan), latc, lonc),
    )
