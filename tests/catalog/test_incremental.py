"""The catalog is kept incrementally: a change rebuilds only its package's segment and the served file is
stitched from all segments (atomically); a change that needs a wider ``assets`` struct, or a forced
build, is full; changes made during a build are kept for the next one."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from apps.catalog import parquet, services
from apps.catalog.models import CatalogChange, CatalogState
from apps.publishing import services as publishing

from .conftest import read_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_package_per_segment(settings):
    settings.CATALOG_SEGMENT_PACKAGES = 1


def _segments():
    folder = parquet.segments_dir(services.catalog_path())
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}


def test_a_release_rebuilds_only_its_segment_and_the_served_file_is_stitched(
    make_revision, django_capture_on_commit_callbacks
):
    first, other = make_revision(), make_revision()
    assert services.refresh(force=True).endswith("(full build)")
    before = _segments()
    assert len(before) == 2
    with django_capture_on_commit_callbacks(execute=False):
        second = make_revision(package=first.package, number=2)
    assert set(CatalogChange.objects.values_list("package_id", flat=True)) == {first.package_id}
    assert services.refresh().endswith("(1 segment(s) rebuilt)")
    after = _segments()
    mine = f"{parquet.segment_of(first.package_id):08d}.parquet"
    assert after[mine] != before[mine]
    assert {k: v for k, v in after.items() if k != mine} == {k: v for k, v in before.items() if k != mine}
    assert not CatalogChange.objects.exists() and services.refresh() == "current"
    table = read_catalog()
    rows = {r["id"]: r for r in table.to_pylist()}
    assert set(rows) == {first.package_id_text, second.package_id_text, other.package_id_text}
    # The new version's neighbour links are in both of its package's rows.
    assert any(link["rel"] == "successor-version" for link in rows[first.package_id_text]["links"])
    # The stitched file keeps the spec's file metadata and one row group per segment's batch.
    metadata = pq.read_metadata(services.catalog_path())
    assert {b"geo", b"stac-geoparquet"} <= set(metadata.metadata)
    assert metadata.num_row_groups == 2 and metadata.num_rows == 3
    # A withdrawal turns its row into a tombstone: again only its segment.
    with django_capture_on_commit_callbacks(execute=False):
        publishing.withdraw(other, reason="Wrong calibration", category="data-error")
    assert services.refresh().endswith("(1 segment(s) rebuilt)")
    gone = {r["id"]: r for r in read_catalog().to_pylist()}[other.package_id_text]
    assert gone["quayside:status"] == "withdrawn" and gone["assets"]["file-1"] is None


def test_a_wider_version_or_a_lost_build_makes_the_next_build_full(
    make_revision, django_capture_on_commit_callbacks, monkeypatch
):
    first = make_revision(files=1)
    services.refresh(force=True)
    with django_capture_on_commit_callbacks(execute=False):
        make_revision(files=3)  # needs assets file-1 … file-3: every segment's schema changes
    assert services.refresh().endswith("(full build)")
    assert "file-3" in read_catalog().schema.field("assets").type.names

    def broken(*args, **kwargs):
        raise OSError("disk full")

    with django_capture_on_commit_callbacks(execute=False):
        make_revision(package=first.package, number=2)
    monkeypatch.setattr(parquet, "stitch", broken)
    with pytest.raises(OSError):
        services.refresh()
    # The change is kept, the served file is the old one (never half-written), and the next build makes it.
    assert CatalogChange.objects.filter(package_id=first.package_id).exists()
    assert CatalogState.get().dirty_at is not None and len(read_catalog()) == 2
    monkeypatch.undo()
    services.refresh()
    assert len(read_catalog()) == 3


@pytest.mark.django_db(transaction=True)
def test_a_full_build_in_several_processes_writes_the_same_file_as_one_process(make_revision, settings):
    """Committed data (no transaction open): the segments are written by forked processes, each with its
    own connection, and the served file is byte for byte the one a single process writes."""
    first = make_revision()
    make_revision(package=first.package, number=2)
    for _ in range(3):
        make_revision()
    settings.CATALOG_BUILD_PROCESSES = 1
    services.refresh(force=True)
    alone = services.catalog_path().read_bytes()
    settings.CATALOG_BUILD_PROCESSES = 2
    assert services.refresh(force=True).endswith("(full build)")
    assert services.catalog_path().read_bytes() == alone
    assert len(_segments()) == 4 and read_catalog().num_rows == 5
    # The parent's connection was closed before the fork and works again afterwards.
    assert CatalogState.objects.count() == 1


def test_a_segment_is_written_without_parallel_query_workers_and_the_connection_is_left_as_it_was(
    make_revision, tmp_path
):
    """On PostgreSQL a segment's queries run without parallel workers (the build's own processes use the
    cores); the connection's setting is back as it was afterwards, also when the build fails."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    make_revision()

    def setting():
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    before = setting()
    seen = []
    real = parquet.items.iter_records

    def spying(*args, **kwargs):
        seen.append(setting())
        yield from real(*args, **kwargs)

    sch = parquet.schema(*parquet.items.asset_width())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parquet.items, "iter_records", spying)
        parquet.write_segment(tmp_path, 0, sch, 100)
    assert seen == ["0"] and setting() == before != "0"

    def failing(*args, **kwargs):
        raise RuntimeError("the database went away")
        yield

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(parquet.items, "iter_records", failing)
        with pytest.raises(RuntimeError, match="went away"):
            parquet.write_segment(tmp_path, 0, sch, 100)
    assert setting() == before
