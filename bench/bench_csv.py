#!/usr/bin/env python
"""Type-checking a large CSV table against its EML attribute list.

Generates a ~1 GB CSV (×BENCH_SCALE) with 20 columns — integers, reals, dates with a formatString,
enumerated codes, missing-value codes — described by a real EML 2.2.0 document, then measures in the
same run, each in its own process (so each peak RSS is its own):

- Quayside's checker (apps.packages.tablecheck.check_table: streaming pyarrow, vectorised checks) on the
  whole file;
- frictionless 5 (``validate`` with an equivalent Table Schema) on a prefix (50 MB × BENCH_SCALE, at
  least 5 MB) — it is far slower, a prefix gives its rate;
- pyarrow's raw typed CSV read (streaming open_csv with the declared column types) on the whole file,
  the ceiling.

Targets: ≥ 50× frictionless, ≥ 0.5× the raw typed pyarrow read, bounded memory.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.support import head_lines, phase_main, run_phase, work_dir, write_results  # noqa: E402  (bench/ is run as a script)

sys.path.insert(0, str(HERE.parent))
SCALE = float(os.environ.get("BENCH_SCALE", "1.0"))
TARGET_BYTES = int(1024**3 * SCALE)
PREFIX_BYTES = max(5 * 1024**2, int(50 * 1024**2 * SCALE))
CODES = ["AA", "BB", "CC", "DD", "EE", "FF", "GG", "HH"]
QUALITY = ["good", "probably_good", "bad", "not_checked"]


def columns():
    from apps.packages.eml.build import Column

    cols = [
        Column("id", "natural"),
        Column("station", "code", codes=CODES),
        Column("date", "date", format="YYYY-MM-DD"),
        Column("time", "date", format="YYYY-MM-DDThh:mm:ss"),
    ]
    cols += [Column(f"real_{i}", "real", unit="dimensionless", missing=["NA", "-9999"]) for i in range(8)]
    cols += [Column(f"int_{i}", "int", unit="number", missing=["-9999"]) for i in range(4)]
    cols += [
        Column("count", "whole"),
        Column("depth", "real", unit="meter", minimum=0, maximum=11000),
        Column("flag", "code", codes=QUALITY, missing=["NA"]),
        Column("note"),
    ]
    return cols


def generate(path: Path) -> int:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(42)
    cols = columns()
    names = [c.name for c in cols]
    written, start, chunk = 0, 0, 200_000
    opts = pacsv.WriteOptions(include_header=True, quoting_style="none")
    with open(path, "wb") as out:
        while written < TARGET_BYTES:
            n = chunk
            ids = np.arange(start + 1, start + n + 1)
            base = np.datetime64("2020-01-01T00:00:00") + rng.integers(0, 4 * 365 * 86400, n).astype(
                "timedelta64[s]"
            )
            arrays = [
                pa.array(ids).cast(pa.string()),
                pa.array(np.array(CODES)[rng.integers(0, len(CODES), n)]),
                pc.strftime(pa.array(base.astype("datetime64[D]")), "%Y-%m-%d"),
                pc.strftime(pa.array(base), "%Y-%m-%dT%H:%M:%S"),
            ]
            for i in range(8):
                vals = pc.cast(pa.array(np.round(rng.normal(10 * i, 5, n), 4)), pa.string())
                missing = rng.random(n) < 0.02
                arrays.append(pc.if_else(pa.array(missing), pa.scalar("NA" if i % 2 else "-9999"), vals))
            for _ in range(4):
                vals = pc.cast(pa.array(rng.integers(-100_000, 100_000, n)), pa.string())
                arrays.append(pc.if_else(pa.array(rng.random(n) < 0.01), pa.scalar("-9999"), vals))
            arrays += [
                pc.cast(pa.array(rng.integers(0, 500, n)), pa.string()),
                pc.cast(pa.array(np.round(rng.uniform(0, 5000, n), 1)), pa.string()),
                pa.array(np.array(QUALITY + ["NA"])[rng.integers(0, 5, n)]),
                pa.array(np.array(["ok", "calm sea", "swell", "rain", "fog"])[rng.integers(0, 5, n)]),
            ]
            table = pa.Table.from_arrays(arrays, names=names)
            pacsv.write_csv(table, out, write_options=opts)
            opts = pacsv.WriteOptions(include_header=False, quoting_style="none")
            start += n
            written = out.tell()
    return start


def describe(path: Path, rows: int):
    from apps.packages.eml import validate_eml
    from apps.packages.eml.build import Table, build_eml
    from apps.packages.eml.extract import extract

    table = Table(
        "big", "Benchmark table", columns(), object_name=path.name, size=path.stat().st_size, records=rows
    )
    result = validate_eml(build_eml("edi.1.1", [table]))
    assert result.valid, result.reasons
    return extract(result.tree).entities[0]


# --- phases (each runs in its own process) ----------------------------------------------------------


def phase_quayside(path: str, rows: str) -> dict:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from apps.packages.tablecheck import check_table

    decl = describe(Path(path), int(rows))
    t = time.perf_counter()
    res = check_table(path, decl)
    elapsed = time.perf_counter() - t
    assert not res.fatal and not res.columns and not res.bad_row_count, (res.fatal, res.columns)
    assert res.records == int(rows), (res.records, rows)
    return {"seconds": elapsed, "rows": res.records}


def phase_pyarrow(path: str, rows: str) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types = {
        "id": pa.int64(),
        "station": pa.string(),
        "date": pa.date32(),
        "time": pa.timestamp("s"),
        "count": pa.int64(),
        "depth": pa.float64(),
        "flag": pa.string(),
        "note": pa.string(),
    }
    types.update({f"real_{i}": pa.float64() for i in range(8)})
    types.update({f"int_{i}": pa.int64() for i in range(4)})
    # pyarrow's own defaults (ISO-8601 timestamps, default block size): its fastest typed read.
    convert = pacsv.ConvertOptions(column_types=types, null_values=["NA", "-9999", ""])
    t = time.perf_counter()
    n = 0
    for batch in pacsv.open_csv(path, convert_options=convert):
        n += batch.num_rows
    return {"seconds": time.perf_counter() - t, "rows": n}


def phase_frictionless(path: str, rows: str) -> dict:
    from frictionless import Resource, Schema

    fields = []
    for c in columns():
        f: dict = {"name": c.name}
        if c.kind in ("int", "natural", "whole"):
            f["type"] = "integer"
            if c.kind == "natural":
                f["constraints"] = {"minimum": 1}
            elif c.kind == "whole":
                f["constraints"] = {"minimum": 0}
        elif c.kind == "real":
            f["type"] = "number"
            if c.minimum is not None:
                f["constraints"] = {"minimum": c.minimum, "maximum": c.maximum}
        elif c.kind == "date":
            f["type"], f["format"] = (
                ("date", "%Y-%m-%d") if c.format == "YYYY-MM-DD" else ("datetime", "%Y-%m-%dT%H:%M:%S")
            )
        elif c.kind == "code":
            f["type"], f["constraints"] = "string", {"enum": c.codes + c.missing}
        else:
            f["type"] = "string"
        fields.append(f)
    schema = Schema.from_descriptor({"fields": fields, "missingValues": ["", "NA", "-9999"]})
    p = Path(path)
    t = time.perf_counter()
    report = Resource(path=p.name, basepath=str(p.parent), schema=schema).validate()
    elapsed = time.perf_counter() - t
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:5]
    return {"seconds": elapsed, "rows": report.tasks[0].stats.get("rows")}


def big_csv(workdir: Path) -> tuple[Path, int]:
    """Generate ``workdir/big.csv`` (the table ``describe`` declares) and say how long it took: the path
    and its number of rows. bench_parquet converts the same file."""
    path = workdir / "big.csv"
    t = time.perf_counter()
    rows = generate(path)
    size = path.stat().st_size
    print(
        f"generated {size / 1e6:,.0f} MB, {rows:,} rows × 20 columns in {time.perf_counter() - t:.1f} s ({path})"
    )
    return path, rows


def main() -> int:
    workdir = work_dir("bench-csv-")
    path, rows = big_csv(workdir)
    size = path.stat().st_size
    small = head_lines(path, workdir / "prefix.csv", PREFIX_BYTES)
    small_rows = sum(1 for _ in open(small, "rb")) - 1
    results = {}
    for name, target, nrows in (
        ("pyarrow", path, rows),
        ("quayside", path, rows),
        ("frictionless", small, small_rows),
    ):
        r = run_phase(__file__, name, target, nrows)
        mb = target.stat().st_size / 1e6
        r["mb"], r["mbps"] = mb, mb / r["seconds"]
        results[name] = r
        print(
            f"{name:13} {mb:9,.0f} MB in {r['seconds']:7.2f} s = {r['mbps']:8.1f} MB/s   peak RSS {r['rss_mb']:7.0f} MB"
        )
    q, p, f = results["quayside"]["mbps"], results["pyarrow"]["mbps"], results["frictionless"]["mbps"]
    print(f"ratio quayside / frictionless     = {q / f:7.1f}×   (target ≥ 50×)")
    print(f"ratio quayside / raw typed pyarrow = {q / p:7.2f}×   (target ≥ 0.5×)")
    print(
        f"file size / quayside peak RSS     = {size / 1e6 / results['quayside']['rss_mb']:7.1f}   (memory bounded: "
        "the peak does not grow with the file)"
    )
    write_results(
        "csv",
        figures={
            "scale": SCALE,
            "file_mb": round(size / 1e6, 1),
            "rows": rows,
            "quayside_mb_s": round(q, 1),
            "quayside_peak_rss_mb": round(results["quayside"]["rss_mb"]),
            "ratio_to_frictionless": round(q / f, 1),
            "ratio_to_pyarrow": round(q / p, 2),
        },
        peers={
            "pyarrow_typed_read_mb_s": round(p, 1),
            "frictionless_mb_s": round(f, 2),
            "frictionless_prefix_mb": round(results["frictionless"]["mb"], 1),
        },
        summary=(
            f"table check {q:,.0f} MB/s on {size / 1e6:,.0f} MB: {q / f:.1f}× frictionless (target ≥ 50×), "
            f"{q / p:.2f}× pyarrow's typed read (target ≥ 0.5×), peak RSS {results['quayside']['rss_mb']:,.0f} MB"
        ),
    )
    if not os.environ.get("BENCH_KEEP"):
        path.unlink()
        small.unlink()
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        phase_main({"quayside": phase_quayside, "pyarrow": phase_pyarrow, "frictionless": phase_frictionless})
    sys.exit(main())
