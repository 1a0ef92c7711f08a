"""The certificate (R2R's tests and ratings) and the products, on generated tracks with injected faults."""

import datetime
import json

import numpy as np
import pytest
import shapely
from django.core.management import call_command

from apps.navigation import products, qa, synthetic

from .conftest import S


def ratings(c):
    return {name: t["rating"] for name, t in c["tests"].items()}


def test_a_clean_track_is_green(track_file):
    a = qa.assess([track_file(n=3600)])
    c = a.certificate
    assert c["overall"] == "green" and set(ratings(c).values()) == {"green"}
    assert c["fixes"] == 3600 and c["dated"] and c["clock"] == "sensor" and c["clock_offset_s"] == 0.0
    assert not any(c["flags"].values())
    assert c["first"] == {"time": "2024-03-02T00:00:00Z", "lat": 32.7, "lon": -117.2}


def test_injected_faults_are_flagged_and_rated(track_file):
    faults = synthetic.Faults(
        gap=(1000, 2000),  # 1,001 s without a fix: yellow
        spike=3000,
        bad_quality=(4000, 4600),  # 600 of ~6,000: yellow
        out_of_order=(5000, 5400),  # 400 stale records written again: yellow
        week_rollover=(6000, 6010),
    )
    path = track_file(n=7200, lon0=179.9, heading=90.0, faults=faults)
    a = qa.assess([path])
    c = a.certificate
    assert c["flags"]["out_of_sequence"] == 400
    assert c["flags"]["bad_quality"] == 600
    assert c["flags"]["unreasonable_speed"] == 2  # into the spike and back
    assert c["flags"]["week_rollover"] == 10
    assert c["tests"]["longest_epoch_gap"]["value"] == 1001.0
    assert ratings(c) == {
        "percent_completeness": "yellow",
        "longest_epoch_gap": "yellow",
        "percent_records_out_of_sequence": "yellow",
        "percent_records_with_bad_gps_quality_indicator": "yellow",
        "percent_unreasonable_speeds": "green",
        "percent_unreasonable_accelerations": "green",
    }
    assert c["overall"] == "yellow"
    # The week-rollover fixes were dated back to the cruise: the track's last fix is in 2024.
    assert c["last"]["time"].startswith("2024-03-02")
    # The track crosses the antimeridian: the box says so (west > east).
    west, south, east, north = c["bbox"]
    assert west > 0 > east


def test_red_when_a_gap_is_a_day_and_when_most_fixes_are_bad(track_file):
    path = track_file(n=200, interval=600.0, faults=synthetic.Faults(gap=(10, 160), bad_quality=(0, 200)))
    c = qa.assess([path]).certificate
    assert ratings(c)["longest_epoch_gap"] == "red"
    assert ratings(c)["percent_records_with_bad_gps_quality_indicator"] == "red"
    assert c["overall"] == "red"


def test_fixes_outside_the_cruise_dates_are_flagged(track_file):
    path = track_file(n=7200)
    c = qa.assess([path], start="2024-03-02T01:00:00Z", end="2024-03-02T23:59:59Z").certificate
    assert c["flags"]["outside_window"] == 3600
    assert c["first"]["time"] == "2024-03-02T01:00:00Z"


def test_duplicate_positions_while_moving(nmea):
    lines = []
    for i in range(20):
        t = f"1200{i:02d}.00"
        lat = "3230.000" if 5 <= i < 10 else f"{3230 + i * 0.003:.3f}"
        lines.append(S(f"GPRMC,{t},A,{lat},N,11715.000,W,10.0,0.0,020324,,,A"))
    c = qa.assess([nmea(lines)]).certificate
    assert c["flags"]["duplicate_while_moving"] == 4


