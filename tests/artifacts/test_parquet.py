"""CSV → Parquet typed from the EML: types, nulls, metadata, determinism, refusal of bad tables."""

from __future__ import annotations

import datetime
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.artifacts.parquet import CREATED_BY, ConversionRefused, convert_table
from apps.packages.eml.build import Column, Table, build_eml
from apps.packages.eml.extract import extract
from apps.packages.eml.validator import validate_eml

UTC = datetime.UTC
COLUMNS = [
    Column("id", "natural"),
    Column("count", "int", unit="number", missing=["-9999"]),
    Column("temp", "real", unit="celsius", missing=["NA", "-99.9"]),
    Column("flag", "code", codes=["good", "bad", "unknown"], missing=["NA"]),
    Column("day", "date", format="YYYY-MM-DD", missing=["NA"]),
    Column("utc", "date", format="YYYY-MM-DDThh:mm:ssZ"),
    Column("local", "date", format="YYYY-MM-DDThh:mm:ss+hh:mm"),
    Column("naive", "date", format="YYYY-MM-DD hh:mm:ss"),
    Column("note", missing=["n/a"]),
]
CSV = (
    "id,count,temp,flag,day,utc,local,naive,note\n"
    "1,5,12.5,bad,2024-02-29,2024-03-01T10:00:00Z,2024-03-01T10:00:00+01:00,2024-03-01 10:00:00,first\n"
    "2,-9999,NA,NA,NA,2024-03-01T23:59:59Z,2024-03-01T10:00:00-02:30,2024-03-01 11:00:00,n/a\n"
    '3, 7 ,-99.9,good,,2024-03-02T00:00:00Z,2024-03-02T00:00:00+00:00,2024-03-01 12:00:00,"a, quoted"\n'
)


def table_decl(tmp_path, columns=COLUMNS, text=CSV, name="t.csv", encoding=""):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    table = Table("t", "table", columns, url="https://x.org/t.csv", encoding=encoding)
    result = validate_eml(build_eml("edi.9.1", [table]))
    assert result.valid, result.reasons
    return path, extract(result.tree).entities[0]


def test_types_nulls_and_metadata_follow_the_eml(tmp_path):
    path, decl = table_decl(tmp_path)
    out = tmp_path / "t.parquet"
    conversion = convert_table(path, decl, out, source_sha256="ab" * 32, package_id="edi.9.1")
    assert conversion.rows == 3
    parquet = pq.ParquetFile(out)
    schema = parquet.schema_arrow
    assert schema.field("id").type == pa.int64() and schema.field("count").type == pa.int64()
    assert schema.field("temp").type == pa.float64()
    assert schema.field("flag").type == pa.dictionary(pa.int32(), pa.string())
    assert schema.field("day").type == pa.date32()
    assert schema.field("utc").type.tz == "UTC" and schema.field("local").type.tz == "UTC"
    assert pa.types.is_timestamp(schema.field("naive").type) and schema.field("naive").type.tz is None
    data = pq.read_table(out).to_pydict()
    assert data["count"] == [5, None, 7]  # -9999 is missing; " 7 " is 7
    assert data["temp"] == [12.5, None, None]  # NA and -99.9 are both missing codes
    assert data["flag"] == ["bad", None, "good"]
    assert data["day"] == [datetime.date(2024, 2, 29), None, None]
    assert data["utc"][1] == datetime.datetime(2024, 3, 1, 23, 59, 59, tzinfo=UTC)
    # Offsets are applied: 10:00+01:00 is 09:00 UTC, 10:00-02:30 is 12:30 UTC.
    assert [t.astimezone(UTC).time() for t in data["local"]] == [
        datetime.time(9, 0),
        datetime.time(12, 30),
        datetime.time(0, 0),
    ]
    assert data["note"] == ["first", None, "a, quoted"]
    # The dictionary is the declared code list in declared order, whatever the data's order.
    flags = pq.read_table(out).column("flag").combine_chunks()
    assert flags.dictionary.to_pylist() == ["good", "bad", "unknown"]
    # EML definitions, units, missing codes as column metadata; the source's SHA-256 as file metadata.
    temp = schema.field("temp").metadata
    assert temp[b"eml:unit"] == b"celsius" and temp[b"eml:attributeDefinition"] == b"temp"
    assert json.loads(temp[b"eml:missingValueCodes"]) == ["NA", "-99.9"]
    assert schema.field("utc").metadata[b"eml:formatString"] == b"YYYY-MM-DDThh:mm:ssZ"
    meta = parquet.metadata.metadata
    assert meta[b"quayside:source_sha256"] == b"ab" * 32 and meta[b"quayside:package_id"] == b"edi.9.1"
    assert parquet.metadata.created_by == CREATED_BY
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"


