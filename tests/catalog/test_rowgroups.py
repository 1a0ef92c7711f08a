"""Parquet files joined by copying their encoded row groups (apps.catalog.rowgroups): the footer codec
keeps pyarrow's footers byte for byte, the joined file reads back as the sources' rows under the
template's schema and metadata, and what cannot be joined is refused with a reason."""

from __future__ import annotations

import hashlib
import io
import struct

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from apps.catalog import rowgroups

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("n", pa.int64()),
        ("x", pa.float64()),
        ("when", pa.timestamp("us", tz="UTC")),
        ("tags", pa.list_(pa.string())),
        ("box", pa.struct([("xmin", pa.float64()), ("xmax", pa.float64())])),
        ("flag", pa.bool_()),
        ("code", pa.dictionary(pa.int32(), pa.string())),
    ]
)


def _table(start: int, rows: int) -> pa.Table:
    ids = range(start, start + rows)
    return pa.table(
        {
            "id": [f"row-{i}" for i in ids],
            "n": [i if i % 7 else None for i in ids],
            "x": [i / 3 for i in ids],
            "when": [1_600_000_000_000_000 + i for i in ids],
            "tags": [[f"t{i % 5}"] * (i % 3) for i in ids],
            "box": [{"xmin": -i, "xmax": i} for i in ids],
            "flag": [i % 2 == 0 for i in ids],
            "code": pa.array([("a", "b", "c")[i % 3] for i in ids]).dictionary_encode(),
        },
        schema=SCHEMA,
    )


def _write(path, *tables, **options):
    with pq.ParquetWriter(path, SCHEMA, compression="zstd", **options) as writer:
        for table in tables:
            writer.write_table(table, row_group_size=table.num_rows)
    return path


def _footer(path) -> bytes:
    data = path.read_bytes()
    length = struct.unpack("<I", data[-8:-4])[0]
    return data[-8 - length : -8]


def test_the_codec_gives_back_pyarrows_footers_byte_for_byte(tmp_path):
    # Statistics, size statistics, dictionary pages, nested columns, key/value metadata: all kept.
    path = _write(tmp_path / "a.parquet", _table(0, 500), _table(500, 20))
    footer = _footer(path)
    assert rowgroups.encode(rowgroups.decode(footer)) == footer
    indexed = _write(tmp_path / "b.parquet", _table(0, 50), write_page_index=True)
    assert rowgroups.encode(rowgroups.decode(_footer(indexed))) == _footer(indexed)


def test_the_codec_keeps_every_wire_type_and_long_forms():
    T = rowgroups
    fields = [
        [1, T.TRUE, T.TRUE],
        [2, T.FALSE, T.FALSE],
        [3, T.BYTE, 200],
        [4, T.I16, -3],
        [5, T.I32, 2**31 - 1],
        [6, T.I64, -(2**62)],
        [7, T.DOUBLE, struct.pack("<d", 1.5)],
        [8, T.BINARY, b"\x00\xffbytes"],
        [9, T.LIST, (T.I64, list(range(-20, 20)))],  # more than 14 elements: the long list header
        [10, T.SET, (T.TRUE, [1, 2, 1])],  # booleans in a collection: one byte each
        [11, T.MAP, (T.BINARY, T.I32, [(b"k", 1), (b"l", -1)])],
        [12, T.MAP, (0, 0, [])],
        [40, T.STRUCT, [[1, T.BINARY, b"far"], [300, T.STRUCT, []]]],  # ids 16+ apart: the long field header
    ]
    data = T.encode(fields)
    assert T.decode(data) == fields
    assert T.encode(T.decode(data)) == data
    with pytest.raises(T.NotJoinable, match="bytes after"):
        T.decode(data + b"\x00")
    with pytest.raises(T.NotJoinable, match="ends inside"):
        T.decode(T.encode([[1, T.BINARY, b"abcdef"]])[:4])


def test_joined_files_read_back_as_their_rows_under_the_templates_footer(tmp_path):
    sources = [
        _write(tmp_path / "0.parquet", _table(0, 1000)),
        _write(tmp_path / "1.parquet", _table(1000, 300), _table(1300, 700)),
        _write(tmp_path / "2.parquet", _table(2000, 1)),
    ]
    meta = {b"geo": b'{"version": "1.1.0"}', b"note": b"joined"}
    template = tmp_path / "empty.parquet"
    pq.ParquetWriter(template, SCHEMA.with_metadata(meta), compression="zstd").close()
    out = io.BytesIO()
    rows, sha256 = rowgroups.join(sources, template, out)
    joined = tmp_path / "joined.parquet"
    joined.write_bytes(out.getvalue())

    assert rows == 2001
    assert sha256 == hashlib.sha256(out.getvalue()).hexdigest()
    expected = pa.concat_tables(pq.read_table(s) for s in sources)
    table = pq.read_table(joined)
    assert table.equals(expected.replace_schema_metadata(table.schema.metadata))
    assert {k: table.schema.metadata[k] for k in meta} == meta
    file = pq.ParquetFile(joined)
    assert file.metadata.num_row_groups == 4 and file.metadata.num_rows == 2001
    # Each row group reads alone (its moved offsets point at its pages) and keeps its statistics.
    source_groups = [(pq.ParquetFile(s), i) for s in sources for i in range(pq.ParquetFile(s).num_row_groups)]
    for k, (source, i) in enumerate(source_groups):
        assert file.read_row_group(k).equals(
            source.read_row_group(i).replace_schema_metadata(table.schema.metadata)
        )
        stats = file.metadata.row_group(k).column(1).statistics
        assert (stats.min, stats.max) == (
            source.metadata.row_group(i).column(1).statistics.min,
            source.metadata.row_group(i).column(1).statistics.max,
        )
    # A filtered read skips row groups by their statistics and finds the one row.
    found = ds.dataset(joined).to_table(filter=ds.field("id") == "row-1650")
    assert found.column("n").to_pylist() == [1650]


def test_what_cannot_be_joined_is_refused_with_a_reason(tmp_path):
    template = tmp_path / "empty.parquet"
    pq.ParquetWriter(template, SCHEMA).close()
    good = _write(tmp_path / "good.parquet", _table(0, 10))
    cases = {
        "page index": _write(tmp_path / "indexed.parquet", _table(0, 10), write_page_index=True),
        "schema": tmp_path / "other.parquet",
        "too short": tmp_path / "short.parquet",
        "not a plain Parquet": tmp_path / "csv.parquet",
        "does not fit": tmp_path / "lying.parquet",
    }
    pq.write_table(pa.table({"id": ["x"]}), cases["schema"])
    cases["too short"].write_bytes(b"PAR1PAR1")
    cases["not a plain Parquet"].write_bytes(b"id,n\n1,2\n" * 10)
    cases["does not fit"].write_bytes(b"PAR1" + b"\x00" * 20 + struct.pack("<I", 999) + b"PAR1")
    for reason, bad in cases.items():
        with pytest.raises(rowgroups.NotJoinable, match=reason) as caught:
            rowgroups.join([good, bad], template, io.BytesIO())
        assert bad.name in str(caught.value)
