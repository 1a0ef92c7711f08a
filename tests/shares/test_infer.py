"""Column types come from every value of a CSV, not its first rows (pyarrow reads it block by block)."""

from __future__ import annotations

import io
import os
import threading

import pytest

from apps.shares import infer


def csv_bytes(rows: list[str]) -> io.BytesIO:
    return io.BytesIO(("value,label\n" + "\n".join(rows) + "\n").encode())


def watched(stream_class: type, readers: set[int]) -> type:
    """``stream_class`` noting in ``readers`` every thread that reads from it."""

    class Watched(stream_class):
        def read(self, *args):
            readers.add(threading.get_ident())
            return super().read(*args)

        def readinto(self, *args):
            readers.add(threading.get_ident())
            return super().readinto(*args)

    return Watched


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


def test_a_file_on_disk_is_read_by_arrow_natively_not_through_the_python_stream(tmp_path):
    """Arrow's CSV reader reads a Python stream from its own IO thread; a pool thread still holding one of
    its buffers at exit aborts the process (docs/node.md). A blob on the file system is read by path:
    only the caller's thread touches the Python stream (the header peek)."""
    readers: set[int] = set()
    Watched = watched(io.FileIO, readers)

    path = tmp_path / "table.csv"
    rows = [f"{i},{i * 0.5},station {i % 7}" for i in range(100_000)] + ["x,1.5,last"]
    path.write_bytes(b"n,x,name\n" + "\n".join(rows).encode() + b"\n")
    with Watched(str(path)) as stream:
        found = infer.infer_csv(stream)
    assert [a.kind for a in found.attributes] == ["text", "real", "text"]  # the last row's "x" counts
    assert found.records == len(rows)
    assert readers == {threading.get_ident()}


def test_a_blob_of_file_system_storage_is_read_by_path(tmp_path):
    from django.core.files.storage import FileSystemStorage

    (tmp_path / "t.csv").write_bytes(b"a,b\n1,2\n")
    with FileSystemStorage(location=tmp_path).open("t.csv", "rb") as stream:
        assert infer._native(stream) == str(tmp_path / "t.csv")
    assert infer._native(io.BytesIO(b"a,b\n1,2\n")) is None  # an S3 body, say: copied first


def test_a_stream_that_is_no_file_is_copied_on_the_callers_thread_and_the_copy_removed(monkeypatch):
    """An S3 body has no path: it is copied to a temporary file on the caller's thread, Arrow reads the
    copy, and the copy is gone afterwards — also when the file is no CSV."""
    import tempfile

    readers: set[int] = set()
    copies: list[str] = []
    Watched = watched(io.BytesIO, readers)

    made = tempfile.NamedTemporaryFile

    def recorded(*args, **kwargs):
        copy = made(*args, **kwargs)
        copies.append(copy.name)
        return copy

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", recorded)
    rows = [f"{i},{i * 0.5}" for i in range(100_000)]
    found = infer.infer_csv(Watched(b"n,x\n" + "\n".join(rows).encode() + b"\n"))
    assert [a.kind for a in found.attributes] == ["int", "real"] and found.records == len(rows)
    assert readers == {threading.get_ident()}
    with pytest.raises(ValueError, match="not a readable CSV"):
        infer.infer_csv(Watched(b"a,b\n1,2\n\xff\xfe,3\n"))
    assert len(copies) == 2 and not any(os.path.exists(c) for c in copies)