def test_fractions_of_seconds_keep_their_precision_and_month_names_are_dates(tmp_path):
    columns = [
        Column("ms", "date", format="YYYY-MM-DDThh:mm:ss.sss"),
        Column("us", "date", format="YYYY-MM-DDThh:mm:ss.ssssss+hh:mm"),
        Column("ns", "date", format="hh:mm:ss.sssssssss"),
        Column("clock", "date", format="hh:mm:ss.s"),
        Column("day", "date", format="YYYY-MMM-DD"),
    ]
    text = (
        "ms,us,ns,clock,day\n"
        "2024-03-01T10:00:00.5,2024-03-01T10:00:00.000001+01:00,23:59:59.123456789,09:13:45.4,2002-OCT-14\n"
        "2024-03-01T10:00:01,2024-03-01T10:00:00-02:30,00:00:00,09:13:45,2002-Oct-15\n"
    )
    path, decl = table_decl(tmp_path, columns=columns, text=text)
    out = tmp_path / "f.parquet"
    convert_table(path, decl, out, source_sha256="ef" * 32)
    schema = pq.read_schema(out)
    assert schema.field("ms").type == pa.timestamp("ms")
    assert schema.field("us").type == pa.timestamp("us", tz="UTC")
    assert schema.field("ns").type == pa.time64("ns") and schema.field("clock").type == pa.time32("ms")
    assert schema.field("day").type == pa.date32()
    table = pq.read_table(out)
    data = table.to_pydict()
    assert data["ms"] == [
        datetime.datetime(2024, 3, 1, 10, 0, 0, 500000),
        datetime.datetime(2024, 3, 1, 10, 0, 1),
    ]
    assert data["us"] == [
        datetime.datetime(2024, 3, 1, 9, 0, 0, 1, tzinfo=UTC),
        datetime.datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
    ]
    assert table.column("ns").cast(pa.int64()).to_pylist() == [86399123456789, 0]  # every nanosecond kept
    assert data["clock"] == [datetime.time(9, 13, 45, 400000), datetime.time(9, 13, 45)]
    assert data["day"] == [datetime.date(2002, 10, 14), datetime.date(2002, 10, 15)]


def test_a_latin_1_table_becomes_utf_8_parquet(tmp_path):
    columns = [Column("station"), Column("temp", "real", unit="celsius")]
    text = "station,temp\nSt. Lawrence à Québec,4.5\nBaie-Comeau °N,3\n".encode("latin-1")
    path, decl = table_decl(tmp_path, columns=columns, text=text, encoding="ISO-8859-1")
    out = tmp_path / "l.parquet"
    convert_table(path, decl, out, source_sha256="12" * 32)
    assert pq.read_table(out).to_pydict() == {
        "station": ["St. Lawrence à Québec", "Baie-Comeau °N"],
        "temp": [4.5, 3.0],
    }


def test_two_conversions_are_byte_identical_whatever_the_read_blocks(tmp_path):
    rows = "".join(
        f"{i},{i % 7},{i / 3:.3f},{['good', 'bad', 'unknown'][i % 3]},2024-01-{1 + i % 28:02d},"
        f"2024-01-01T{i % 24:02d}:00:00Z,2024-01-01T00:00:00+01:00,2024-01-01 00:00:00,row {i}\n"
        for i in range(1, 3001)
    )
    path, decl = table_decl(tmp_path, text=CSV.splitlines(keepends=True)[0] + rows)
    outs = []
    for n, block in enumerate((4096, 1 << 20, 4096)):
        out = tmp_path / f"{n}.parquet"
        conversion = convert_table(
            path, decl, out, source_sha256="cd" * 32, block_size=block, row_group_rows=1000
        )
        assert conversion.row_groups == 3
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    assert pq.ParquetFile(tmp_path / "0.parquet").metadata.num_row_groups == 3


def test_a_table_that_does_not_match_its_attributes_gets_no_parquet(tmp_path):
    path, decl = table_decl(tmp_path, text=CSV.replace("12.5", "warm"))
    out = tmp_path / "bad.parquet"
    with pytest.raises(ConversionRefused, match="temp"):
        convert_table(path, decl, out, source_sha256="ef" * 32)
    assert not out.exists()


def test_a_space_aligned_table_with_collapsed_delimiters_converts(tmp_path):
    columns = [Column("station"), Column("depth", "real", unit="meter")]
    text = "station   depth\n  A1      10.5\n  B22    120.0  \n"
    path = tmp_path / "a.txt"
    path.write_text(text)
    table = Table("a", "aligned", columns, url="https://x.org/a.txt", delimiter=" ", collapse_delimiters=True)
    result = validate_eml(build_eml("edi.9.2", [table]))
    assert result.valid, result.reasons
    out = tmp_path / "a.parquet"
    convert_table(path, extract(result.tree).entities[0], out, source_sha256="34" * 32)
    assert pq.read_table(out).to_pydict() == {"station": ["A1", "B22"], "depth": [10.5, 120.0]}
