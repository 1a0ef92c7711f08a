"""CSV → Parquet, typed from the EML attribute list, streaming, deterministic.

The table checker's streaming read (``apps.packages.tablecheck.check_table`` with a ``sink``) checks and
converts in one pass: each batch arrives typed by ``tablecheck.column_type`` (the one set of typing rules)
and is written here. A table whose check finds anything wrong (an unreadable file, rows with the wrong
number of fields, values that do not match their attribute) gets no Parquet: ``ConversionRefused``.

Determinism — the same input and the same converter give the same bytes:

- fixed writer options (``WRITER_OPTIONS``), zstd at a fixed level;
- row groups of exactly ``ROW_GROUP_ROWS`` rows (the last one shorter), whatever the CSV reader's blocks;
- enumerated codes dictionary-encoded over the declared codes in declared order, not in data order;
- no timestamps in the file, and the footer's ``created_by`` set to ``quayside-parquet version N``
  instead of the writer library's version (pyarrow has no option for it; see ``_set_created_by``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from apps.packages.eml.extract import AttributeDecl, EntityDecl
from apps.packages.tablecheck import BLOCK_SIZE, TableResult, TableSink, check_table, column_type

# Bump when the bytes this module writes change for the same input (options, metadata, typing rules):
# it is written into every file and its manifest.
CONVERTER_VERSION = "1"
CREATED_BY = f"quayside-parquet version {CONVERTER_VERSION}"
ROW_GROUP_ROWS = 1 << 18
# Dictionary encoding only where values repeat (codes, text, dates: ``_dictionary_columns``): on
# measured numbers it only costs time (twice the write time) and makes the file larger.
WRITER_OPTIONS = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 1,
    "write_statistics": True,
    "data_page_version": "1.0",
    "store_schema": True,
    "write_page_index": False,
    "write_page_checksum": False,
}
MEDIA_TYPE = "application/vnd.apache.parquet"


class ConversionRefused(ValueError):
    """The table does not match its attribute list; the message says what is wrong (no file is kept)."""


@dataclass
class Conversion:
    rows: int
    row_groups: int
    check: TableResult


def _field_metadata(attr: AttributeDecl) -> dict[bytes, bytes]:
    items = {
        "eml:attributeName": attr.name,
        "eml:attributeDefinition": attr.definition,
        "eml:measurementScale": attr.scale,
        "eml:numberType": attr.number_type,
        "eml:unit": attr.unit,
        "eml:formatString": attr.format_string,
        "eml:missingValueCodes": json.dumps(attr.missing_codes) if attr.missing_codes else "",
    }
    return {k.encode(): v.encode() for k, v in items.items() if v}


def schema_for(decl: EntityDecl, *, source_sha256: str, package_id: str = "") -> pa.Schema:
    """The Parquet schema of a table: one field per attribute (its name, its ``column_type``), the EML
    definition, unit, scale and missing-value codes as field metadata, the source as file metadata."""
    fields, seen = [], set()
    for i, attr in enumerate(decl.attributes):
        name = attr.name or f"column_{i + 1}"
        while name in seen:  # EML does not forbid two attributes of one name; Parquet readers want unique
            name += "_"
        seen.add(name)
        fields.append(pa.field(name, column_type(attr), nullable=True, metadata=_field_metadata(attr)))
    file_meta = {
        "quayside:converter": CREATED_BY,
        "quayside:source_sha256": source_sha256,
        "quayside:source": decl.filename,
        "quayside:entity_id": decl.entity_id,
        "quayside:entity_name": decl.name,
        "quayside:package_id": package_id,
    }
    return pa.schema(fields, metadata={k: v for k, v in file_meta.items() if v})


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    return [
        f.name
        for f in schema
        if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type) or pa.types.is_date(f.type)
    ]


class _ParquetSink(TableSink):
    """Writes the converted batches in row groups of exactly ROW_GROUP_ROWS rows.

    Row groups are encoded and compressed by a writer thread (pyarrow releases the GIL) while the
    reader parses and checks the next blocks; the queue between them holds at most two row groups, so
    memory stays bounded, and keeps their order, so the bytes do not depend on the timing."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_rows: int):
        self.path, self.schema, self.row_group_rows = path, schema, row_group_rows
        self.writer: pq.ParquetWriter | None = None
        self.thread: threading.Thread | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.pending: list[pa.RecordBatch] = []
        self.buffered = self.rows = self.row_groups = 0

    def start(self) -> None:
        self.close()
        self.writer = pq.ParquetWriter(
            self.path, self.schema, use_dictionary=_dictionary_columns(self.schema), **WRITER_OPTIONS
        )
        self.queue, self.error = queue.Queue(maxsize=2), None
        self.thread = threading.Thread(target=self._write_groups, name="parquet-writer", daemon=True)
        self.thread.start()
        self.pending, self.buffered, self.rows, self.row_groups = [], 0, 0, 0

    def _write_groups(self) -> None:
        writer = self.writer
        while (table := self.queue.get()) is not None:
            if self.error is None:
                try:
                    writer.write_table(table, row_group_size=table.num_rows)
                except BaseException as exc:  # reported by finish(); keep draining so the reader never blocks
                    self.error = exc

    def write(self, arrays: list[pa.Array]) -> None:
        batch = pa.RecordBatch.from_arrays(arrays, schema=self.schema)
        self.pending.append(batch)
        self.buffered += batch.num_rows
        while self.buffered >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, n: int) -> None:
        if self.error is not None:
            raise self.error
        table = pa.Table.from_batches(self.pending, self.schema)
        self.queue.put(table.slice(0, n))
        rest = table.slice(n)
        self.pending, self.buffered = rest.to_batches(), rest.num_rows
        self.rows += n
        self.row_groups += 1

    def finish(self) -> None:
        if self.writer is None:  # an empty table: the reader never started
            self.start()
        if self.buffered:
            self._flush(self.buffered)
        self.close()

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.error is not None:
            error, self.error = self.error, None
            raise error


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _set_created_by(path: Path, created_by: str) -> None:
    """Replace the footer's ``created_by`` (the writer library's name and version) with ours.

    pyarrow offers no option for it, and the library's version must not change the bytes of a file
    Quayside rebuilds. The footer is Thrift compact FileMetaData, in which ``created_by`` is one string
    field: its length-prefixed bytes are replaced, the footer length rewritten, and the result read back.
    Column chunk offsets point before the footer and do not move."""
    old = pq.ParquetFile(path).metadata.created_by.encode()
    with open(path, "r+b") as fh:
        fh.seek(-8, 2)
        footer_len, magic = struct.unpack("<I4s", fh.read(8))
        if magic != b"PAR1":
            raise ValueError(f"{path} is not a Parquet file")
        end = fh.tell() - 8
        fh.seek(end - footer_len)
        footer = fh.read(footer_len)
        needle = _varint(len(old)) + old
        if footer.count(needle) != 1:
            raise ValueError(f"cannot find created_by in the footer of {path}")
        new = footer.replace(needle, _varint(len(created_by.encode())) + created_by.encode())
        fh.seek(end - footer_len)
        fh.write(new + struct.pack("<I", len(new)) + b"PAR1")
        fh.truncate()
    if pq.ParquetFile(path).metadata.created_by != created_by:
        raise ValueError(f"created_by of {path} could not be set")


