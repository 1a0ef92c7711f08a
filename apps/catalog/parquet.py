"""Writing the STAC GeoParquet catalog: records → Arrow columns → Parquet, one row group per batch.

Follows stac-geoparquet 1.0.0 (https://github.com/stac-utils/stac-geoparquet/blob/main/spec/stac-geoparquet-spec.md)
and GeoParquet 1.1.0: top-level ``type``, ``stac_version``, ``stac_extensions``, ``id``, ``geometry`` (WKB,
``geoarrow.wkb`` field metadata), ``bbox`` (struct xmin/ymin/xmax/ymax, the GeoParquet covering),
``collection``, ``links`` (list of structs), ``assets`` (a struct keyed by asset key); every item property is
a top-level column; datetimes are UTC timestamps. The file's key/value metadata carries ``geo`` and
``stac-geoparquet`` (with the collections), written the way the stac-geoparquet package writes them.

Columns are built directly (child arrays and offsets), not from per-item dicts (the stac-geoparquet
package's way, which bench/bench_catalog.py measures beside it). ``write_catalog`` keeps the catalog as
segment files and rebuilds only the segments a change touched (see "segments" below); the served file is
written to a temporary file beside the target and renamed over it when complete (atomic on POSIX).

The build's inputs, for its manifest (``apps.catalog.builds``): the records each segment was written
from, as the SHA-256 of the Arrow record batches handed to the writer (their IPC serialisation, batch by
batch: the database rows as the writer saw them), and the collections written into the file metadata.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from . import items

STAC_GEOPARQUET_VERSION = "1.0.0"
GEOPARQUET_VERSION = "1.1.0"
WRITER_OPTIONS = {"compression": "zstd", "write_statistics": True}

TS = pa.timestamp("us", tz="UTC")
LINK = pa.struct([("rel", pa.string()), ("href", pa.string()), ("type", pa.string()), ("title", pa.string())])
ASSET = pa.struct(
    [
        ("href", pa.string()),
        ("type", pa.string()),
        ("title", pa.string()),
        ("roles", pa.list_(pa.string())),
        ("file:size", pa.int64()),
        ("file:checksum", pa.string()),
        ("quayside:alternate_of", pa.string()),
        ("quayside:manifest", pa.string()),
    ]
)
BBOX = pa.struct(
    [("xmin", pa.float64()), ("ymin", pa.float64()), ("xmax", pa.float64()), ("ymax", pa.float64())]
)
_WKB_FIELD_META = {b"ARROW:extension:name": b"geoarrow.wkb", b"ARROW:extension:metadata": b"{}"}


def asset_keys(files: int, mirrors: int) -> list[str]:
    return (
        [f"file-{i}" for i in range(1, files + 1)]
        + ["metadata", "torrent", "navigation", "navigation-manifest"]
        + [f"mirror-{i}" for i in range(1, mirrors + 1)]
    )


def schema(files: int, mirrors: int) -> pa.Schema:
    assets = pa.struct([(key, ASSET) for key in asset_keys(files, mirrors)])
    return pa.schema(
        [
            ("type", pa.string()),
            ("stac_version", pa.string()),
            ("stac_extensions", pa.list_(pa.string())),
            ("id", pa.string()),
            pa.field("geometry", pa.binary(), metadata=_WKB_FIELD_META),
            ("bbox", BBOX),
            ("collection", pa.string()),
            ("links", pa.list_(LINK)),
            ("assets", assets),
            ("datetime", TS),
            ("start_datetime", TS),
            ("end_datetime", TS),
            ("created", TS),
            ("updated", TS),
            ("title", pa.string()),
            ("description", pa.string()),
            ("keywords", pa.list_(pa.string())),
            ("license", pa.string()),
            ("version", pa.string()),
            ("deprecated", pa.bool_()),
            ("sci:doi", pa.string()),
            ("quayside:status", pa.string()),
            ("quayside:seeders", pa.int32()),
            ("quayside:verified_mirrors", pa.int32()),
            ("quayside:infohash", pa.string()),
            ("quayside:geometry_source", pa.string()),
        ]
    )


def file_metadata(collections: dict[str, dict]) -> dict[bytes, bytes]:
    """The ``geo`` (GeoParquet 1.1) and ``stac-geoparquet`` key/value metadata of the file."""
    geo = {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": [],  # any: boxes, points, multipolygons (later tracklines)
                "edges": "planar",
                "covering": {
                    "bbox": {
                        "xmin": ["bbox", "xmin"],
                        "ymin": ["bbox", "ymin"],
                        "xmax": ["bbox", "xmax"],
                        "ymax": ["bbox", "ymax"],
                    }
                },
            }
        },
    }
    stac = {"version": STAC_GEOPARQUET_VERSION, "collections": collections}
    return {b"geo": json.dumps(geo).encode(), b"stac-geoparquet": json.dumps(stac).encode()}


def _nullable(values: list) -> list:
    return [v if v else None for v in values]


def to_batch(records: list[items.Record], sch: pa.Schema) -> pa.RecordBatch:
    n = len(records)
    geoms = [r.geometry for r in records]
    wkb = shapely.to_wkb(geoms, output_dimension=2)
    bounds = shapely.bounds(geoms)
    bbox = pa.StructArray.from_arrays(
        [pa.array(bounds[:, i], pa.float64()) for i in range(4)], fields=list(BBOX)
    )

    # links: one flat child array per field, and offsets (flattened and transposed by C loops: zip and
    # accumulate; a Python loop appending four lists per link was a tenth of the build)
    flat = [link for r in records for link in r.links]
    offsets = list(itertools.accumulate((len(r.links) for r in records), initial=0))
    rel, href, typ, title = zip(*flat, strict=True) if flat else ((), (), (), ())
    typ = [t or None for t in typ]
    title = [t or None for t in title]
    link_values = pa.StructArray.from_arrays(
        [
            pa.array(rel, pa.string()),
            pa.array(href, pa.string()),
            pa.array(typ, pa.string()),
            pa.array(title, pa.string()),
        ],
        fields=list(LINK),
    )
    links = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), link_values, type=pa.list_(LINK))

    # assets: one struct child per key; a row without that asset has it null (a key no row of the batch
    # has — most mirrors, the navigation of datasets without a cruise — is one null array)
    asset_type = sch.field("assets").type
    by_key = [{a[0]: a for a in r.assets} for r in records]
    present = {key for row in by_key for key in row}
    children = []
    for key_field in asset_type:
        if key_field.name not in present:
            children.append(pa.nulls(n, ASSET))
            continue
        found = [row.get(key_field.name) for row in by_key]
        children.append(
            pa.StructArray.from_arrays(
                [
                    pa.array([a[1] if a else None for a in found], pa.string()),
                    pa.array([(a[2] or None) if a else None for a in found], pa.string()),
                    pa.array([(a[3] or None) if a else None for a in found], pa.string()),
                    pa.array([a[4] if a else None for a in found], pa.list_(pa.string())),
                    pa.array([a[5] if a else None for a in found], pa.int64()),
                    pa.array([a[6] if a else None for a in found], pa.string()),
                    pa.array([a[7] if a else None for a in found], pa.string()),
                    pa.array([a[8] if a else None for a in found], pa.string()),
                ],
                fields=list(ASSET),
                mask=pa.array([a is None for a in found], pa.bool_()),
            )
        )
    assets = (
        pa.StructArray.from_arrays(children, fields=list(asset_type)) if children else pa.nulls(n, asset_type)
    )

    columns = {
        "type": pa.array(["Feature"] * n, pa.string()),
        "stac_version": pa.array([items.STAC_VERSION] * n, pa.string()),
        "stac_extensions": pa.array([items.STAC_EXTENSIONS] * n, pa.list_(pa.string())),
        "id": pa.array([r.id for r in records], pa.string()),
        "geometry": pa.array(wkb, pa.binary()),
        "bbox": bbox,
        "collection": pa.array([r.collection for r in records], pa.string()),
        "links": links,
        "assets": assets,
        "datetime": pa.array([r.datetime for r in records], TS),
        "start_datetime": pa.array([r.start_datetime for r in records], TS),
        "end_datetime": pa.array([r.end_datetime for r in records], TS),
        "created": pa.array([r.created for r in records], TS),
        "updated": pa.array([r.updated for r in records], TS),
        "title": pa.array([r.title for r in records], pa.string()),
        "description": pa.array([r.description for r in records], pa.string()),
        "keywords": pa.array([r.keywords for r in records], pa.list_(pa.string())),
        "license": pa.array(_nullable([r.license for r in records]), pa.string()),
        "version": pa.array([r.version for r in records], pa.string()),
        "deprecated": pa.array([r.deprecated for r in records], pa.bool_()),
        "sci:doi": pa.array(_nullable([r.doi for r in records]), pa.string()),
        "quayside:status": pa.array([r.status for r in records], pa.string()),
        "quayside:seeders": pa.array([r.seeders for r in records], pa.int32()),
        "quayside:verified_mirrors": pa.array([r.verified_mirrors for r in records], pa.int32()),
        "quayside:infohash": pa.array([r.infohash or None for r in records], pa.string()),
        "quayside:geometry_source": pa.array([r.geometry_source for r in records], pa.string()),
    }
    return pa.RecordBatch.from_arrays([columns[f.name] for f in sch], schema=sch)


def collections() -> dict[str, dict]:
    """One STAC collection per scope (``edi``, ``knb-lter-…``): the versions of that scope's datasets."""
    from . import catalog_json

    return {c["id"]: c for c in catalog_json.collection_documents()}


