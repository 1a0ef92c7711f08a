"""Type-checking delimited text tables against their EML attribute list, streaming.

The table is read with ``pyarrow.csv.open_csv`` in blocks, every column as strings (so a bad value
never stops the read), and each column of each batch is checked with vectorised ``pyarrow.compute``
kernels: a cast to the declared number type (fast path; only when it fails do we locate the bad values
with a regular expression), ``strptime`` for dates with a formatString, ``is_in`` for enumerated codes,
and missing-value codes masked out first. Memory stays at a few blocks whatever the file size.

The same read can also *convert* the table (``check_table(..., sink=...)``): each column of each batch is
handed on typed by the rules of ``column_type`` — the one definition of how an EML attribute becomes an
Arrow type, which the Parquet alternates (``apps.artifacts.parquet``) are written with.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .eml.extract import AttributeDecl, EntityDecl

BLOCK_SIZE = (
    1 << 20
)  # pyarrow keeps ~40 blocks in flight: 1 MB blocks bound memory at ~50 MB, as fast as larger ones
INT_RE = r"^[+-]?[0-9]+$"
REAL_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"

# EML formatString tokens → strptime directives (EML: MM month, mm minute; hh/HH hour).
_TOKENS = [
    ("YYYY", "%Y"),
    ("YY", "%y"),
    ("DDD", "%j"),
    ("MMM", "%b"),  # month abbreviation, as in EML's own example "YYYY-MMM-DD" (2002-OCT-14)
    ("WWW", "%b"),  # EML's symbol list: "W month abbreviation (e.g., JAN)"
    ("MM", "%m"),
    ("DD", "%d"),
    ("hh", "%H"),
    ("HH", "%H"),
    ("mm", "%M"),
    ("ss", "%S"),
]


# A trailing time zone designator in an EML formatString ("+hh:mm", "-hhmm", "±hh"): an offset per value.
_ZONE = re.compile(r"^(.*hh.*?)[+\-±]hh(?::?mm)?$")
_ZONE_VALUE = r"[+-][0-9]{2}(:?[0-9]{2})?$"


# A decimal fraction of the seconds ("ss.sss": EML's "." marks a decimal fraction of the final unit),
# followed only by the end or a zone designator.
_FRACTION = re.compile(r"ss\.(s+)(Z|[+\-±]hh(?::?mm)?)?$")
_ZONE_OR_END = r"(?P<zone>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
# Digits of a fraction → the Arrow time unit that holds them (more than 9: not readable).
_UNITS = ["s", *["ms"] * 3, *["us"] * 3, *["ns"] * 3]


def fraction_digits(format_string: str) -> int:
    """How many decimal digits of a second an EML formatString declares ("hh:mm:ss.sss" → 3), else 0."""
    found = _FRACTION.search(format_string.strip())
    return len(found.group(1)) if found else 0


def strptime_format(format_string: str) -> str | None:
    """Translate an EML formatString to a strptime format; None if it uses something we cannot check.

    A trailing "Z" is the literal UTC designator; a trailing offset ("+hh:mm", "+hhmm", "±hh") is ``%z``.
    A fraction of the seconds ("ss.sss", up to nine digits) is not part of the strptime format: values are
    parsed without it and the fraction is added (``fraction_digits``; pyarrow's strptime reads no fractions).
    Month abbreviations ("MMM", "WWW") are ``%b``, in any letter case."""
    s = format_string.strip()
    digits = fraction_digits(s)
    if digits > 9:
        return None
    if digits:
        s = _FRACTION.sub(lambda m: "ss" + (m.group(2) or ""), s)
    zone = _ZONE.match(s)
    if zone:
        base = strptime_format(zone.group(1))
        return None if base is None else base + "%z"
    out, i = [], 0
    if not s:
        return None
    while i < len(s):
        for token, directive in _TOKENS:
            if s.startswith(token, i):
                if directive in out:  # a unit twice: a decimal fraction of it ("hh:mm.mm"), not readable
                    return None
                out.append(directive)
                i += len(token)
                break
        else:
            ch = s[i]
            if ch.isalpha() and ch not in "TZ":
                return None
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def column_type(attr: AttributeDecl) -> pa.DataType:
    """The Arrow type of an attribute's values (the typing rules of conversions; see docs/artifacts.md).

    natural/whole/integer numbers → int64; real (or no numberType) → float64; enumerated codes →
    dictionary(int32, string) over the declared codes; a dateTime whose formatString is understood →
    date32 (date only), time32[s] (time only), timestamp[s] (date and time), timestamp[s, UTC] when the
    format carries a zone ("Z" or an offset: values are converted to UTC) — in ms, us or ns instead of s
    when the seconds carry 1–3, 4–6 or 7–9 decimals ("ss.sss"); everything else → string."""
    if attr.scale in ("ratio", "interval"):
        return pa.int64() if attr.number_type in ("natural", "whole", "integer") else pa.float64()
    if attr.scale == "dateTime":
        fmt = strptime_format(attr.format_string)
        if fmt is None:
            return pa.string()
        has_date = any(d in fmt for d in ("%Y", "%y", "%j", "%m", "%b", "%d"))
        has_time = "%H" in fmt
        unit = _UNITS[fraction_digits(attr.format_string)]
        if has_date and not has_time:
            return pa.date32()
        if has_time and not has_date:
            return pa.time32(unit) if unit in ("s", "ms") else pa.time64(unit)
        return pa.timestamp(unit, tz="UTC" if fmt.endswith(("%z", "Z")) else None)
    if attr.codes is not None:
        return pa.dictionary(pa.int32(), pa.string())
    return pa.string()


def _null_like(arr: pa.Array) -> pa.Scalar:
    return pa.scalar(None, arr.type)


@dataclass
class ColumnIssues:
    column: str
    expected: str
    count: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)  # (row, value), first N


@dataclass
class TableResult:
    filename: str
    records: int = 0
    header: list[str] = field(default_factory=list)
    columns: dict[str, ColumnIssues] = field(default_factory=dict)
    bad_rows: list[tuple[int | None, int, int, str]] = field(
        default_factory=list
    )  # (line, expected, actual, text)
    bad_row_count: int = 0
    fatal: str = ""
    unchecked: list[str] = field(default_factory=list)  # columns whose type we could not check (why)

    @property
    def type_errors(self) -> int:
        return sum(c.count for c in self.columns.values())


class _ColumnChecker:
    def __init__(self, attr: AttributeDecl, label: str, max_examples: int):
        self.attr, self.max = attr, max_examples
        self.issues = ColumnIssues(column=label, expected=attr.expected)
        self.missing = pa.array(sorted({*attr.missing_codes, ""}), pa.string())
        self.kind = "text"
        self.fmt, self.fraction = None, 0
        if attr.scale in ("ratio", "interval"):
            self.kind = "int" if attr.number_type in ("natural", "whole", "integer") else "real"
        elif attr.scale == "dateTime":
            self.fmt = strptime_format(attr.format_string)
            self.kind = "date" if self.fmt else "text"
            self.fraction = fraction_digits(attr.format_string) if self.fmt else 0
        elif attr.codes is not None:
            self.kind = "enum"
            self.allowed = pa.array(sorted({*attr.codes, *attr.missing_codes, ""}), pa.string())
            # The dictionary of the converted column: the declared codes in their declared order, so
            # every batch (and every conversion) shares one dictionary whatever the data's order.
            self.dictionary = pa.array(list(dict.fromkeys(attr.codes)), pa.string())
        self.type = column_type(attr)
        self.declared_missing = pa.array(sorted(set(attr.missing_codes)), pa.string())

    def _iso(self, values: pa.Array) -> pa.Array | None:
        """Fast path for ISO dates: Arrow's ISO-8601 cast is strict (real calendar dates, exact digits).
        The cast values when every value passes, else None (the slow path then finds the bad ones)."""
        iso = {
            "%Y-%m-%d": (pa.date32(), 10, ""),
            "%Y-%m-%dT%H:%M:%S": (pa.timestamp("s"), 19, "T"),
            "%Y-%m-%d %H:%M:%S": (pa.timestamp("s"), 19, " "),
        }.get(self.fmt)
        if iso is None:
            return None
        target, length, sep = iso
        # binary_length reads the offsets only (free); a non-ASCII value fails the cast anyway.
        if pc.min_max(pc.binary_length(values)).as_py() not in (
            {"min": length, "max": length},
            {"min": None, "max": None},
        ):
            return None
        # 19 characters that parse as an ISO timestamp have "T" or " " at position 10: look for the declared one.
        if sep and pc.any(pc.invert(pc.match_substring(values, sep))).as_py():
            return None
        try:
            return pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None

    def _numbers(self, values: pa.Array) -> tuple[pa.Array | None, pa.Array]:
        """(bad mask or None, numeric array with nulls where missing or bad)."""
        target = pa.int64() if self.kind == "int" else pa.float64()
        try:
            return None, pc.cast(values, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        values = pc.utf8_trim_whitespace(values)  # " 12" is 12, as for pyarrow's typed reader
        ok = pc.match_substring_regex(values, INT_RE if self.kind == "int" else REAL_RE)
        ok = pc.fill_null(ok, True)
        bad = pc.invert(ok)
        cleaned = pc.if_else(bad, pa.scalar(None, pa.string()), values)
        try:
            return bad, pc.cast(cleaned, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # e.g. an integer beyond 64 bits
            return bad, pc.cast(
                pc.if_else(bad, pa.scalar(None, pa.string()), cleaned), pa.float64(), safe=False
            )

    def _bounds(self, nums: pa.Array) -> pa.Array | None:
        a, conds = self.attr, []
        lo = {"natural": 1, "whole": 0}.get(a.number_type)
        if lo is not None:
            conds.append(pc.less(nums, lo))
        if a.minimum is not None:
            conds.append((pc.less_equal if a.minimum_exclusive else pc.less)(nums, a.minimum))
        if a.maximum is not None:
            conds.append((pc.greater_equal if a.maximum_exclusive else pc.greater)(nums, a.maximum))
        mask = None
        for c in conds:
            mask = c if mask is None else pc.or_(mask, c)
        return None if mask is None else pc.fill_null(mask, False)

    def _dates(self, values: pa.Array) -> tuple[pa.Array, pa.Array]:
        """(bad mask, parsed timestamps) of trimmed date/time strings in the declared format.

        strptime normalises impossible dates (2023-02-29 → 03-01): a value is good only if it parses AND
        prints back identically in the declared format (month names in any letter case). With an offset
        (``%z``) the round trip is made on the value without its offset (it prints back in UTC), and the
        offset must parse too. A declared fraction of the seconds is taken off before and added after
        (at most the declared digits; a value without a fraction is a whole second)."""
        given, fraction = values, None
        if self.fraction:
            digits = rf"\.(?P<fraction>[0-9]{{1,{self.fraction}}})"
            found = pc.extract_regex(values, pattern=digits + _ZONE_OR_END)
            fraction = pc.fill_null(pc.struct_field(found, [0]), "")
            values = pc.replace_substring_regex(values, pattern=digits + _ZONE_OR_END, replacement=r"\2")
        parsed = pc.strptime(values, format=self.fmt, unit="s", error_is_null=True)
        if self.fmt.endswith("%z"):
            local = pc.replace_substring_regex(values, pattern=_ZONE_VALUE, replacement="")
            naive = self.fmt[:-2]
            back = pc.strftime(pc.strptime(local, format=naive, unit="s", error_is_null=True), format=naive)
            same = pc.and_(self._same(back, local), pc.is_valid(parsed))
        else:
            same = self._same(pc.strftime(parsed, format=self.fmt), values)
        if fraction is not None:
            unit = _UNITS[self.fraction]
            width = {"ms": 3, "us": 6, "ns": 9}[unit]
            ticks = pc.cast(
                pc.cast(pc.utf8_rpad(fraction, width=width, padding="0"), pa.int64()), pa.duration(unit)
            )
            parsed = pc.add(pc.cast(parsed, pa.timestamp(unit, parsed.type.tz)), ticks)
        return pc.and_(pc.is_valid(given), pc.invert(same)), parsed

    def _same(self, back: pa.Array, values: pa.Array) -> pa.Array:
        """Whether each value printed back as it was given (month abbreviations: in any letter case)."""
        if "%b" in self.fmt:
            back, values = pc.utf8_upper(back), pc.utf8_upper(values)
        return pc.fill_null(pc.equal(back, values), False)

    def typed(self, arr: pa.Array) -> pa.Array:
        """Values already parsed (a timestamp, a number) as this column's converted type."""
        if arr.type == self.type:
            return arr
        if pa.types.is_timestamp(self.type) and self.type.tz and pa.types.is_timestamp(arr.type):
            # "Z" in the format: the parsed (naive) values are UTC; an offset: strptime gave UTC already.
            return arr if arr.type.tz else pc.cast(arr, self.type)
        return pc.cast(arr, self.type)

    def codes(self, col: pa.Array) -> pa.Array:
        """Code strings (or a dictionary array) as indices into the declared codes; missing → null."""
        if pa.types.is_dictionary(col.type):
            mapping = self.codes(col.dictionary).indices
            return pa.DictionaryArray.from_arrays(mapping.take(col.indices), self.dictionary)
        index = pc.index_in(col, value_set=self.dictionary)
        if len(self.declared_missing):  # a missing-value code that is also a declared code is missing
            index = pc.if_else(pc.is_in(col, value_set=self.declared_missing), _null_like(index), index)
        return pa.DictionaryArray.from_arrays(index, self.dictionary)

    def text(self, col: pa.Array) -> pa.Array:
        """Free text as it is; a declared missing-value code becomes null."""
        if not len(self.declared_missing):
            return col
        return pc.if_else(pc.is_in(col, value_set=self.declared_missing), _null_like(col), col)

    def check(self, col: pa.Array, offset: int, convert: bool = False) -> pa.Array | None:
        """Record the bad values of one batch's column (strings); with ``convert`` return the column typed
        by ``column_type`` (missing-value codes and bad values as nulls), else None."""
        typed = None
        if self.kind == "text":
            return self.text(col) if convert else None
        if self.kind == "enum":
            bad = pc.invert(pc.is_in(col, value_set=self.allowed))
            if convert:
                typed = self.codes(col)
        else:
            missing = pc.is_in(col, value_set=self.missing)
            has_missing = pc.any(missing).as_py()
            values = pc.if_else(missing, pa.scalar(None, pa.string()), col) if has_missing else col
            if self.kind == "date":
                iso = self._iso(values)
                if iso is not None:
                    return self.typed(iso) if convert else None
                # Surrounding blanks are tolerated, as pyarrow's typed reader tolerates them.
                bad, typed = self._dates(pc.utf8_trim_whitespace(values))
            else:
                bad, typed = self._numbers(values)
                out = self._bounds(typed)
                if out is not None:
                    bad = out if bad is None else pc.or_(bad, out)
        if bad is not None:
            self._count(bad, col, offset)
        return self.typed(typed) if convert else None

    def _count(self, bad: pa.Array, col: pa.Array, offset: int) -> None:
        n = pc.sum(bad).as_py() or 0
        if not n:
            return
        issues = self.issues
        if len(issues.examples) < self.max:
            idx = pc.indices_nonzero(bad).slice(0, self.max - len(issues.examples))
            for i, v in zip(idx.to_pylist(), col.take(idx).to_pylist(), strict=True):
                issues.examples.append((offset + i + 1, v))
        issues.count += n


# Declared encodings that are read as UTF-8 as they are (ASCII is a subset of it).
_UTF8 = {"", "utf8", "utf-8", "ascii", "us-ascii", "ansi_x3.4-1968"}


def text_encoding(decl: EntityDecl) -> str | None:
    """The Python codec a table's declared characterEncoding names; None when it is read as UTF-8.

    Raises LookupError for a name no codec answers to (the caller says so; nothing is guessed)."""
    name = decl.encoding.strip()
    if name.lower() in _UTF8:
        return None
    codec = codecs.lookup(name).name  # "ISO-8859-1" → "iso8859-1", "windows-1252" → "cp1252"
    return None if codec == "utf-8" else codec


class TableStream(io.RawIOBase):
    """A table's bytes as its EML says to read them, for what pyarrow's CSV reader has no option for:

    - ``collapse`` (``collapseDelimiters = yes``, as space-aligned tables from instruments and older
      packages declare): each run of the delimiter is one; for a blank delimiter (space, tab) the delimiters
      that open or close a line, which align columns, start no field. Quotes are not looked at: a quoted
      value keeps one delimiter of a run (EML: "consecutive delimiters will be collapsed to one").
    - ``footer_lines`` (``numFooterLines``): the last N lines are not rows (blank lines at the very end are
      not counted).

    Whole lines at a time (a run never straddles two reads), in front of the same streaming reader; line
    ends of any kind (\\n, \\r\\n, a lone \\r), as pyarrow's reader knows them."""

    CHUNK = 1 << 20

    def __init__(self, raw, *, collapse: str | None = None, footer_lines: int = 0):
        self._raw, self._footer = raw, max(0, footer_lines)
        self._runs = self._edges = None
        if collapse:
            d = re.escape(collapse.encode())
            self._delimiter = collapse.encode()
            self._runs = re.compile(d + b"{2,}")
            edges = rb"(?m)(?:^|(?<=\r))" + d + b"|" + d + rb"(?=[\r\n]|\Z)"
            self._edges = re.compile(edges) if collapse in " \t" else None
        self._rest, self._held, self._out, self._eof = b"", b"", bytearray(), False

    def readable(self) -> bool:
        return True

    def _collapse(self, lines: bytes) -> bytes:
        if self._runs is None:
            return lines
        lines = self._runs.sub(self._delimiter, lines)
        return self._edges.sub(b"", lines) if self._edges is not None else lines

    @staticmethod
    def _last_lines_start(data: bytes, n: int) -> int:
        """Where the last ``n`` lines of ``data`` (which ends with a line end) begin."""
        pos = len(data)
        for _ in range(n):
            end = pos
            if end and data[end - 1] == 0x0A:  # \n, or the \n of \r\n
                end -= 1
            if end and data[end - 1] == 0x0D:  # \r
                end -= 1
            pos = max(data.rfind(b"\n", 0, end), data.rfind(b"\r", 0, end)) + 1
            if pos == 0:
                break
        return pos

    def _emit(self, lines: bytes, *, last: bool) -> None:
        if not self._footer:
            self._out += lines
            return
        data = self._held + lines
        # Blank lines at the end (so far) are no footer lines: the last N lines are counted before them.
        content = data.rstrip(b" \t\r\n")
        cut = self._last_lines_start(content + b"\n", self._footer) if content else 0
        self._out += data[:cut]
        self._held = b"" if last else data[cut:]

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._out) < size):
            chunk = self._raw.read(self.CHUNK)
            if not chunk:
                self._eof = True
                self._emit(self._collapse(self._rest), last=True)
                self._rest = b""
                break
            data = self._rest + chunk
            cut = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
            self._emit(self._collapse(data[:cut]), last=False)
            self._rest = data[cut:]
        n = len(self._out) if size < 0 else min(size, len(self._out))
        out = bytes(self._out[:n])
        del self._out[:n]
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _header(path: Path, decl: EntityDecl, encoding: str | None = None) -> list[str]:
    if decl.header_lines < 1:
        return []
    with open(path, "rb") as fh:
        head = fh.read((1 << 20) * decl.header_lines)
    # "utf-8-sig": a byte-order mark (as spreadsheets write) is not part of the first name. Decoded before
    # it is split, so that a UTF-16 table (a spreadsheet's "Unicode text") splits at its own line ends;
    # splitting knows \n, \r\n and a lone \r, as pyarrow's reader does.
    lines = head.decode(encoding or "utf-8-sig", "replace").splitlines()[: decl.header_lines]
    if not lines:
        return []
    text = lines[-1]
    q, d = decl.quote, decl.delimiter
    if decl.collapse_delimiters:  # as TableStream reads the rows: a run is one, blanks at the ends none
        names = re.split(f"(?:{re.escape(d)})+", text.strip(d) if d in " \t" else text)
    else:
        names = text.split(d)
    return [f.strip().strip(q) if q else f.strip() for f in names]


