"""The streaming table checker: every kind of attribute, the first N bad values with counts, rows and columns."""

from __future__ import annotations

from apps.packages.eml.build import Column, Table, build_eml
from apps.packages.eml.extract import extract
from apps.packages.eml.validator import validate_eml
from apps.packages.tablecheck import TableSink, check_table, fraction_digits, strptime_format


def decl_for(
    tmp_path,
    columns,
    text: str | bytes,
    *,
    delimiter=",",
    header_lines=1,
    encoding="",
    collapse=False,
    footer=0,
):
    path = tmp_path / "t.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    table = Table(
        "t",
        "table",
        columns,
        url="https://x.org/t.csv",
        delimiter=delimiter,
        header_lines=header_lines,
        encoding=encoding,
        collapse_delimiters=collapse,
        footer_lines=footer,
    )
    result = validate_eml(build_eml("edi.1.1", [table]))
    assert result.valid, result.reasons
    return path, extract(result.tree).entities[0]


def test_number_types_bounds_and_missing_codes(tmp_path):
    cols = [
        Column("n", "natural"),
        Column("w", "whole"),
        Column("i", "int"),
        Column("r", "real", minimum=0, maximum=10, missing=["NA"]),
    ]
    path, decl = decl_for(tmp_path, cols, "n,w,i,r\n1,0,-5,0\n2,3,7,NA\n0,-1,1.5,11\n3,4,x,1e0\n")
    res = check_table(path, decl)
    assert res.records == 4
    assert res.columns["n"].examples == [(3, "0")]
    assert res.columns["w"].examples == [(3, "-1")]
    assert res.columns["i"].examples == [(3, "1.5"), (4, "x")] and res.columns["i"].count == 2
    assert res.columns["r"].examples == [(3, "11")]
    assert "real number ≥0, ≤10" == res.columns["r"].expected


def test_dates_with_a_format_string(tmp_path):
    cols = [
        Column("d", "date", format="YYYY-MM-DD"),
        Column("t", "date", format="YYYY-MM-DDThh:mm:ss"),
        Column("dmy", "date", format="DD/MM/YYYY"),
    ]
    path, decl = decl_for(
        tmp_path,
        cols,
        "d,t,dmy\n2024-02-29,2024-01-01T23:59:59,31/12/2023\n2023-02-29,2024-01-01 10:00:00,12/31/2023\n",
    )
    res = check_table(path, decl)
    assert res.columns["d"].examples == [(2, "2023-02-29")]
    assert res.columns["t"].examples == [(2, "2024-01-01 10:00:00")]
    assert res.columns["dmy"].examples == [(2, "12/31/2023")]


def test_enumerated_codes_quotes_and_a_tab_delimiter(tmp_path):
    cols = [Column("code", "code", codes=["A", "B"], missing=["-"]), Column("text")]
    path, decl = decl_for(tmp_path, cols, 'code\ttext\nA\t"quoted\ttab"\n-\tx\nC\ty\n', delimiter="\t")
    res = check_table(path, decl)
    assert res.header == ["code", "text"]
    assert res.columns["code"].examples == [(3, "C")] and res.bad_row_count == 0


def test_the_first_n_bad_values_are_listed_and_all_are_counted(tmp_path):
    rows = "".join(f"{'bad' if i % 2 else i}\n" for i in range(1, 1001))
    path, decl = decl_for(tmp_path, [Column("v", "int")], "v\n" + rows)
    res = check_table(
        path, decl, max_examples=3, block_size=4096
    )  # many batches: row numbers must carry over
    assert res.columns["v"].count == 500
    assert res.columns["v"].examples == [(1, "bad"), (3, "bad"), (5, "bad")]
    res = check_table(path, decl, max_examples=600, block_size=4096)
    assert res.columns["v"].examples[-1] == (999, "bad")


def test_rows_with_the_wrong_number_of_fields_are_counted(tmp_path):
    path, decl = decl_for(tmp_path, [Column("a", "int"), Column("b", "int")], "a,b\n1,2\n3\n4,5,6\n7,8\n")
    res = check_table(path, decl)
    assert res.bad_row_count == 2 and res.records == 2
    assert [(exp, act) for _, exp, act, _ in res.bad_rows] == [(2, 1), (2, 3)]


def test_format_strings_translate_or_say_they_cannot():
    assert strptime_format("YYYY-MM-DDThh:mm:ss") == "%Y-%m-%dT%H:%M:%S"
    assert strptime_format("DDD/YY") == "%j/%y"
    # EML's own examples: month abbreviations (MMM, or the symbol W) and a decimal fraction of the seconds.
    assert strptime_format("YYYY-MMM-DD") == strptime_format("YYYY-WWW-DD") == "%Y-%b-%d"
    assert strptime_format("hh:mm:ss.sss") == "%H:%M:%S" and fraction_digits("hh:mm:ss.sss") == 3
    assert strptime_format("YYYY-MM-DDThh:mm:ss.ssssss+hh:mm") == "%Y-%m-%dT%H:%M:%S%z"
    assert fraction_digits("YYYY-MM-DDThh:mm:ss.ssssssZ") == 6 and fraction_digits("hh:mm:ss") == 0
    # What cannot be read is said, not guessed: decimal minutes, a fraction not at the end, > 9 digits.
    assert strptime_format("hh:mm.mm") is None
    assert strptime_format("hh:mm:ss.sss hh") is None
    assert strptime_format("hh:mm:ss.ssssssssss") is None