def test_acceleration_and_speed_limits(nmea):
    # steady 5 m/s, then a jump to 9 m/s in one second
    lat = [32.5 + 5 * i / 111195 for i in range(10)] + [32.5 + (45 + 9 * k) / 111195 for k in range(1, 6)]
    lines = [
        S(f"GPRMC,1200{i:02d}.00,A,{int(v)}{(v % 1) * 60:09.6f},N,11715.000,W,,,020324,,,A")
        for i, v in enumerate(lat)
    ]
    c = qa.assess([nmea(lines)]).certificate
    assert c["flags"]["unreasonable_speed"] == 5 and c["flags"]["unreasonable_acceleration"] == 1


def test_undated_files_are_undated_unless_the_cruise_dates_them(track_file):
    path = track_file(n=120, prefix=None, zda=False)
    text = path.read_text().splitlines()
    path.write_text("\n".join(line for line in text if "RMC" not in line) + "\n")
    c = qa.assess([path]).certificate
    assert not c["dated"] and c["first"]["time"] is None and c["fixes"] == 120
    assert c["tests"]["percent_completeness"]["rating"] == "green"
    dated = qa.assess([path], assume_start=datetime.date(2024, 3, 2)).certificate
    assert dated["dated"] and dated["first"]["time"] == "2024-03-02T00:00:00Z"


def test_logger_and_sensor_clock_offset_is_reported(nmea):
    lines = [
        f"2024-03-02T12:00:{i:02d}.750000Z "
        + S(f"GPRMC,1200{i:02d}.00,A,3230.000,N,11715.000,W,,,020324,,,A")
        for i in range(5)
    ]
    c = qa.assess([nmea(lines)]).certificate
    assert c["clock"] == "sensor" and c["clock_offset_s"] == 0.75


def test_epochs_without_a_position_are_not_fixes_but_are_counted(nmea):
    """A u-blox receiver writes empty GGA (quality 0, HDOP 99.99) every second until its first fix."""
    empty = [S(f"GPGGA,1159{i:02d}.00,,,,,0,00,99.99,,,,,,") for i in range(50, 60)]
    good = [S(f"GPRMC,1200{i:02d}.00,A,3230.000,N,11715.000,W,0.0,0.0,020324,,,A") for i in range(3)]
    c = qa.assess([nmea(empty + good)]).certificate
    assert c["fixes"] == 3 and c["flags"]["invalid_position"] == 10
    assert c["first"]["time"] == "2024-03-02T12:00:00Z" and c["first"]["lat"] == 32.5


def test_a_file_without_positions_is_red(nmea):
    c = qa.assess([nmea(["just words", S("GPZDA,120000.00,02,03,2024,00,00")])]).certificate
    assert c["fixes"] == 0 and c["overall"] == "red" and c["first"] is None


def test_a_track_all_in_the_west_has_an_ordinary_bounding_box(nmea):
    """lon + 360 may round to a narrower span than lon's own: that alone is no antimeridian crossing (the
    certificate used to fail on such a track)."""
    lines = [
        S(f"GPGGA,12000{i}.00,3230.0,N,{lon},W,1,09,0.9,10.0,M,-35.0,M,,")
        for i, lon in enumerate(("11715.0", "11715.5"))
    ]
    c = qa.assess([nmea(lines)]).certificate
    assert c["bbox"] == [-(117 + 15.5 / 60), 32.5, -117.25, 32.5]


def test_control_points_keep_every_point_within_the_tolerance(track_file):
    a = qa.assess([track_file(n=1800, lat0=10.0, lon0=179.7, heading=80.0)])
    tol = 0.0005
    built = products.build(a, tolerance=tol, name="T")
    lat, lon = a.lat[a.clean], a.lon[a.clean]
    m = products.one_minute(a.time[a.clean])
    line = shapely.LineString(np.column_stack((products.unwrap(lon[m]), lat[m])))
    idx = products.control_points(lat[m], lon[m], tol)
    control = shapely.LineString(np.column_stack((products.unwrap(lon[m])[idx], lat[m][idx])))
    distances = shapely.distance(shapely.points(shapely.get_coordinates(line)), control)
    assert distances.max() <= tol + 1e-12
    assert built.control_points == len(idx) < len(m)