class _NeedExact(Exception):
    """The optimistic typed read met something only the exact (all-strings) read can report."""


def _as_number(code: str, integer: bool):
    try:
        value = float(code)
    except ValueError:
        return None
    if integer:
        return int(value) if value.is_integer() else None
    return value


def _typed_plan(checkers: list[_ColumnChecker]) -> tuple[list[str], dict[int, pa.DataType]] | None:
    """Which numeric columns pyarrow's CSV reader can convert itself (much faster than strings + cast).

    Non-numeric missing codes ("NA") must become nulls in the reader, and ``null_values`` is one list for
    the whole table: a column that does not declare every one of them is still read typed, but a null in
    it is then ambiguous and sends the table to the exact read.
    """
    numeric = {i: ch for i, ch in enumerate(checkers) if ch.kind in ("int", "real")}
    # Plain dates too: pyarrow's date32 conversion takes exactly YYYY-MM-DD and real calendar dates.
    dates = {i: ch for i, ch in enumerate(checkers) if ch.kind == "date" and ch.fmt == "%Y-%m-%d"}
    if not numeric and not dates:
        return None
    nulls = {""}
    for ch in [*numeric.values(), *dates.values()]:
        nulls |= {c for c in ch.attr.missing_codes if _as_number(c, False) is None}
    types = {i: (pa.int64() if ch.kind == "int" else pa.float64()) for i, ch in numeric.items()}
    types.update(dict.fromkeys(dates, pa.date32()))
    # Enumerated codes as dictionaries: the reader hashes them in its threads; we check only the
    # (few) distinct values of each batch.
    types.update(
        {i: pa.dictionary(pa.int32(), pa.string()) for i, ch in enumerate(checkers) if ch.kind == "enum"}
    )
    return sorted(nulls), types