@dataclass
class Built:
    rows: int
    size: int
    sha256: str
    seconds: float
    segments: int = 0  # segments (re)built by this build
    full: bool = True
    # What the served file was made from, for its build manifest: every segment's input (rebuilt now or
    # kept from an earlier build), the collections written into the file metadata, the asset width.
    inputs: list[SegmentInput] = field(default_factory=list)
    collections: bytes = b""
    width: tuple[int, int] = (0, 0)
    batch_size: int = 0


# --- segments ----------------------------------------------------------------------------------------
#
# The catalog is kept as segment files, one per range of ``CATALOG_SEGMENT_PACKAGES`` package ids
# (``segments/00000012.parquet`` holds packages 60,000–64,999 at the default 5,000), beside the served
# file. A change rebuilds only the segments of the packages it touched (a package's rows depend only on
# that package: its versions' links point at each other), then the served file is stitched from every
# segment's row groups — read and written again (pyarrow cannot copy encoded row groups into another
# file), which costs far less than building rows from the database. A full build writes every segment.
#
# ``segments/segments.json`` records what the segments were written with: the asset width (the
# ``assets`` struct's keys must be one schema across segments) and ``SEGMENT_FORMAT``. When a change needs
# more asset keys than the segments have, or the format or segment size changed, the build is full.