def test_fractions_of_seconds_and_month_names(tmp_path):
    cols = [
        Column("t", "date", format="YYYY-MM-DDThh:mm:ss.sss"),
        Column("z", "date", format="hh:mm:ss.ssZ"),
        Column("m", "date", format="DD-MMM-YYYY"),
    ]
    path, decl = decl_for(
        tmp_path,
        cols,
        "t,z,m\n"
        "2024-01-01T10:00:00.5,10:00:00.25Z,14-OCT-2002\n"  # fewer digits than declared: good
        "2024-01-01T10:00:00,10:00:00Z,14-oct-2002\n"  # no fraction: a whole second; any case
        "2024-01-01T10:00:00.1234,10:00:00.251Z,14-10-2002\n"  # more digits than declared; a number
        "2024-02-30T10:00:00.100,10:00:00.25,31-FEB-2002\n",  # no such day; the Z is missing
    )
    for exact in (False, True):
        res = check_table(path, decl, exact=exact)
        assert res.columns["t"].examples == [(3, "2024-01-01T10:00:00.1234"), (4, "2024-02-30T10:00:00.100")]
        assert res.columns["z"].examples == [(3, "10:00:00.251Z"), (4, "10:00:00.25")]
        assert res.columns["m"].examples == [(3, "14-10-2002"), (4, "31-FEB-2002")]


def test_the_optimistic_typed_read_and_the_exact_read_agree(tmp_path):
    cols = [
        Column("i", "int", missing=["-9999"]),
        Column("r", "real", minimum=0, missing=["NA", "-9999"]),
        Column("c", "code", codes=["x", "y"]),
        Column("d", "date", format="YYYY-MM-DD", missing=["NA"]),
    ]
    cases = {
        "valid": ("i,r,c,d\n1,2.5,x,2024-02-29\n-9999,NA,y,NA\n3,-9999,x,\n 4 ,5,y,2024-01-01 \n", {}),
        # "NA" is a missing code of r, not of i: the typed read cannot tell it from a declared null.
        "undeclared NA": ("i,r,c,d\n1,2.5,x,2024-01-01\nNA,1,y,2024-01-01\n", {"i": [(2, "NA")]}),
        "out of bounds": ("i,r,c,d\n1,-0.5,x,2024-01-01\n", {"r": [(1, "-0.5")]}),
        "bad number and code": (
            "i,r,c,d\n1,2,z,2024-01-01\n2,abc,x,2024-01-01\n",
            {"r": [(2, "abc")], "c": [(1, "z")]},
        ),
        "bad dates": (
            "i,r,c,d\n1,2,x,2023-02-29\n2,3,x,2024-1-5\n",
            {"d": [(1, "2023-02-29"), (2, "2024-1-5")]},
        ),
    }
    for name, (text, expected) in cases.items():
        path, decl = decl_for(tmp_path, cols, text)
        for exact in (False, True):
            res = check_table(path, decl, exact=exact)
            assert {k: v.examples for k, v in res.columns.items()} == expected, (name, exact)
            assert res.records == text.count("\n") - 1


def test_a_table_of_free_text_is_counted_and_its_shape_checked(tmp_path):
    path, decl = decl_for(tmp_path, [Column("a"), Column("b")], 'a,b\nx,y\n"q,uoted",z\nonly-one\n')
    for exact in (False, True):
        res = check_table(path, decl, exact=exact)
        assert res.records == 2 and res.bad_row_count == 1 and not res.columns


def test_a_declared_character_encoding_is_read_and_a_byte_order_mark_is_not_a_name(tmp_path):
    cols = [Column("id", "int"), Column("site", "code", codes=["Café", "Bâtiment 10°"])]
    latin1 = "id,site\n1,Café\n2,Bâtiment 10°\n3,Cafe\n".encode("latin-1")
    path, decl = decl_for(tmp_path, cols, latin1, encoding="ISO-8859-1")
    assert decl.encoding == "ISO-8859-1"
    res = check_table(path, decl)
    assert not res.fatal and res.records == 3
    assert res.columns["site"].examples == [(3, "Cafe")]  # the declared codes matched once transcoded
    # Bytes that the declared encoding does not have: said, with the bytes.
    path, decl = decl_for(tmp_path, cols, b"id,site\n1,Caf\x81\n", encoding="windows-1252")
    assert "not windows-1252" in check_table(path, decl).fatal and "81" in check_table(path, decl).fatal
    path, decl = decl_for(tmp_path, cols, latin1, encoding="klingon-8")
    assert "klingon-8" in check_table(path, decl).fatal
    # Undeclared, not UTF-8: the converting read says what to declare.
    path, decl = decl_for(tmp_path, [Column("id", "int"), Column("site")], latin1)

    class Sink(TableSink):
        def start(self):
            pass

        def write(self, arrays):
            pass

    assert "characterEncoding" in check_table(path, decl, sink=Sink()).fatal
    # A byte-order mark (spreadsheets write one) is not part of the first column's name.
    path, decl = decl_for(tmp_path, cols, "\ufeffid,site\r\n1,Café\r\n")
    res = check_table(path, decl)
    assert res.header == ["id", "site"] and not res.columns and res.records == 1