def _check_typed(
    ch: _ColumnChecker, arr: pa.Array, nulls: list[str], convert: bool = False
) -> pa.Array | None:
    """Check a column pyarrow's reader converted itself; with ``convert`` return it typed (else None)."""
    if ch.kind == "enum":
        if pc.all(pc.is_in(arr.dictionary, value_set=ch.allowed)).as_py() not in (True, None):
            raise _NeedExact
        return ch.codes(arr) if convert else None
    if arr.null_count and not set(nulls) - {""} <= set(ch.attr.missing_codes):
        raise _NeedExact  # a null here may be a code this column does not declare
    if ch.kind == "date":
        return ch.typed(arr) if convert else None
    codes = [v for v in (_as_number(c, ch.kind == "int") for c in ch.attr.missing_codes) if v is not None]
    out = ch._bounds(arr)
    if out is None and not (convert and codes):
        return arr if convert else None
    # Numeric missing codes (-9999): not out of bounds, and null once converted.
    is_code = pc.fill_null(pc.is_in(arr, value_set=pa.array(codes, arr.type)), False) if codes else None
    if out is not None:
        if is_code is not None:
            out = pc.and_(out, pc.invert(is_code))
        if pc.any(out).as_py():
            raise _NeedExact
    if not convert:
        return None
    return arr if is_code is None else pc.if_else(is_code, _null_like(arr), arr)


