"""Parquet files joined by copying their encoded row groups: nothing is decoded or encoded again.

The served catalog is stitched from its segment files after every change. pyarrow cannot append another
file's encoded row groups: its writer decodes and re-encodes every value, about 6 s of one core at a
million rows (bench/bench_catalog.py), which was all of a release's wait and a tenth of a full build. A
Parquet file is ``PAR1``, its column chunks, then a footer: a Thrift compact-protocol ``FileMetaData``
whose column chunks give their pages' absolute offsets in the file. Joining files is copying their
column chunks one after another and writing one footer whose row groups are theirs with those offsets
moved (https://github.com/apache/parquet-format: "File format", ``parquet.thrift``).

Written here, not taken from a library: the footer's Thrift compact codec. It is generic: every field
is kept with its wire type, so the footers pyarrow writes come back byte for byte, fields this code does
not know included (``tests/catalog/test_rowgroups.py``). thriftpy2 needs the Parquet IDL and drops the
fields its copy lacks; fastparquet's codec writes no field id above 13 (ColumnMetaData's bloom filter
and size statistics, among others) and guesses integer widths. The only fields interpreted are the
offsets moved and the few checked; files with a page index, bloom filters or encryption are refused
(the catalog's writer writes none, and their offsets live outside the footer).
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path
from typing import BinaryIO

MAGIC = b"PAR1"

# Compact protocol wire types (Thrift's TCompactProtocol).
TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(1, 13)

# Field ids in parquet.thrift.
FMD_SCHEMA, FMD_NUM_ROWS, FMD_ROW_GROUPS, FMD_ENCRYPTION = 2, 3, 4, 8
RG_COLUMNS, RG_FILE_OFFSET, RG_ORDINAL = 1, 5, 7
CC_FILE_OFFSET, CC_META, CC_OFFSET_INDEX, CC_COLUMN_INDEX, CC_CRYPTO, CC_ENCRYPTED_META = 2, 3, 4, 6, 8, 9
CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICTIONARY_PAGE, CMD_BLOOM_FILTER = 9, 10, 11, 14


class NotJoinable(ValueError):
    """A file this module will not join (says which and why)."""


# --- the codec ----------------------------------------------------------------------------------------
# A struct is a list of [field id, wire type, value]; a list or set is (element type, [values]); a map is
# (key type, value type, [(key, value)]); booleans are their wire type (TRUE/FALSE), a double its 8 raw
# bytes, integers Python ints, binary bytes.


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = memoryview(data), 0

    def byte(self) -> int:
        self.at += 1
        return self.data[self.at - 1]

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise NotJoinable("the footer ends inside a value")
        self.at += n
        return bytes(self.data[self.at - n : self.at])

    def value(self, wire: int):
        if wire in (TRUE, FALSE):  # in a struct the type is the value; in a list, a byte of its own
            return wire
        if wire == BYTE:
            return self.byte()
        if wire in (I16, I32, I64):
            return self.zigzag()
        if wire == DOUBLE:
            return self.take(8)
        if wire == BINARY:
            return self.take(self.varint())
        if wire in (LIST, SET):
            head = self.byte()
            size, element = head >> 4, head & 0x0F
            if size == 0x0F:
                size = self.varint()
            if element in (TRUE, FALSE):
                return element, [self.byte() for _ in range(size)]
            return element, [self.value(element) for _ in range(size)]
        if wire == MAP:
            size = self.varint()
            if not size:
                return 0, 0, []
            types = self.byte()
            k, v = types >> 4, types & 0x0F
            return k, v, [(self.value(k), self.value(v)) for _ in range(size)]
        if wire == STRUCT:
            return self.struct()
        raise NotJoinable(f"unknown Thrift compact type {wire} at byte {self.at}")

    def struct(self) -> list:
        fields, last = [], 0
        while True:
            head = self.byte()
            if head == 0:
                return fields
            delta, wire = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            fields.append([fid, wire, self.value(wire)])
            last = fid


def _varint(n: int, out: bytearray) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int, out: bytearray) -> None:
    _varint((n << 1) ^ (n >> 63), out)


def _write_value(wire: int, value, out: bytearray) -> None:
    if wire in (TRUE, FALSE):
        return
    if wire == BYTE:
        out.append(value)
    elif wire in (I16, I32, I64):
        _zigzag(value, out)
    elif wire == DOUBLE:
        out += value
    elif wire == BINARY:
        _varint(len(value), out)
        out += value
    elif wire in (LIST, SET):
        element, values = value
        if len(values) < 15:
            out.append(len(values) << 4 | element)
        else:
            out.append(0xF0 | element)
            _varint(len(values), out)
        for v in values:
            if element in (TRUE, FALSE):
                out.append(v)
            else:
                _write_value(element, v, out)
    elif wire == MAP:
        k, v, pairs = value
        _varint(len(pairs), out)
        if pairs:
            out.append(k << 4 | v)
            for key, val in pairs:
                _write_value(k, key, out)
                _write_value(v, val, out)
    elif wire == STRUCT:
        _write_struct(value, out)
    else:
        raise NotJoinable(f"unknown Thrift compact type {wire}")


def _write_struct(fields: list, out: bytearray) -> None:
    last = 0
    for fid, wire, value in fields:
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | wire)
        else:
            out.append(wire)
            _zigzag(fid, out)
        _write_value(wire, value, out)
        last = fid
    out.append(0)


def decode(footer: bytes) -> list:
    reader = _Reader(footer)
    fields = reader.struct()
    if reader.at != len(footer):
        raise NotJoinable(f"{len(footer) - reader.at} bytes after the footer's FileMetaData")
    return fields


def encode(fields: list) -> bytes:
    out = bytearray()
    _write_struct(fields, out)
    return bytes(out)


# --- the join -----------------------------------------------------------------------------------------


def _field(fields: list, fid: int):
    for f in fields:
        if f[0] == fid:
            return f
    return None


def _set(fields: list, fid: int, wire: int, value) -> None:
    """Set field ``fid`` (added in id order when absent)."""
    found = _field(fields, fid)
    if found is not None:
        found[1], found[2] = wire, value
        return
    fields.append([fid, wire, value])
    fields.sort(key=lambda f: f[0])


def read_footer(path: Path) -> tuple[list, int]:
    """The decoded ``FileMetaData`` of a Parquet file and where it starts (the end of its column chunks)."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < 12:
            raise NotJoinable(f"{path.name}: {size} bytes is too short for Parquet")
        fh.seek(0)
        head = fh.read(4)
        fh.seek(size - 8)
        tail = fh.read(8)
        length = struct.unpack("<I", tail[:4])[0]
        if head != MAGIC or tail[4:] != MAGIC:
            raise NotJoinable(f"{path.name}: not a plain Parquet file (an encrypted footer or no PAR1 magic)")
        start = size - 8 - length
        if start < 4:
            raise NotJoinable(f"{path.name}: its footer length ({length}) does not fit the file")
        fh.seek(start)
        return decode(fh.read(length)), start


