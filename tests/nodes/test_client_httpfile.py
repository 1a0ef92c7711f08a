"""The node's HTTP Range file (quayside_node.httpfile) against a real HTTP server on 127.0.0.1:
pyarrow reads only the footer and the column chunks asked for; a file replaced mid-read is noticed."""

from __future__ import annotations

import os
import threading

import numpy as np
import pyarrow.parquet as pq
import pytest
from quayside_node import rank
from quayside_node.httpfile import HTTPRangeFile, RangeError, RemoteFileChanged

from tests.support import node_reference
from tests.support.httpserver import LocalServer
from tests.support.mirror_server import RangeServer


@pytest.fixture
def catalog_file(tmp_path):
    catalog, _health = node_reference.synthetic(30_000)
    path = tmp_path / "stac.parquet"
    pq.write_table(catalog, path, row_group_size=8000, compression="zstd")
    return path


def needed_spans(path, columns) -> list[tuple[int, int]]:
    """The byte spans (inclusive) of the column chunks of ``columns`` in every row group, neighbours
    merged when less than 8 KiB apart (pyarrow's pre-buffering coalesces reads across such holes:
    ``CacheOptions.hole_size_limit``)."""
    meta = pq.ParquetFile(path).metadata
    spans = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.path_in_schema.split(".")[0] in columns:
                start = chunk.dictionary_page_offset or chunk.data_page_offset
                spans.append((start, start + chunk.total_compressed_size - 1))
    merged = [spans[0]]
    for a, b in spans[1:]:
        if a - merged[-1][1] <= 8192:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def test_pyarrow_reads_only_the_footer_and_the_needed_column_chunks(catalog_file):
    size = catalog_file.stat().st_size
    spans = needed_spans(catalog_file, rank.CATALOG_COLUMNS)
    with RangeServer(catalog_file.parent) as server:
        remote = HTTPRangeFile(f"{server.url}/stac.parquet")
        remote_catalog = rank.read_catalog(remote, subjects=["subject-1"])
        ids = remote_catalog.ids(remote_catalog.row[:100])  # the id column, read for these rows only
        ranges = list(server.ranges)
    local_catalog = rank.read_catalog(catalog_file, subjects=["subject-1"])
    for name in ("hi", "mid", "lo", "favoured", "row"):
        assert np.array_equal(getattr(remote_catalog, name), getattr(local_catalog, name))
    assert ids.equals(local_catalog.ids(local_catalog.row[:100]))
    assert ranges[0] == (size - 64 * 1024, size - 1)  # the tail: the footer
    assert None not in ranges  # never the whole file
    for start, end in ranges[1:]:
        assert any(a <= start and end <= b for a, b in spans), (start, end)
    # Each needed byte at most once; the description column (most of the file) never.
    assert remote.bytes_fetched <= sum(b - a + 1 for a, b in spans) + 64 * 1024 < size / 2
    assert remote.requests == len(ranges)


def test_reads_and_seeks_return_the_files_bytes(tmp_path):
    data = os.urandom(200_000)
    (tmp_path / "blob").write_bytes(data)
    with RangeServer(tmp_path) as server:
        remote = HTTPRangeFile(f"{server.url}/blob", tail_bytes=1000)
        assert remote.size == len(data)
        assert remote.read(10) == data[:10]
        remote.seek(150_000)
        assert remote.read(20_000) == data[150_000:170_000]
        remote.seek(-1500, os.SEEK_END)
        assert remote.read() == data[-1500:]
        assert remote.read(5) == b""
        remote.seek(5)
        buffer = bytearray(7)
        assert remote.readinto(buffer) == 7 and bytes(buffer) == data[5:12]
        assert remote.tell() == 12


def test_a_file_replaced_while_being_read_raises_instead_of_mixing_two_files(catalog_file):
    with RangeServer(catalog_file.parent) as server:
        remote = HTTPRangeFile(f"{server.url}/stac.parquet")
        replacement = catalog_file.with_suffix(".new")
        pq.write_table(node_reference.synthetic(1000, seed=9)[0], replacement)
        os.replace(replacement, catalog_file)  # as the portal renames a new catalog over the old one
        with pytest.raises(RemoteFileChanged):
            rank.read_catalog(remote)
        assert server.ranges[-1] is None  # If-Range failed: the server offered the whole file, unread


def test_a_server_without_range_support_is_refused(tmp_path):
    (tmp_path / "stac.parquet").write_bytes(b"x" * 100_000)
    with LocalServer(tmp_path) as server, pytest.raises(RangeError, match="ignores Range"):
        HTTPRangeFile(f"{server.url}/stac.parquet")


def test_prefetched_ranges_are_fetched_coalesced_and_read_from_memory(tmp_path):
    data = os.urandom(300_000)
    (tmp_path / "blob").write_bytes(data)
    with RangeServer(tmp_path) as server:
        remote = HTTPRangeFile(f"{server.url}/blob", tail_bytes=1000)
        # The first two are 3,000 bytes apart (under the 8 KiB hole): one request; the third its own.
        remote.prefetch([(100_000, 110_000), (1000, 2000), (5000, 9000)])
        assert remote.requests == 3
        assert server.ranges[1:] == [(1000, 8999), (100_000, 109_999)]
        remote.seek(5500)
        assert remote.read(3000) == data[5500:8500]
        remote.seek(100_000)
        assert remote.read(10_000) == data[100_000:110_000]
        assert remote.requests == 3  # both reads from memory
        remote.seek(108_000)
        assert remote.read(4000) == data[108_000:112_000]  # past the block's end: fetched
        assert remote.requests == 4
        remote.prefetch([])  # freed: the same read is fetched again
        remote.seek(5500)
        assert remote.read(10) == data[5500:5510] and remote.requests == 5


class ThreadRecordingFile(HTTPRangeFile):
    """An ``HTTPRangeFile`` that notes which threads read it."""

    def __init__(self, *args, **kwargs):
        self.threads: set[int] = set()
        super().__init__(*args, **kwargs)

    def read(self, size: int = -1) -> bytes:
        self.threads.add(threading.get_ident())
        return super().read(size)

    read_buffer = read


def test_only_the_callers_thread_reads_the_http_file(tmp_path):
    """A Python buffer that one of Arrow's pool threads reads also ends on that thread, and a pool worker
    keeps its last task until the pool shuts down at process exit: freeing the buffer then needs the GIL
    after Python stopped handing it out, and ``quayside-node rank`` aborted ("terminate called without an
    active exception") in 3 to 12 runs of 200. The catalog, the ids and health are read on the caller's
    thread only (no pre-buffering or decoding threads); 300 runs of the command then all ended cleanly."""
    catalog, health = node_reference.synthetic(20_000)
    pq.write_table(catalog, tmp_path / "stac.parquet", row_group_size=4000, compression="zstd")
    pq.write_table(health, tmp_path / "health.parquet", row_group_size=2000, compression="zstd")
    with RangeServer(tmp_path) as server:
        catalog_file = ThreadRecordingFile(f"{server.url}/stac.parquet")
        health_file = ThreadRecordingFile(f"{server.url}/health.parquet")
        remote = rank.read_catalog(catalog_file)
        ranked = rank.rank(remote, rank.read_health(health_file), budget=10**12)
    assert ranked.rows.num_rows > 0 and ranked.rows["id"].null_count == 0
    assert catalog_file.threads == health_file.threads == {threading.get_ident()}
