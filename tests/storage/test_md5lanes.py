"""MD5 in SIMD lanes (``apps/storage/md5lanes.c``): the same digests as hashlib for every length, for
messages of unequal lengths side by side, fed whole or chunk by chunk; built by ``make`` where there is a C
compiler, and never a failure where there is none."""

from __future__ import annotations

import hashlib
import random
import sysconfig

import pytest

from apps.storage import md5lanes
from tests.conftest import require_system


@pytest.fixture(autouse=True)
def lanes():
    require_system("the MD5 lanes library", md5lanes.available(), "make install (needs a C compiler, cc)")


def test_every_length_up_to_300_bytes_and_a_few_large_ones_give_hashlibs_digest():
    rng = random.Random(7)
    messages = [rng.randbytes(n) for n in range(301)] + [
        rng.randbytes(n) for n in (4095, 4096, 4097, 1 << 20)
    ]
    rng.shuffle(messages)  # unequal lengths side by side, more than one group of 16 lanes
    assert md5lanes.md5_many(messages) == [hashlib.md5(m).hexdigest() for m in messages]


def test_bytearrays_and_views_read_only_or_not_are_taken_as_they_are():
    data = random.Random(8).randbytes(1000)
    kinds = [bytearray(data), memoryview(data)[3:900], memoryview(bytearray(data))[5:], b""]
    assert md5lanes.md5_many(kinds) == [hashlib.md5(bytes(k)).hexdigest() for k in kinds]


def test_messages_fed_chunk_by_chunk_side_by_side_give_hashlibs_digest():
    rng = random.Random(9)
    data = [rng.randbytes(rng.randint(0, 3_000_000)) for _ in range(6)]
    lanes = md5lanes.Md5Lanes(len(data))
    at, carry, digests = [0] * 6, [b""] * 6, [None] * 6
    while None in digests:
        chunks = {}
        for i, message in enumerate(data):
            if digests[i] is None:
                piece = carry[i] + message[at[i] : at[i] + rng.randint(0, 200_000)]
                at[i] += len(piece) - len(carry[i])
                whole = len(piece) - len(piece) % 64
                chunks[i], carry[i] = bytearray(piece[:whole]), piece[whole:]
        lanes.update(chunks)
        for i, message in enumerate(data):
            if digests[i] is None and at[i] >= len(message):
                digests[i] = lanes.final(i, carry[i], len(message))
    assert digests == [hashlib.md5(m).hexdigest() for m in data]
    with pytest.raises(ValueError, match="not a whole number of blocks"):
        lanes.update({0: bytearray(65)})


def test_a_lane_starts_afresh_after_its_final_digest():
    lanes = md5lanes.Md5Lanes(2)
    lanes.update({0: bytearray(b"x" * 128)})
    assert lanes.final(0, b"", 128) == hashlib.md5(b"x" * 128).hexdigest()
    assert lanes.final(0, b"abc", 3) == hashlib.md5(b"abc").hexdigest()


def test_building_needs_a_compiler_and_without_one_says_so_and_leaves_nothing(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "build"
    folder.mkdir()
    built = folder / "lanes.so"
    assert md5lanes.build(built) and built.stat().st_size > 0
    monkeypatch.setattr(sysconfig, "get_config_var", lambda name: "/nonexistent/cc")
    assert md5lanes.build(folder / "missing.so") is False
    err = capsys.readouterr().err
    assert "missing.so not built" in err and "the Python path is used" in err
    assert list(folder.iterdir()) == [built]