def convert_table(
    csv_path: str | Path,
    decl: EntityDecl,
    out_path: str | Path,
    *,
    source_sha256: str,
    package_id: str = "",
    block_size: int = BLOCK_SIZE,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> Conversion:
    """Check ``csv_path`` against ``decl`` and write it as Parquet to ``out_path`` in the same read.

    Raises ConversionRefused (and leaves no file) when the check finds anything wrong."""
    out_path = Path(out_path)
    schema = schema_for(decl, source_sha256=source_sha256, package_id=package_id)
    sink = _ParquetSink(out_path, schema, row_group_rows)
    try:
        result = check_table(csv_path, decl, block_size=block_size, sink=sink)
        problem = _problem(result)
        if problem:
            raise ConversionRefused(f"{decl.filename}: {problem}; no Parquet is made.")
        sink.finish()
        _set_created_by(out_path, CREATED_BY)
    except BaseException:
        with contextlib.suppress(Exception):  # the error that brought us here is the one to report
            sink.close()
        out_path.unlink(missing_ok=True)
        raise
    return Conversion(rows=sink.rows, row_groups=sink.row_groups, check=result)


def _problem(result: TableResult) -> str:
    if result.fatal:
        return result.fatal
    if result.bad_row_count:
        return f"{result.bad_row_count:,} rows have the wrong number of fields"
    if result.columns:
        return "values that do not match their attribute in " + ", ".join(
            f"{name} ({issues.count:,})" for name, issues in result.columns.items()
        )
    return ""


def writer_config(entity_id: str) -> dict:
    """The configuration a Parquet build records in its manifest (and a rebuild reads back)."""
    return {
        "entity_id": entity_id,
        "converter": CREATED_BY,
        "row_group_rows": ROW_GROUP_ROWS,
        "block_size": BLOCK_SIZE,
        "writer_options": WRITER_OPTIONS,
        "dictionary": "codes, text and dates",
    }
