"""MD5 of several messages at once, one message per SIMD lane (``md5lanes.c``), loaded with ctypes.

OpenSSL's MD5 runs at about 740 MiB/s a core and cannot be split within a file; the lanes run 16 messages
through a core's vector unit together, about 9 GiB/s a core with AVX-512 (docs/deliveries.md). The
inventory uses them for the MD5 of many files: ``md5_many`` for small files read whole (a helper's batch),
``Md5Lanes`` for large files read chunk by chunk side by side (``apps.deliveries.hashproc.hash_in_lanes``).
SHA-256 and SHA-1 stay hashlib's (with the CPU's SHA extensions they are not the slow part).

The library is compiled from ``md5lanes.c`` by ``python -m portal.native`` (``make install`` runs it; a C
compiler is needed, ``cc``). Without it — no compiler, another byte order — ``available()``
is False and callers use hashlib: the same digests, slower. This module imports neither Django nor
``portal`` (the inventory's helper processes import it).
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "md5lanes.c"
LIBRARY = HERE / "_md5lanes.so"
INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
OFF = ("0", "false", "no", "off", "")  # portal.settings.FALSE_WORDS, which checks the variable at start

_lib = None
_tried = False


def _load():
    global _lib, _tried
    if not _tried:  # two threads may both load it the first time: the same library, no harm
        lib = None
        if (
            sys.byteorder == "little"
            and LIBRARY.exists()
            and os.environ.get("QUAYSIDE_MD5_LANES", "1").strip().lower() not in OFF
        ):
            lib = ctypes.CDLL(str(LIBRARY))
            lib.md5_blocks.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            lib.md5_blocks.restype = None
        _lib, _tried = lib, True  # never "tried" with the library still on its way
    return _lib


def available() -> bool:
    """Whether the lanes are built and may be used (``QUAYSIDE_MD5_LANES=0`` turns them off)."""
    return _load() is not None


def _address(buffer) -> int:
    """The address of a bytes object's data, or of a writable buffer's (bytearray, mmap, their views)."""
    if isinstance(buffer, bytes):
        return ctypes.cast(ctypes.c_char_p(buffer), ctypes.c_void_p).value or 0
    view = memoryview(buffer)
    if not len(view):
        return 0
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def _padding(tail, total: int) -> bytes:
    """The last block or two of a message: its last ``total % 64`` bytes, 0x80, zeros, the bit length."""
    return (
        bytes(tail) + b"\x80" + b"\0" * ((55 - len(tail)) % 64) + struct.pack("<Q", (8 * total) & (2**64 - 1))
    )


def _hex(states, i: int) -> str:
    return struct.pack("<4I", *states[4 * i : 4 * i + 4]).hex()


def _run(states, pieces: list[tuple[int, object, int]]) -> None:
    """Run ``(lane, buffer, blocks)`` through the lanes' ``states`` in one call. ``states`` is reordered
    per call so that lanes of similar length share a vector (a lane done early idles until its group
    ends): the pieces are sorted by length and their states gathered and scattered."""
    pieces = [
        (
            lane,
            buffer if isinstance(buffer, bytes) or not memoryview(buffer).readonly else bytes(buffer),
            blocks,
        )
        for lane, buffer, blocks in pieces
        if blocks
    ]  # a read-only view (of bytes) is copied once: ctypes takes the address of bytes or writable memory
    if not pieces:
        return
    pieces.sort(key=lambda p: p[2])
    n = len(pieces)
    sub = (ctypes.c_uint32 * (4 * n))()
    pointers = (ctypes.c_void_p * n)()
    counts = (ctypes.c_uint64 * n)()
    for j, (lane, buffer, blocks) in enumerate(pieces):
        sub[4 * j : 4 * j + 4] = states[4 * lane : 4 * lane + 4]
        pointers[j] = _address(buffer)
        counts[j] = blocks
    _lib.md5_blocks(sub, pointers, counts, n)  # ctypes lets go of the GIL for the call
    for j, (lane, _, _) in enumerate(pieces):
        states[4 * lane : 4 * lane + 4] = sub[4 * j : 4 * j + 4]


def md5_many(messages: list) -> list[str]:
    """The MD5 (hex) of each message (bytes, bytearray or a view of one), in one pass over them all."""
    _load()
    n = len(messages)
    states = (ctypes.c_uint32 * (4 * n))(*(INIT * n))
    _run(states, [(i, m, len(m) // 64) for i, m in enumerate(messages)])
    pads = [_padding(memoryview(m)[len(m) // 64 * 64 :], len(m)) for m in messages]
    _run(states, [(i, pad, len(pad) // 64) for i, pad in enumerate(pads)])
    return [_hex(states, i) for i in range(n)]


class Md5Lanes:
    """The MD5 states of ``width`` messages fed side by side, chunk by chunk.

    ``update({lane: buffer})`` runs each buffer through its lane's state, all in one call; a buffer's
    length must be a multiple of 64 (keep the rest for the next chunk). ``final(lane, tail, total)`` pads
    the message (its last ``total % 64`` bytes are ``tail``), gives its MD5 and clears the lane for the
    next message."""

    def __init__(self, width: int):
        _load()
        self.width = width
        self.states = (ctypes.c_uint32 * (4 * width))(*(INIT * width))

    def update(self, chunks: dict[int, object]) -> None:
        pieces = []
        for lane, buffer in chunks.items():
            size = len(buffer)
            if size % 64:
                raise ValueError(f"lane {lane}: {size} bytes is not a whole number of blocks")
            pieces.append((lane, buffer, size // 64))
        _run(self.states, pieces)

    def final(self, lane: int, tail, total: int) -> str:
        pad = _padding(tail, total)
        _run(self.states, [(lane, pad, len(pad) // 64)])
        digest = _hex(self.states, lane)
        self.states[4 * lane : 4 * lane + 4] = INIT
        return digest


def build(target: Path = LIBRARY) -> bool:
    """Compile ``md5lanes.c`` into ``target`` (``portal.native``, where both C libraries are built)."""
    from portal import native  # only here: the helper processes that load the library never build it

    return native.build(SOURCE, target)