SEGMENT_FORMAT = 3  # bump when the rows' columns or contents change for the same database


def segments_dir(target: Path) -> Path:
    return Path(target).parent / "segments"


def segment_of(package_id: int) -> int:
    from django.conf import settings

    return package_id // settings.CATALOG_SEGMENT_PACKAGES


def _segment_path(folder: Path, k: int) -> Path:
    return folder / f"{k:08d}.parquet"


def temporary_path(path: Path) -> Path:
    """A unique temporary name beside ``path`` (one per process and call), for writing then renaming."""
    return path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")


def replace_synced(tmp: Path, target: Path) -> None:
    """Flush ``tmp`` to disk, then rename it over ``target`` (atomic on POSIX: readers see old or new)."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)


@dataclass(frozen=True)
class SegmentInput:
    """What segment ``k`` was written from: ``rows`` records whose Arrow batches (IPC, ``size`` bytes)
    hash to ``sha256``."""

    k: int
    rows: int
    sha256: str
    size: int


def write_segment(
    folder: Path, k: int, sch: pa.Schema, batch_size: int, segment_packages: int | None = None
) -> SegmentInput:
    """Rebuild segment ``k`` from the database (atomically); a segment left without rows is removed.
    Returns what it was written from (the SHA-256 of the batches handed to the writer)."""
    from django.conf import settings

    size = segment_packages or settings.CATALOG_SEGMENT_PACKAGES
    qs = items.queryset().filter(package_id__gte=k * size, package_id__lt=(k + 1) * size)
    target = _segment_path(folder, k)
    tmp = temporary_path(target)
    rows = hashed = 0
    digest = hashlib.sha256()
    # The cyclic garbage collector is paused while a segment is built: a batch allocates hundreds of
    # thousands of tuples and strings (none in cycles), and the collections this set off took ~45 % of
    # the build's CPU (bench/bench_catalog.py). Memory stays bounded by the batch; what a cycle might
    # hold is collected when the collector runs again after the segment.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _no_parallel_workers(), pq.ParquetWriter(tmp, sch, **WRITER_OPTIONS) as writer:
            for batch in items.iter_records(batch_size, qs=qs):
                arrow = to_batch(batch, sch)
                writer.write_batch(arrow, row_group_size=batch_size)
                serialised = arrow.serialize()  # the records as the writer saw them: the build's input
                digest.update(serialised)
                hashed += serialised.size
                rows += len(batch)
        if rows:
            replace_synced(tmp, target)
        else:
            target.unlink(missing_ok=True)
    finally:
        if collecting:
            gc.enable()
        tmp.unlink(missing_ok=True)
    return SegmentInput(k=k, rows=rows, sha256=digest.hexdigest(), size=hashed)


@contextlib.contextmanager
def _no_parallel_workers():
    """No parallel workers for this connection's queries (PostgreSQL) while a segment is written: a full
    build already writes its segments in one process per core, and a query's own workers only took turns
    with them on the same cores (bench/bench_catalog.py at 1M on 2 cores: 63 s with them, 54 s without)."""
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET max_parallel_workers_per_gather")
        except DatabaseError:  # an aborted transaction: its error is the one to see; the SET ends with it
            pass


def _segment_in_child(folder: Path, k: int, sch: pa.Schema, batch_size: int) -> SegmentInput:
    from django.db import connections

    try:
        return write_segment(folder, k, sch, batch_size)
    finally:
        connections.close_all()


def _write_segments(folder: Path, wanted: list[int], sch: pa.Schema, batch_size: int) -> list[SegmentInput]:
    """Write segments ``wanted``: in ``CATALOG_BUILD_PROCESSES`` forked processes when there are several
    and no transaction is open (a full build of a large catalog: a segment depends on the database only,
    so they build side by side, each process with its own connection, while PostgreSQL answers the
    others), else here, one after another.

    Forked, not spawned: a child starts with this process's settings (and the test database) and no
    Django start-up. The parent's connections are closed first so that no child shares its socket."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from django.conf import settings
    from django.db import connection, connections

    processes = min(settings.CATALOG_BUILD_PROCESSES, len(wanted))
    if processes <= 1 or connection.in_atomic_block or multiprocessing.current_process().daemon:
        return [write_segment(folder, k, sch, batch_size) for k in wanted]
    items.licence_url("CC-BY-4.0")  # imports the crosswalks (idutils compiles regexes for 0.5 s) once, here
    connections.close_all()
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_segment_in_child, folder, k, sch, batch_size) for k in wanted]
        # A child's error is raised here, and the build fails as a whole.
        return [future.result() for future in futures]


