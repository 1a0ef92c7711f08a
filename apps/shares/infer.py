"""The attribute list a quick share proposes for a CSV: column names from the header, and each column's type
inferred from **every** value, not the first rows.

``pyarrow.csv`` infers types from its first block only and then fails (or, with a fixed type, refuses) on a
later value that does not fit. So the file is read as text, block by block (``pyarrow.csv.open_csv``, never
the whole file in memory), and each block's column is cast to the narrowest type every one of its values
fits — integer, real, date, date-time, else text; the blocks' types are then unified
(integer + real → real, date + date-time → date-time, anything else mixed → text). The casts are
pyarrow's own (C++, vectorised), so a 1 GB file takes seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

# The EML kinds ``apps.packages.eml.build.Column`` writes, in the order a type widens.
INT, REAL, DATE, DATETIME, TEXT = "int", "real", "date", "datetime", "text"
KINDS = [(INT, "integer"), (REAL, "real number"), (DATE, "date"), (DATETIME, "date and time"), (TEXT, "text")]
DATE_FORMAT = {DATE: "YYYY-MM-DD", DATETIME: "YYYY-MM-DDThh:mm:ss"}
# Tokens read as "no value" (pyarrow's defaults without the surprising ones like "1.#IND").
NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL"]
BLOCK_SIZE = 1 << 20

_CASTS = [
    (INT, pa.int64()),
    (REAL, pa.float64()),
    (DATE, pa.date32()),
    (DATETIME, pa.timestamp("s")),
]


def unify(a: str | None, b: str | None) -> str | None:
    """The narrowest kind both ``a`` and ``b`` values fit (``None``: no value seen yet)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    pair = {a, b}
    if pair == {INT, REAL}:
        return REAL
    if pair == {DATE, DATETIME}:
        return DATETIME
    return TEXT


def _kind_of(column: pa.Array) -> str | None:
    """The narrowest kind every non-null value of a text column fits; ``None`` when all are null."""
    values = column.drop_null()
    if len(values) == 0:
        return None
    values = pc.utf8_trim_whitespace(values)
    for kind, arrow_type in _CASTS:
        try:
            pc.cast(values, arrow_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return kind
    return TEXT


@dataclass
class Attribute:
    name: str
    kind: str = TEXT
    unit: str = ""
    missing: str = ""  # a missing-value code the sharer adds ("-999")
    has_empty: bool = False  # some values are empty or NA

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Inferred:
    attributes: list[Attribute]
    records: int
    delimiter: str = ","


def _header(head: bytes) -> tuple[list[str], str]:
    """Column names and delimiter from the first line (the ``csv`` module reads quoted names correctly)."""
    first = head.decode("utf-8-sig", errors="replace").splitlines()[0] if head.strip() else ""
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    names = next(csv.reader([first], delimiter=delimiter), [])
    return [n.strip() for n in names], delimiter


def infer_csv(stream: BinaryIO) -> Inferred:
    """Read a CSV with a header line from ``stream`` (binary, read once, in blocks) and infer its columns.

    Raises ``ValueError`` with a message for the sharer when the file is not a readable CSV (the share
    then treats it as an ordinary file, not a table)."""
    head = stream.read(64 * 1024)
    names, delimiter = _header(head)
    if not names or len(set(names)) != len(names) or not all(names):
        raise ValueError("the first line is not a header of distinct, non-empty column names")
    with _on_disk(stream, head) as path:
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=BLOCK_SIZE, encoding="utf8"),
                parse_options=pacsv.ParseOptions(delimiter=delimiter),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    null_values=NULLS,
                    strings_can_be_null=True,
                ),
            )
            kinds: list[str | None] = [None] * len(names)
            empty = [False] * len(names)
            records = 0
            for batch in reader:
                records += batch.num_rows
                for i, column in enumerate(batch.columns):
                    kinds[i] = unify(kinds[i], _kind_of(column))
                    empty[i] = empty[i] or column.null_count > 0
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise ValueError(f"not a readable CSV: {exc}") from exc
    attributes = [
        Attribute(name=name, kind=kind or TEXT, has_empty=has_empty)
        for name, kind, has_empty in zip(names, kinds, empty, strict=True)
    ]
    return Inferred(attributes=attributes, records=records, delimiter=delimiter)


@contextlib.contextmanager
def _on_disk(stream, head: bytes) -> Iterator[str]:
    """A path for Arrow to read natively: the stream's own file (``_native``), else a temporary copy of
    ``head`` and the rest of ``stream``, made here on the caller's thread and removed afterwards.

    Given a Python stream, Arrow's CSV reader reads ahead on its IO thread (even with
    ``use_threads=False``), and a pool thread still holding one of the stream's buffers when the
    interpreter exits aborts the process (docs/node.md): no Python stream is handed to Arrow."""
    path = _native(stream)
    if path is not None:
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="quayside-infer-", suffix=".csv") as spool:
        spool.write(head)
        shutil.copyfileobj(stream, spool, 1024 * 1024)
        spool.flush()
        yield spool.name


def _native(stream) -> str | None:
    """The path of ``stream`` when it is a file on this machine (a blob of file-system storage)."""
    name = getattr(stream, "name", None)
    try:
        if (
            isinstance(name, str)
            and os.path.isabs(name)
            and os.path.samestat(os.fstat(stream.fileno()), os.stat(name))
        ):
            return name
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    return None