def test_collapsed_delimiters_read_a_space_aligned_table(tmp_path):
    cols = [Column("station"), Column("depth", "real"), Column("temp", "real", missing=["-99"])]
    aligned = "  station   depth    temp\n  A1        10.5     4.25\n  B22      120.0      -99  \n  C3  x 3.0\n D4 1 2 3\n"
    path, decl = decl_for(tmp_path, cols, aligned, delimiter=" ", collapse=True)
    assert decl.collapse_delimiters
    for exact in (False, True):
        res = check_table(path, decl, exact=exact)
        assert res.header == ["station", "depth", "temp"]
        assert res.records == 3 and res.bad_row_count == 1  # "D4 1 2 3": four fields of three
        assert {k: v.examples for k, v in res.columns.items()} == {"depth": [(3, "x")]}
    # Without collapseDelimiters every space is a delimiter: the same file is all bad rows.
    path, decl = decl_for(tmp_path, cols, aligned, delimiter=" ")
    assert check_table(path, decl).bad_row_count == 4


def test_collapsed_delimiters_across_read_chunks(tmp_path, monkeypatch):
    import io

    from apps.packages.tablecheck import TableStream

    monkeypatch.setattr(TableStream, "CHUNK", 7)  # runs and lines straddle every read
    rows = "".join(f"{i}{' ' * (1 + i % 5)}{i * 0.5}{'   ' if i % 2 else ''}\n" for i in range(200))
    stream = TableStream(io.BytesIO(rows.encode()), collapse=" ")
    assert stream.read().decode() == "".join(f"{i} {i * 0.5}\n" for i in range(200))
    # Commas collapse but a leading one still opens an (empty) field.
    stream = TableStream(io.BytesIO(b",a,,,b,\n,,c"), collapse=",")
    assert stream.read() == b",a,b,\n,c"


def test_old_mac_line_ends_are_lines_for_the_header_and_the_collapsing_stream(tmp_path):
    cols = [Column("station"), Column("depth", "real")]
    path, decl = decl_for(
        tmp_path, cols, "station  depth \r  A1   10.5\r  B2  x\r", delimiter=" ", collapse=True
    )
    res = check_table(path, decl)
    assert res.header == ["station", "depth"] and res.records == 2 and res.bad_row_count == 0
    assert res.columns["depth"].examples == [(2, "x")]
    path, decl = decl_for(tmp_path, cols, "station,depth\rA1,10.5\r")
    assert check_table(path, decl).header == ["station", "depth"]


def test_footer_lines_are_not_rows(tmp_path, monkeypatch):
    from apps.packages.tablecheck import TableStream

    cols = [Column("id", "int"), Column("temp", "real")]
    text = "id,temp\n1,4.5\n2,5.0\n3,x\nEND OF DATA\nchecksum 1234\n\n"  # a blank line at the very end
    path, decl = decl_for(tmp_path, cols, text, footer=2)
    assert decl.footer_lines == 2
    for chunk in (TableStream.CHUNK, 5):  # and with lines straddling every read
        monkeypatch.setattr(TableStream, "CHUNK", chunk)
        for exact in (False, True):
            res = check_table(path, decl, exact=exact)
            assert res.records == 3 and res.bad_row_count == 0
            assert {k: v.examples for k, v in res.columns.items()} == {"temp": [(3, "x")]}
    # CRLF and no final line end; footers and collapsed blanks together.
    path, decl = decl_for(
        tmp_path, cols, "id  temp\r\n 1   4.5 \r\n2 5\r\n-- end --", delimiter=" ", collapse=True, footer=1
    )
    res = check_table(path, decl)
    assert res.records == 2 and res.bad_row_count == 0 and not res.columns


def test_a_utf_16_table_as_spreadsheets_save_unicode_text(tmp_path):
    cols = [Column("site"), Column("temp", "real")]
    text = "site\ttemp\r\nQuébec\t4.5\r\nBaie-Comeau\tx\r\n".encode("utf-16")  # with its byte-order mark
    path, decl = decl_for(tmp_path, cols, text, delimiter="\t", encoding="UTF-16")
    res = check_table(path, decl)
    assert res.header == ["site", "temp"] and res.records == 2 and not res.fatal
    assert res.columns["temp"].examples == [(2, "x")]
