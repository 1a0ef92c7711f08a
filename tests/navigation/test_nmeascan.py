"""The compiled NMEA scanner (``apps/navigation/nmeascan.c``) against the numpy reader it was written from
(``reader._nmea_block``): the same fixes, bit for bit, and the same counts, on clean streams, streams with
every injected fault, dirty hand-made lines and seeded random damage, at block sizes that cut sentences,
epochs and dates anywhere."""

import datetime
import random

import numpy as np
import pytest

from apps.navigation import nmeascan, reader, synthetic
from tests.conftest import require_system

from .conftest import START, S


@pytest.fixture(autouse=True)
def _built():
    require_system("the NMEA scanner library", nmeascan.available(), "make install (needs a C compiler, cc)")


def both(path, block):
    """The reading by the compiled scanner, then by the numpy reader."""
    compiled = reader.read_nmea([path], block=block)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nmeascan, "available", lambda: False)
        numpy_reading = reader.read_nmea([path], block=block)
    return compiled, numpy_reading


def assert_same(path, blocks=(reader.BLOCK, 4096, 333)):
    for block in blocks:
        c, p = both(path, block)
        assert +c.counts == +p.counts, (block, +c.counts, +p.counts)
        for name in reader._FIX_COLUMNS:
            a, b = c.fixes[name], p.fixes[name]
            assert a.dtype == b.dtype, name
            np.testing.assert_array_equal(a, b, err_msg=f"{name}, block {block}")
    return c


@pytest.mark.parametrize("prefix", ["iso", "scs", None])
def test_generated_streams_with_every_fault(track_file, prefix):
    faults = synthetic.Faults(
        gap=(100, 160), spike=300, bad_quality=(400, 420), out_of_order=(500, 520), week_rollover=(600, 640)
    )
    c = assert_same(track_file(n=1500, prefix=prefix, faults=faults, lon0=179.99, heading=90.0))
    assert len(c) > 1400


def test_a_stream_across_midnight_without_zda_and_with_gll(tmp_path):
    start = datetime.datetime(2024, 3, 2, 23, 50, tzinfo=datetime.UTC)
    lines = list(synthetic.lines(start, 1200, zda=False, prefix=None, talker="GN"))
    # Every fourth epoch's GGA and RMC become a GLL with time, as some receivers alternate.
    for i in range(0, len(lines), 8):
        lines[i] = S("GPGLL,3230.000,N,11715.000,W," + lines[i].split(",")[1] + ",A,A")
    path = tmp_path / "midnight.nmea"
    path.write_text("\n".join(lines) + "\n")
    assert_same(path)