def _moved(row_group: list, delta: int, name: str) -> list:
    """The row group with every offset into its file moved by ``delta`` bytes."""
    for column in _field(row_group, RG_COLUMNS)[2][1]:
        for fid, why in (
            (CC_OFFSET_INDEX, "a page index"),
            (CC_COLUMN_INDEX, "a page index"),
            (CC_CRYPTO, "encryption"),
            (CC_ENCRYPTED_META, "encryption"),
        ):
            if _field(column, fid) is not None:
                raise NotJoinable(f"{name}: has {why}, which lies outside the row groups")
        offset = _field(column, CC_FILE_OFFSET)
        if offset is not None and offset[2]:  # 0: not set (a deprecated field)
            offset[2] += delta
        meta = _field(column, CC_META)
        if meta is None:
            raise NotJoinable(f"{name}: a column chunk without metadata in the footer")
        if _field(meta[2], CMD_BLOOM_FILTER) is not None:
            raise NotJoinable(f"{name}: has bloom filters, which lie outside the row groups")
        for fid in (CMD_DATA_PAGE, CMD_INDEX_PAGE, CMD_DICTIONARY_PAGE):
            page = _field(meta[2], fid)
            if page is not None:
                page[2] += delta
    offset = _field(row_group, RG_FILE_OFFSET)
    if offset is not None:
        offset[2] += delta
    return row_group


def join(sources: list[Path], template: Path, out: BinaryIO) -> tuple[int, str]:
    """Write into ``out`` one Parquet file holding every row group of ``sources``, in order, byte for
    byte, under the footer of ``template``: a file of no rows written with the joined file's schema and
    key/value metadata (so its schema, metadata and ``created_by`` are the writer's own). Every source
    must have the template's schema. Returns the rows and the SHA-256 of what was written."""
    footer, _ = read_footer(template)
    schema = encode([_field(footer, FMD_SCHEMA)])
    if _field(footer, FMD_ENCRYPTION) is not None:
        raise NotJoinable(f"{template.name}: encrypted")
    digest = hashlib.sha256()

    def write(data: bytes) -> None:
        out.write(data)
        digest.update(data)

    write(MAGIC)
    at, rows, groups = 4, 0, []
    for source in sources:
        fields, end = read_footer(source)
        if encode([_field(fields, FMD_SCHEMA)]) != schema:
            raise NotJoinable(f"{source.name}: its schema is not the joined file's")
        if _field(fields, FMD_ENCRYPTION) is not None:
            raise NotJoinable(f"{source.name}: encrypted")
        found = _field(fields, FMD_ROW_GROUPS)
        for group in found[2][1] if found else []:
            groups.append(_moved(group, at - 4, source.name))
        rows += _field(fields, FMD_NUM_ROWS)[2]
        with open(source, "rb") as fh:  # the column chunks: from after the magic to the footer
            fh.seek(4)
            remaining = end - 4
            while remaining:
                chunk = fh.read(min(remaining, 1 << 20))
                if not chunk:
                    raise NotJoinable(f"{source.name}: changed while it was read")
                write(chunk)
                remaining -= len(chunk)
        at += end - 4
    for i, group in enumerate(groups):
        if _field(group, RG_ORDINAL) is not None:
            _set(group, RG_ORDINAL, I16, i)
    _set(footer, FMD_NUM_ROWS, I64, rows)
    _set(footer, FMD_ROW_GROUPS, LIST, (STRUCT, groups))
    data = encode(footer)
    write(data + struct.pack("<I", len(data)) + MAGIC)
    return rows, digest.hexdigest()
