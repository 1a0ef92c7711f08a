"""Reading navigation as ships write it: sentence kinds, checksums, logger prefixes, dirty input."""

import datetime

import numpy as np
import pytest

from apps.navigation import nmeascan, reader, synthetic
from tests.conftest import require_system

from .conftest import START, S

GGA = "GPGGA,120000.00,3230.000000,N,11715.000000,W,1,09,0.9,10.0,M,-35.0,M,,"
RMC = "GPRMC,120000.00,A,3230.000000,N,11715.000000,W,10.0,250.0,020324,,,A"


@pytest.fixture(autouse=True, params=["compiled", "numpy"])
def which_reader(request, monkeypatch):
    """Every test here reads with the compiled scanner and with the numpy reader (its reference)."""
    if request.param == "numpy":
        monkeypatch.setattr(nmeascan, "available", lambda: False)
    else:
        require_system(
            "the NMEA scanner library", nmeascan.available(), "make install (needs a C compiler, cc)"
        )
    return request.param


def fixes_of(path, **kw):
    r = reader.read([path], **kw)
    return r, r.fixes


def test_gga_rmc_of_one_epoch_make_one_fix_with_the_rmc_date(nmea):
    r, f = fixes_of(nmea([S(GGA), S(RMC)]))
    assert len(r) == 1
    assert r.counts["sentences"] == 2 and r.counts["valid_checksum"] == 2
    assert f["lat"][0] == 32.5 and f["lon"][0] == -117.25
    assert f["day"][0] == (datetime.date(2024, 3, 2) - datetime.date(1970, 1, 1)).days
    assert f["tod"][0] == 43200 and f["quality"][0] == 1 and f["nsat"][0] == 9


def test_any_talker_and_several_constellations_of_one_epoch_are_one_fix(nmea):
    lines = [S(GGA.replace("GP", t, 1)) for t in ("GP", "GL", "GN", "IN", "II", "EC")]
    r, f = fixes_of(nmea(lines))
    assert len(r) == 1 and r.counts["GGA"] == 6


def test_full_precision_south_and_west_are_negative(nmea):
    r, f = fixes_of(nmea([S("GNGGA,010203.5,4916.4512345,S,12311.1234567,W,2,12,0.6,1.0,M,0,M,,")]))
    assert f["lat"][0] == -(49 + 16.4512345 / 60)
    assert f["lon"][0] == -(123 + 11.1234567 / 60)
    assert f["tod"][0] == 3723.5


def test_gll_with_and_without_time_gns_zda_vtg_hdt(nmea):
    lines = [
        S("GPZDA,120000.00,02,03,2024,00,00"),
        S("GPGLL,3230.000,N,11715.000,W,120001.00,A,A"),
        "$GPGLL,3230.100,N,11715.100,W",  # NMEA 1.x: no time, no status, no checksum
        S("GNGNS,120002.00,3230.200,N,11715.200,W,DD,14,0.7,10.0,-35.0,,"),
        S("GPVTG,250.0,T,,M,10.0,N,18.5,K,A"),
        S("HEHDT,251.2,T"),
    ]
    r, f = fixes_of(nmea(lines))
    c = r.counts
    assert (c["ZDA"], c["GLL"], c["GNS"], c["VTG"], c["HDT"]) == (1, 2, 1, 1, 1)
    assert c["no_checksum"] == 1 and c["valid_checksum"] == 5
    assert len(r) == 3
    assert np.isnan(f["tod"][1])  # the old GLL has no time of day
    assert f["quality"][2] == 2 and f["nsat"][2] == 14
    assert f["day"][0] == f["day"][2] == (datetime.date(2024, 3, 2) - datetime.date(1970, 1, 1)).days


