"""Column types come from every value of a CSV, not its first rows (pyarrow reads it block by block)."""

from __future__ import annotations

import io

import pytest

from apps.shares import infer


def csv_bytes(rows: list[str]) -> io.BytesIO:
    return io.BytesIO(("value,label\n" + "\n".join(rows) + "\n").encode())


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    # Small blocks make the late value land in a later block than the first, as in a large file.
    monkeypatch.setattr(infer, "BLOCK_SIZE", 16 * 1024)


def test_a_real_number_after_ten_thousand_integers_makes_the_column_real():
    rows = [f"{i},x" for i in range(10_000)] + ["3.5,x"]
    found = infer.infer_csv(csv_bytes(rows))
    assert [(a.name, a.kind) for a in found.attributes] == [("value", "real"), ("label", "text")]
    assert found.records == 10_001


def test_a_word_after_ten_thousand_integers_makes_the_column_text():
    rows = [f"{i},x" for i in range(10_000)] + ["n/a-ish,x"]
    assert infer.infer_csv(csv_bytes(rows)).attributes[0].kind == "text"


def test_integers_stay_integers_and_empty_values_are_noted():
    found = infer.infer_csv(csv_bytes([f"{i},x" for i in range(5000)] + [",x", "NA,x"]))
    assert found.attributes[0].kind == "int" and found.attributes[0].has_empty


def test_dates_and_date_times_unify_to_date_time():
    found = infer.infer_csv(io.BytesIO(b"when\n" + b"2024-01-02\n" * 3000 + b"2024-01-03T10:00:00\n"))
    assert found.attributes[0].kind == "datetime"


def test_unify_is_a_lattice():
    assert infer.unify(None, "int") == "int"
    assert infer.unify("int", "real") == "real"
    assert infer.unify("real", "date") == "text"
    assert infer.unify("date", "datetime") == "datetime"


def test_a_file_without_a_header_is_refused():
    with pytest.raises(ValueError):
        infer.infer_csv(io.BytesIO(b"a,a\n1,2\n"))