def test_control_points_on_a_zigzag_stay_within_tolerance():
    rng = np.random.default_rng(7)
    lat = np.cumsum(rng.normal(0, 0.01, 2000))
    lon = ((np.cumsum(rng.normal(0.01, 0.01, 2000)) + 179.0 + 180) % 360) - 180
    for tol in (0.001, 0.01, 0.05):
        idx = products.control_points(lat, lon, tol)
        control = shapely.LineString(np.column_stack((products.unwrap(lon)[idx], lat[idx])))
        pts = shapely.points(np.column_stack((products.unwrap(lon), lat)))
        assert shapely.distance(pts, control).max() <= tol + 1e-9
        assert idx[0] == 0 and idx[-1] == len(lat) - 1 and (np.diff(idx) > 0).all()


def test_products_are_deterministic_in_range_and_split_at_the_antimeridian(track_file):
    path = track_file(n=1800, lon0=179.95, heading=90.0)
    one = products.build(qa.assess([path]), tolerance=0.001, name="T").files
    two = products.build(qa.assess([path]), tolerance=0.001, name="T").files
    assert one == two
    assert sorted(one) == sorted(
        f"T_{kind}.{ext}" for kind in ("bestres", "1min", "control") for ext in ("csv", "geojson")
    )
    for name, data in one.items():
        if name.endswith(".geojson"):
            geometry = json.loads(data)["features"][0]["geometry"]
            assert geometry["type"] == "MultiLineString"
            lons = [x for part in geometry["coordinates"] for x, _ in part]
            assert all(-180 <= x < 180 for x in lons)
            assert geometry["coordinates"][0][-1][0] == products.EDGE
            assert geometry["coordinates"][1][0][0] == -180
        else:
            rows = [r.split(",") for r in data.decode().splitlines() if not r.startswith("#")][1:]
            assert all(-180 <= float(r[1]) < 180 for r in rows)
    assert (
        one["T_bestres.csv"]
        .decode()
        .splitlines()[6]
        .startswith("2024-03-02T00:00:00.000Z,179.95,32.7,1,10,0.9,")
    )


def test_nav_qa_json(track_file, capsys):
    path = track_file(n=600, prefix="scs", lat0=-33.5, lon0=-70.25)
    call_command("nav_qa", str(path), "--json", "--start", "2024-03-02", "--end", "2024-03-02")
    c = json.loads(capsys.readouterr().out)
    for key in (
        "sentences",
        "valid_checksum",
        "bad_checksum",
        "no_checksum",
        "fixes",
        "dated",
        "first",
        "last",
        "tests",
        "overall",
    ):
        assert key in c
    assert (c["sentences"], c["valid_checksum"], c["bad_checksum"], c["no_checksum"]) == (1800, 1800, 0, 0)
    assert c["fixes"] == 600 and c["dated"] is True
    assert c["first"] == {"time": "2024-03-02T00:00:00Z", "lat": -33.5, "lon": -70.25}
    assert c["last"]["time"] == "2024-03-02T00:09:59Z" and c["last"]["lat"] < -33.5
    assert all({"value", "rating"} <= set(t) for t in c["tests"].values())
    assert c["tests"]["percent_completeness"]["rating"] == "red"  # 10 minutes of a one-day cruise


def test_nav_qa_on_a_file_without_position_prints_a_red_certificate(nmea, capsys):
    call_command("nav_qa", str(nmea(["# nothing here"])), "--json")
    c = json.loads(capsys.readouterr().out)
    assert c["overall"] == "red" and c["fixes"] == 0 and c["first"] is None and c["last"] is None
    call_command("nav_qa", str(nmea(["# nothing here"])))
    assert "RED" in capsys.readouterr().out


@pytest.mark.parametrize("start", ["yesterday", "2024-13-01"])
def test_nav_qa_refuses_a_bad_date(nmea, start):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("nav_qa", str(nmea([S("GPZDA,120000.00,02,03,2024,00,00")])), "--start", start)