def test_dirty_hand_made_lines(nmea):
    gga = "GPGGA,120000.00,3230.000000,N,11715.000000,W,1,09,0.9,10.0,M,-35.0,M,,"
    rmc = "GPRMC,120000.00,A,3230.000000,N,11715.000000,W,10.0,250.0,020324,,,A"
    lines = [
        b"# logger started",
        b"; a comment",
        b"\xb5\x62\x01\x07\x5c\x00\xff\x00$\x10" + S(gga).encode() + b"\xb5\x62\x06\x01",
        (S(gga.replace("120000.00", "120001.00")) + S(rmc.replace("120000.00", "120001.00"))).encode(),
        b"$GPGGA,120002.00,3230.0",
        S("PUBX,00,120003.00,3230.000,N").encode(),
        b"!AIVDM,1,1,,A,13aEOK?P00PD2wVMdLDRhgvL289?,0*26",
        S("GPGGA,120004.00,9530.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),
        S("GPGGA,120005.00,,,,,0,00,99.99,,,,,,").encode(),
        S("GPRMC,120005.00,V,3230.5,N,11715.5,W,0.0,0.0,020324,,,N").encode(),
        S("GPZDA,120006.00,,,,,").encode(),
        S("GPGGA,120006.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),
        S("GPGGA,120006.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),
        b"$GPGGA,120007.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,*00",  # bad checksum
        b"$gpgga,120008.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,",  # lower case
        S("GNGNS,120009.00,3230.2,N,11715.2,W,DDN,14,0.7,10.0,-35.0,,").encode(),
        S("GNGNS,120010.00,3230.2,N,11715.2,W,,14,0.7,10.0,-35.0,,").encode(),
        b"2024-03-02T12:00:11.5Z " + S(gga.replace("120000.00", "")).encode(),  # logger time only
        b"gps1 2024-03-02T12:00:12.25Z " + S(gga.replace("120000.00", "")).encode(),
        b"03/02/2024,12:00:13.125," + S(gga.replace("120000.00", "120013")).encode(),
        S("GPGGA,120014.00,3230.000,N,11715.000,W,1,999999,0.9,10.0,M,-35.0,M,,").encode(),
        S("GPGGA,120015.00,3230.000,N,11715.000,W,300,09,1e5,10.0,M,-35.0,M,,").encode(),
        S("GPGLL,3230.100,N,11715.100,W").encode(),
        b"$GPGLL,3230.100,N,11715.100,W",
        S("GPRMC,235959.99,A,3230.000,N,11715.000,W,10.0,250.0,310124,,,A").encode(),
        S("GPGGA,000000.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),
        S("GPRMC,120016.0000000001,A,3230.000,S,11715.000,E,10.0,250.0,320124,,,A").encode(),
        S("GPGGA,120017,3230.0000000000001,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,").encode(),
        b"\x00" * 50 + b"$GPGGA,1" + b"," * 200 + b"*7F",
        S("GPGGA,120018.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,," + "x" * 150).encode(),
        b"\r\r\n" + S(gga.replace("120000.00", "120019.00")).encode() + b"\r",
        bytes(range(256)),
        b"",
    ]
    assert_same(nmea(b"\n".join(lines)), blocks=(reader.BLOCK, 64, 17))


def test_seeded_random_damage(track_file, tmp_path):
    clean = track_file(n=600, prefix="iso").read_bytes()
    rng = random.Random(20261204)
    for case in range(12):
        data = bytearray(clean)
        for _ in range(rng.randrange(5, 60)):
            at = rng.randrange(len(data))
            what = rng.randrange(5)
            if what == 0:  # a byte changed
                data[at] = rng.randrange(256)
            elif what == 1:  # binary inserted
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            elif what == 2:  # a run cut out (lines run together, sentences truncated)
                del data[at : at + rng.randrange(1, 120)]
            elif what == 3:  # a digit where another was
                data[at] = rng.choice(b"0123456789.,*$!\n")
            else:  # a line end dropped or doubled
                data[at:at] = b"\n" if rng.random() < 0.5 else b""
        path = tmp_path / f"damaged{case}.nmea"
        path.write_bytes(bytes(data))
        assert_same(path, blocks=(reader.BLOCK, 1000, 97))


def test_random_bytes_and_text(tmp_path):
    rng = random.Random(7)
    alphabet = b"$!*,.0123456789ABCDEFGHNPRSWZ\r\n -:/T"
    for case in range(6):
        path = tmp_path / f"noise{case}.nmea"
        if case % 2:
            path.write_bytes(bytes(rng.randrange(256) for _ in range(20000)))
        else:
            path.write_bytes(bytes(rng.choice(alphabet) for _ in range(20000)))
        assert_same(path, blocks=(reader.BLOCK, 512))


def test_files_in_one_stream_carry_the_date_into_the_next(tmp_path):
    first, second = tmp_path / "a.nmea", tmp_path / "b.nmea"
    first.write_text(S("GPZDA,120000.00,02,03,2024,00,00") + "\n")
    second.write_text(S("GPGGA,120001.00,3230.000,N,11715.000,W,1,09,0.9,10.0,M,-35.0,M,,") + "\n")
    dated = reader.read_nmea([first, second])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(nmeascan, "available", lambda: False)
        reference = reader.read_nmea([first, second])
    assert +dated.counts == +reference.counts
    np.testing.assert_array_equal(dated.fixes["day"], reference.fixes["day"])


def test_the_switch_turns_the_library_off(monkeypatch):
    monkeypatch.setattr(nmeascan, "_lib", None)
    monkeypatch.setattr(nmeascan, "_tried", False)
    monkeypatch.setenv("QUAYSIDE_NMEA_SCAN", "off")
    assert not nmeascan.available()
    monkeypatch.setenv("QUAYSIDE_NMEA_SCAN", "1")
    monkeypatch.setattr(nmeascan, "_tried", False)
    assert nmeascan.available()


@pytest.mark.parametrize("block", [4096, 100, 7])
def test_the_memory_map_cuts_the_same_blocks_as_reading(tmp_path, block):
    """The compiled scanner reads a memory map; its blocks are the numpy reader's, byte for byte, and the
    bytes after a block that is not copied begin after its line end."""
    rng = random.Random(block)
    cases = [b"", b"\n", b"no newline at all", b"a\nb", b"line\n" * 3000, b"x" * (5 * block) + b"\nend\n"]
    cases.append(bytes(rng.choice(b"ab\n$,") for _ in range(20000)))
    cases.append(b"y" * (4 * block + 3))  # longer than four blocks, no line end
    for i, data in enumerate(cases):
        path = tmp_path / f"case{i}.nmea"
        path.write_bytes(data)
        read = [bytes(buf[:n]) for buf, n in reader._blocks(path, block)]
        mapped = []
        for buf, n in reader._mapped_blocks(path, block):
            mapped.append(bytes(buf[:n]))
            assert buf[n - 1] == ord("\n") or (len(buf) >= n + 256 and not buf[n : n + 256].any())
        assert mapped == read, i


@pytest.mark.parametrize("every", [40, None])
def test_two_threads_read_as_one_when_dates_come_seldom_or_never(tmp_path, every):
    """A long file is read in two halves on two threads; the second half's first blocks wait for a date
    of their own (here from a ZDA every ``every`` epochs, or never) and are read again after the first
    half. The result is the one-thread, in-order reading's (the numpy reader's)."""
    lines = []
    for i, line in enumerate(synthetic.lines(START, 3000, zda=False, prefix=None)):
        if line.startswith("$GPRMC"):
            continue
        if every and i % (2 * every) == 0:
            hms = line.split(",")[1]
            lines.append(S(f"GPZDA,{hms},02,03,2024,00,00"))
        lines.append(line)
    path = tmp_path / "seldom.nmea"
    path.write_text("\n".join(lines) + "\n")
    assert len(list(reader._MappedFile(path).plan(2048))) >= 2 * reader.PARALLEL_BLOCKS
    c = assert_same(path, blocks=(2048, 500))
    assert ((c.fixes["day"] >= 0).mean() > 0.9) == bool(every)