class TableSink:
    """Where a converting read sends its batches (``check_table(..., sink=...)``).

    ``start()`` is called before each read (a table read again exactly starts over), ``write(arrays)``
    with one typed array per attribute, in attribute order, for every batch."""

    def start(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def write(self, arrays: list[pa.Array]) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def check_table(
    path: str | Path,
    decl: EntityDecl,
    *,
    max_examples: int = 10,
    block_size: int = BLOCK_SIZE,
    exact: bool = False,
    sink: TableSink | None = None,
) -> TableResult:
    """Check every value of every row of a delimited text table against ``decl``'s attributes.

    First optimistically: pyarrow converts the numeric columns itself while the other columns are
    checked as strings. A table with any bad value (or an ambiguous null) is read again exactly, all
    columns as strings, which is what finds and reports each bad value. ``exact=True`` skips the first pass.

    ``sink``: convert in the same read — every column (free text too) of every batch goes to
    ``sink.write`` typed by ``column_type``. What it received is only meaningful when the result has no
    fatal error, no bad rows and no bad values (the caller decides; bad values arrive as nulls).
    """
    path = Path(path)
    result = TableResult(filename=decl.filename)
    try:
        encoding = text_encoding(decl)
    except LookupError:
        result.fatal = f"characterEncoding {decl.encoding!r} is not a character encoding Quayside knows"
        return result
    try:
        result.header = _header(path, decl, encoding)
    except OSError as exc:
        result.fatal = f"cannot read the file: {exc}"
        return result
    if not decl.attributes:
        result.fatal = "the table declares no attributes"
        return result
    if not exact:
        try:
            return _read(path, decl, encoding, result, max_examples, block_size, typed=True, sink=sink)
        except _NeedExact:
            pass
    return _read(path, decl, encoding, result, max_examples, block_size, typed=False, sink=sink)


def _read(
    path: Path,
    decl: EntityDecl,
    encoding: str | None,
    result: TableResult,
    max_examples: int,
    block_size: int,
    typed: bool,
    sink: TableSink | None = None,
) -> TableResult:
    attrs = decl.attributes
    result.bad_rows, result.bad_row_count, result.unchecked = [], 0, []
    internal = [f"c{i}" for i in range(len(attrs))]
    checkers = [_ColumnChecker(a, a.name or f"column {i + 1}", max_examples) for i, a in enumerate(attrs)]
    for ch in checkers:
        if ch.attr.scale == "dateTime" and ch.kind == "text":
            result.unchecked.append(
                f"{ch.issues.column}: formatString {ch.attr.format_string!r} not understood"
            )
    plan = _typed_plan(checkers) if typed else None
    if typed and plan is None:
        typed = False
    nulls, types = plan if plan else ([], {})

    def on_invalid(row) -> str:
        result.bad_row_count += 1
        if len(result.bad_rows) < max_examples:
            result.bad_rows.append((row.number, row.expected_columns, row.actual_columns, row.text[:200]))
        return "skip"

    read = pacsv.ReadOptions(
        skip_rows=decl.header_lines,
        column_names=internal,
        block_size=block_size,
        encoding=encoding or "utf8",  # another encoding: pyarrow transcodes to UTF-8 as it reads
    )
    parse = pacsv.ParseOptions(
        delimiter=decl.delimiter, quote_char=decl.quote or False, invalid_row_handler=on_invalid
    )
    # Free-text columns are not checked: the reader only splits them, it never builds their arrays
    # (unless the read converts).
    convert = sink is not None
    wanted = (
        list(range(len(checkers)))
        if convert
        else [i for i, ch in enumerate(checkers) if ch.kind != "text"] or [0]
    )
    options = pacsv.ConvertOptions(
        column_types={name: types.get(i, pa.string()) for i, name in enumerate(internal)},
        null_values=nulls,
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        include_columns=[internal[i] for i in wanted],
    )

    def check(i: int, batch, start: int) -> pa.Array | None:
        if i in types:
            return _check_typed(checkers[i], batch.column(internal[i]), nulls, convert)
        return checkers[i].check(batch.column(internal[i]), start, convert)

    offset = 0
    # pyarrow's compute kernels release the GIL: check the columns of a batch in parallel threads
    # while pyarrow's own pool parses the next block.
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(checkers), os.cpu_count() or 1)))
    source = path
    try:
        if decl.collapse_delimiters or decl.footer_lines:
            source = TableStream(  # noqa: SIM115 - closed below
                open(path, "rb"),
                collapse=decl.delimiter if decl.collapse_delimiters else None,
                footer_lines=decl.footer_lines,
            )
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=options)
        if convert:
            sink.start()
        for batch in reader:
            start = offset
            arrays = list(pool.map(lambda i, b=batch, o=start: check(i, b, o), wanted))
            if convert:
                sink.write(arrays)
            offset += batch.num_rows
    except UnicodeDecodeError as exc:  # only with a declared encoding other than UTF-8 (pyarrow transcodes)
        bad = exc.object[exc.start : exc.end].hex(" ")
        result.fatal = (
            f"the file is not {decl.encoding} as its characterEncoding says: byte(s) {bad} ({exc.reason})"
        )
    except (pa.ArrowInvalid, OSError) as exc:
        if typed:
            raise _NeedExact from exc  # a value the typed conversion refused: find it exactly
        msg = str(exc)
        if "invalid UTF8" in msg and encoding is None:
            msg += " (the file is not UTF-8: its EML should declare its physical/characterEncoding)"
        if "Empty CSV file" not in msg:
            result.fatal = re.sub(r"\s+", " ", msg)[:500]
    finally:
        pool.shutdown(wait=True)
        if source is not path:
            source.close()
    result.records = offset
    result.columns = {c.issues.column: c.issues for c in checkers if c.issues.count}
    return result