def test_logger_prefixes_are_the_time_source(nmea):
    iso = "2024-03-02T12:00:00.250000Z " + S(GGA)
    scs = "03/02/2024,12:00:01.500," + S(GGA.replace("120000.00", "120001.00"))
    rvdas = "gps1 2024-03-02T12:00:02.000Z " + S(GGA.replace("120000.00", "120002.00"))
    r, f = fixes_of(nmea([iso, scs, rvdas]))
    base = datetime.datetime(2024, 3, 2, 12, tzinfo=datetime.UTC).timestamp()
    assert list(f["logger"]) == [base + 0.25, base + 1.5, base + 2.0]


def test_checksums_valid_bad_and_missing_are_counted_and_bad_ones_skipped(nmea):
    bad = S(GGA)[:-2] + "00"
    r, f = fixes_of(nmea([S(GGA), bad, "$" + GGA.replace("120000", "120005")]))
    assert (r.counts["valid_checksum"], r.counts["bad_checksum"], r.counts["no_checksum"]) == (1, 1, 1)
    assert len(r) == 2


def test_dirty_lines_are_counted_never_fatal(nmea):
    ubx = b"\xb5\x62\x01\x07\x5c\x00\xff\x00$\x10"
    body = b"\n".join(
        [
            b"# logger started",
            ubx + S(GGA).encode() + b"\xb5\x62\x06\x01",  # binary on the same line
            (S(GGA.replace("120000.00", "120001.00")) + S(RMC.replace("120000.00", "120001.00"))).encode(),
            b"$GPGGA,120002.00,3230.0",  # truncated
            S("PUBX,00,120003.00,3230.000,N").encode(),
            b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26",
            S("GPGGA,120004.00,9530.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),  # impossible
            bytes(range(256)),  # pure noise
            b"",
        ]
    )
    r, f = fixes_of(nmea(body))
    c = r.counts
    assert c["binary_bytes"] > 0 and c["comment_lines"] == 1 and c["run_together"] == 1
    assert c["truncated"] == 1 and c["proprietary"] == 1 and c["ais"] == 1
    assert c["impossible_coordinates"] == 1
    good = f["lat"][~np.isnan(f["lat"])]
    assert len(good) == 2  # the GGA among binary bytes and the run-together epoch


def test_a_file_without_date_stays_undated(nmea):
    r, f = fixes_of(nmea([S(GGA), S(GGA.replace("120000", "120001"))]))
    assert len(r) == 2 and (f["day"] < 0).all() and np.isnan(f["logger"]).all()


def test_zda_without_a_date_is_counted(nmea):
    r, f = fixes_of(nmea([S("GPZDA,120000.00,,,,,"), S(GGA)]))
    assert r.counts["zda_without_date"] == 1 and f["day"][0] == -1


def test_the_fix_after_midnight_takes_the_next_day(nmea):
    lines = [
        S("GPRMC,235959.00,A,3230.000,N,11715.000,W,10.0,250.0,020324,,,A"),
        S("GPGGA,000000.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,"),
    ]
    r, f = fixes_of(nmea(lines))
    assert f["day"][1] - f["day"][0] == 1


def test_block_boundaries_do_not_change_the_result(track_file):
    path = track_file(n=600)
    whole = reader.read([path])
    small = reader.read([path], block=4096)
    assert len(whole) == len(small) == 600
    for name in ("lat", "lon", "tod", "logger"):
        np.testing.assert_array_equal(whole.fixes[name], small.fixes[name])
    assert whole.counts["sentences"] == small.counts["sentences"] == 1800


@pytest.mark.parametrize("block", [40, 97])
def test_lines_longer_than_a_block_are_carried_whole_into_the_next(track_file, block):
    """Blocks shorter than a line: each line is carried on (in the one reused buffer) until its end, and an
    epoch whose sentences fall in three blocks is still one fix."""
    path = track_file(n=50, prefix="scs")
    whole = reader.read([path])
    small = reader.read([path], block=block)
    assert small.counts == whole.counts and len(small) == 50
    for name in reader._FIX_COLUMNS:
        if name != "sog":  # read where the duplicate test needs it, and for each block's first epoch
            np.testing.assert_array_equal(whole.fixes[name], small.fixes[name])


def read_delimited_text(tmp_path, text: str):
    path = tmp_path / "nav.csv"
    path.write_text(text)
    return reader.read([path])


def test_delimited_files(tmp_path):
    r = read_delimited_text(
        tmp_path,
        "time,lat,lon,quality,sats,hdop\n# a comment\n"
        "2024-03-02T00:00:00Z,32.5,-117.25,1,9,0.8\n2024-03-02 00:00:01,32.50001,-117.25001,0,3,\n",
    )
    assert r.format == "delimited" and len(r) == 2 and r.counts["comment_lines"] == 1
    assert list(r.fixes["quality"]) == [1, 0] and list(r.fixes["nsat"]) == [9, 3]
    assert r.fixes["lat"][1] == 32.50001


def test_a_file_whose_first_sentence_comes_after_a_long_binary_head_is_read_as_nmea(nmea):
    """Receivers log binary output before the first sentence; a file whose first sentence came after
    64 KiB was once read as a delimited table, and its fixes were lost."""
    head = bytes(range(256)).replace(b"$", b"").replace(b"!", b"") * 8000  # 2 MB without a sentence
    path = nmea(head + f"\n{S(RMC)}\n{S(GGA)}\n".encode())
    r, f = fixes_of(path)
    assert r.format == "nmea" and r.counts["valid_checksum"] == 2 and len(r) == 1
    assert f["lat"][0] == 32.5 and r.counts["binary_bytes"] > 0


def test_a_delimited_file_with_a_dollar_sign_and_words_where_numbers_go_is_read_and_counted(tmp_path):
    r = read_delimited_text(
        tmp_path,
        "time,lat,lon,quality\n2024-03-02T00:00:00Z,32.5,-117.25,cost $12\n"
        "2024-03-02T00:00:01Z,32.5001,-117.25,2\n2024-03-02T00:00:02Z,32.5002,-117.25,\n",
    )
    assert r.format == "delimited" and len(r) == 3
    assert list(r.fixes["quality"]) == [-1, 2, -1] and r.counts["unreadable_values"] == 1


@pytest.mark.parametrize("prefix", ["iso", "scs", None])
def test_generated_streams_read_back_exactly(track_file, prefix):
    path = track_file(n=120, prefix=prefix, lat0=-10.0, lon0=-20.0)
    r = reader.read([path])
    lat, lon = synthetic.positions(120, -10.0, -20.0, 250.0, 10.0, 1.0)
    assert len(r) == 120 and r.counts["bad_checksum"] == 0
    np.testing.assert_allclose(r.fixes["lat"], lat, atol=1e-7)
    np.testing.assert_allclose(r.fixes["lon"], lon, atol=1e-7)
    assert (r.fixes["day"] >= 0).all()
    assert START.timestamp() == r.fixes["day"][0] * 86400 + r.fixes["tod"][0]


def _one_by_one(lines):
    """What each GGA says, read field by field in Python (the reference for the vectorised reader)."""
    out = []
    for line in lines:
        f = line.split("*")[0].split(",")
        lat = (int(f[2][:2]) + float(f[2][2:]) / 60) * (-1 if f[3] == "S" else 1)
        lon = (int(f[4][:3]) + float(f[4][3:]) / 60) * (-1 if f[5] == "W" else 1)
        out.append((lat, lon, int(f[7]), float(f[8])))
    return out


def test_field_widths_changing_mid_file_are_read_right(nmea):
    """The comma layout of a sentence kind is reused while it repeats: every change of a field's width
    (latitude decimals, satellites, HDOP, a missing field) must start a new layout, in any block."""
    widths = [
        ("3230.000000", "11715.000000", "09", "0.9"),
        ("3230.1234", "11715.1234", "9", "0.9"),  # lat/lon narrower, satellites one digit
        ("3230.12345678", "11715.12345678", "12", "12.5"),  # wider
        ("3230.5", "11715.5", "10", "1.0"),
        ("3230.000000", "11715.000000", "09", "0.9"),  # back to the first layout
    ]
    lines = []
    for i in range(200):
        lat, lon, ns, hd = widths[(i // 7) % len(widths)]
        lines.append(S(f"GPGGA,12{i // 60:02d}{i % 60:02d}.00,{lat},N,{lon},W,1,{ns},{hd},10.0,M,-35.0,M,,"))
    path = nmea(lines)
    expected = _one_by_one(lines)
    for block in (reader.BLOCK, 700, 4096):
        r, f = fixes_of(path, block=block)
        assert len(r) == 200 and r.counts["truncated"] == 0
        assert list(zip(f["lat"], f["lon"], f["nsat"], f["hdop"].astype(float), strict=True)) == [
            (la, lo, ns, np.float32(hd)) for la, lo, ns, hd in expected
        ]


def test_a_sentence_longer_than_the_comma_window_is_read_whole(nmea):
    """Commas past the reader's window (128 bytes) are found byte by byte: a long field before the ones
    read, and a run of empty fields, change nothing."""
    long_gga = S("GPGGA,120001.00,3230.5,N,11715.5,W,1,08,1.1,10.0,M,-35.0,M," + "9" * 150 + ",")
    many_commas = S("GPGLL" + "," * 140)  # a GLL with no position: counted, no fix
    lines = [S(GGA), long_gga, many_commas, S(GGA.replace("120000.00", "120002.00"))]
    r, f = fixes_of(nmea(lines))
    assert len(r) == 4 and r.counts["valid_checksum"] == 4 and r.counts["truncated"] == 0
    assert f["lat"][1] == 32 + 30.5 / 60 and f["nsat"][1] == 8 and f["hdop"][1] == np.float32(1.1)
    assert np.isnan(f["lat"][2]) and f["lat"][3] == 32.5


def test_a_sentence_after_a_long_one_takes_no_layout_from_it(nmea):
    """A long sentence's commas past the window are not the next sentence's: a short, truncated GGA whose
    commas match the long one's first bytes is still counted truncated, its fields read from itself."""
    short = "GPGGA,120002.00,3230.5,N,11715.5,W,1,08"  # eight fields: truncated
    long_gga = S(short.replace("120002", "120001") + "9" * 150 + ",1.1,10.0,M,-35.0,M,,")
    r, f = fixes_of(nmea([long_gga, S(short)]))
    assert len(r) == 2 and r.counts["valid_checksum"] == 2
    assert r.counts["truncated"] == 1
    assert f["lat"][1] == 32 + 30.5 / 60 and f["nsat"][1] == 8 and np.isnan(f["hdop"][1])


def test_fields_of_one_width_whose_dot_moves_or_holds_a_letter_are_read_right(nmea):
    """Fields of the same width are read column by column only while the dot stays in its column and the
    rest are digits: a moving dot and a stray letter are read as the general reading reads them."""
    rows = [("3230.5000", "1.25"), ("3230.5000", "12.5"), ("3230.50x0", "0.90"), ("323.05000", "1.00")]
    lines = [
        S(f"GPGGA,12000{i}.00,{lat},N,11715.5000,W,1,08,{hd},10.0,M,-35.0,M,,")
        for i, (lat, hd) in enumerate(rows)
    ]
    r, f = fixes_of(nmea(lines))
    assert len(r) == 4 and r.counts["impossible_coordinates"] == 2
    assert list(f["hdop"]) == [np.float32(1.25), np.float32(12.5), np.float32(0.9), np.float32(1.0)]
    assert f["lat"][0] == f["lat"][1] == 32 + 30.5 / 60 and np.isnan(f["lat"][2]) and np.isnan(f["lat"][3])