def _all_segments() -> list[int]:
    from django.db.models import Max, Min

    span = items.queryset().order_by().aggregate(lo=Min("package_id"), hi=Max("package_id"))
    if span["lo"] is None:
        return []
    return list(range(segment_of(span["lo"]), segment_of(span["hi"]) + 1))


def _read_layout(folder: Path) -> dict:
    try:
        return json.loads((folder / "segments.json").read_text())
    except (OSError, ValueError):
        return {}


def _write_layout(folder: Path, layout: dict) -> None:
    target = folder / "segments.json"
    tmp = temporary_path(target)
    tmp.write_text(json.dumps(layout, sort_keys=True))
    os.replace(tmp, target)


def stitch(
    folder: Path, target: Path, sch: pa.Schema, before_replace=None, *, built: Built | None = None
) -> tuple[int, int, str]:
    """The served file from every segment's row groups, in segment order, atomically (temp + rename):
    readers see the old file or the new one, never a half-written one. Returns rows, size, sha256.

    The row groups are copied as they are encoded (``rowgroups.join``): nothing is decoded again. The
    footer is that of a file of no rows that pyarrow writes with ``sch`` (its schema and the file
    metadata), so the served file says what pyarrow would have said.

    ``before_replace(tmp, built)``, if given, runs on the finished file before it replaces ``target``
    (``built`` filled in with rows, size and sha256): it records the build's manifest, so that a reader
    who sees the new file finds its manifest; if it raises, the served file stays as it was."""
    from . import rowgroups

    tmp = temporary_path(target)
    template = temporary_path(target.with_name(target.name + ".empty"))
    try:
        pq.ParquetWriter(template, sch, **WRITER_OPTIONS).close()
        with open(tmp, "wb") as out:
            rows, sha256 = rowgroups.join(sorted(folder.glob("*.parquet")), template, out)
        size = tmp.stat().st_size
        if before_replace is not None:
            built.rows, built.size, built.sha256 = rows, size, sha256
            before_replace(tmp, built)
        replace_synced(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
        template.unlink(missing_ok=True)
    return rows, size, sha256


def write_catalog(
    target: Path, *, packages: set[int] | None = None, batch_size: int = 10_000, before_replace=None
) -> Built:
    """Bring ``target`` up to date from the database: rebuild the segments holding ``packages`` (None:
    every segment — a full build), then stitch the served file from all segments, atomically.
    ``before_replace(tmp, built)`` runs on the finished file before it is served (``stitch``).

    Memory is bounded by ``batch_size`` rows (the query streams; each batch becomes one row group)."""
    from django.conf import settings

    started = time.monotonic()
    target = Path(target)
    folder = segments_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    layout = _read_layout(folder)
    expected = {
        "format": SEGMENT_FORMAT,
        "segment_packages": settings.CATALOG_SEGMENT_PACKAGES,
        "batch_size": batch_size,
    }
    full = packages is None or any(layout.get(k) != v for k, v in expected.items())
    if not full:
        files, mirrors = items.asset_width(packages=sorted(packages))
        full = files > layout["files"] or mirrors > layout["mirrors"]
        width = (layout["files"], layout["mirrors"])
    if full:
        width = items.asset_width()
    sch = schema(*width)
    if full:
        wanted = _all_segments()
        keep = {_segment_path(folder, k).name for k in wanted}
        for stale in folder.glob("*.parquet"):
            if stale.name not in keep:
                stale.unlink()
    else:
        wanted = sorted({segment_of(p) for p in packages})
    # Each segment's input: kept from the build that wrote it, replaced for those written now.
    inputs = {} if full else {int(k): v for k, v in layout.get("inputs", {}).items()}
    for written in _write_segments(folder, wanted, sch, batch_size):
        inputs.pop(written.k, None)
        if written.rows:
            inputs[written.k] = [written.rows, written.sha256, written.size]
    _write_layout(
        folder,
        {
            **expected,
            "files": width[0],
            "mirrors": width[1],
            "inputs": {str(k): v for k, v in sorted(inputs.items())},
        },
    )
    collections_now = collections()
    built = Built(
        rows=0,
        size=0,
        sha256="",
        seconds=0.0,
        segments=len(wanted),
        full=full,
        inputs=[SegmentInput(k, *v) for k, v in sorted(inputs.items())],
        collections=collections_bytes(collections_now),
        width=width,
        batch_size=batch_size,
    )
    built.rows, built.size, built.sha256 = stitch(
        folder,
        target,
        sch.with_metadata(file_metadata(collections_now)),
        before_replace,
        built=built,
    )
    built.seconds = time.monotonic() - started
    return built


def collections_bytes(collections: dict[str, dict]) -> bytes:
    """The collections as hashed for the manifest (canonical JSON: keys sorted)."""
    return json.dumps(collections, sort_keys=True, separators=(",", ":")).encode()
