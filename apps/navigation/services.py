"""Navigation services: assess files, build products, and store a cruise's track.

- ``assess(paths, start=None, end=None)`` → ``qa.Assessment`` (its ``certificate`` is the JSON of ``nav_qa``).
- ``build_products(assessment, name=...)`` → ``products.Products`` (bytes, deterministic).
- ``process_cruise_navigation(cruise, files)`` does both, stores the blobs and the ``Track``, and records the
  products with their build manifests (``builds``); it runs in the worker
  (``tasks.build_delivery_navigation`` for a delivery's files of class ``navigation``).
- ``request_delivery_navigation(delivery)`` marks the cruise's track due and queues the task after commit.
"""

from __future__ import annotations

import datetime
import os
import subprocess
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from lxml import etree

from apps.audit.services import record_event
from apps.storage import services as storage
from portal import tasks as portal_tasks

from . import builds, qa, segments
from . import products as nav_products
from .models import Track, TrackProduct, TrackSegment

NS = "urn:quayside:navigation:qareport:1"
XML_VERSION = "1.0"


def thresholds() -> qa.Thresholds:
    return qa.Thresholds(
        speed=settings.NAVIGATION_MAX_SPEED,
        acceleration=settings.NAVIGATION_MAX_ACCELERATION,
        gap=settings.NAVIGATION_GAP_SECONDS,
    )


def assess(paths, start=None, end=None, *, assume_start: datetime.date | None = None) -> qa.Assessment:
    """Read and assess navigation files (in the order given) with the configured thresholds."""
    return qa.assess(
        [os.fspath(p) for p in paths], start, end, thresholds=thresholds(), assume_start=assume_start
    )


def build_products(
    assessment: qa.Assessment, *, name: str, tolerance: float | None = None
) -> nav_products.Products:
    tol = settings.NAVIGATION_CONTROL_TOLERANCE if tolerance is None else tolerance
    return nav_products.build(assessment, tolerance=tol, name=name)


def speed_plot(assessment: qa.Assessment, points: int = 1000) -> dict:
    """Speed over time for the certificate's plot: the highest speed in each of ``points`` time bins (so a
    spike stays visible), as ``{"t": [...], "v": [...], "limit": m/s}``; times are POSIX seconds (or, for
    an undated track, seconds from its first day)."""
    a = assessment
    ok = ~np.isnan(a.speed)
    t, v = a.time[ok], a.speed[ok]
    if len(t) == 0:
        return {"t": [], "v": [], "limit": thresholds().speed, "gap": thresholds().gap}
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    span = max(float(t[-1] - t[0]), 1.0)
    bins = np.minimum(((t - t[0]) / span * points).astype(np.int64), points - 1)
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    return {
        "t": [round(float(x), 3) for x in t[starts]],
        "v": [round(float(x), 3) for x in np.fmax.reduceat(v, starts)],
        "limit": thresholds().speed,
        "gap": thresholds().gap,
    }


# --- the certificate as text and XML -----------------------------------------------------------------


def certificate_text(c: dict) -> str:
    def place(p):
        if not p:
            return "–"
        return f"{p['time'] or 'undated'}  {p['lat']:.6f}, {p['lon']:.6f}"

    lines = [
        f"Navigation quality assessment: {c['overall'].upper()}",
        f"  sentences {c['sentences']} (checksum valid {c['valid_checksum']}, bad {c['bad_checksum']}, "
        f"none {c['no_checksum']}); fixes {c['fixes']}; dated {'yes' if c['dated'] else 'no'}; clock {c['clock']}",
    ]
    if c.get("clock_offset_s") is not None:
        lines.append(f"  logger − sensor clock offset: {c['clock_offset_s']} s")
    lines += [f"  first {place(c['first'])}", f"  last  {place(c['last'])}"]
    for name, t in c["tests"].items():
        value = "–" if t["value"] is None else f"{t['value']:.3f} {t['uom']}"
        lines.append(f"  {t['rating']:<6} {name}: {value}")
    flags = ", ".join(f"{k} {v}" for k, v in c["flags"].items() if v)
    skipped = ", ".join(f"{k} {v}" for k, v in c["skipped"].items() if v)
    lines.append(f"  flags: {flags or 'none'}")
    lines.append(f"  skipped/counted: {skipped or 'nothing'}")
    if c.get("undated_note"):
        lines.append(f"  note: {c['undated_note']}")
    return "\n".join(lines) + "\n"


def _sub(parent, tag: str, text=None, **attrs):
    el = etree.SubElement(parent, f"{{{NS}}}{tag}", {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def certificate_xml(c: dict, *, cruise_id: str = "", files: list[dict] | None = None, created=None) -> bytes:
    """The certificate as XML in R2R's ``qareport`` structure (certificate → rating, tests, infos;
    configuration → parameters; filesetinfo), in Quayside's own namespace ``NS`` (docs/navigation.md):
    R2R's schema is not published for validation, and Quayside adds the reading's counts (``reading``)."""
    root = etree.Element(f"{{{NS}}}qareport", nsmap={None: NS}, version=XML_VERSION)
    _sub(root, "identifier", f"{cruise_id}_nav_qa" if cruise_id else "nav_qa")
    prov = _sub(root, "provenance")
    _sub(prov, "cruise_id", cruise_id)
    _sub(prov, "create_process", "Quayside navigation QA")
    _sub(prov, "create_time", (created or timezone.now()).strftime("%Y-%m-%dT%H:%M:%SZ"))
    cert = _sub(root, "certificate")
    _sub(
        cert,
        "rating",
        c["overall"],
        description="GREEN if all tests GREEN, RED if any test RED, else YELLOW.",
    )
    tests = _sub(cert, "tests")
    for name, t in c["tests"].items():
        test = _sub(tests, "test", name=name)
        _sub(test, "rating", t["rating"], description=t["description"])
        _sub(test, "value", "" if t["value"] is None else repr(t["value"]), uom=t["uom"])
    infos = _sub(cert, "infos")
    for name in ("first", "last"):
        p = c[name]
        info = _sub(infos, "info", name=f"{name}_epoch")
        if p:
            _sub(info, "value", p["time"] or "", lat=repr(p["lat"]), lon=repr(p["lon"]))
    _sub(_sub(infos, "info", name="epoch_interval"), "value", c["infos"]["epoch_interval_s"] or "", uom="s")
    for name, key, uom in (
        ("number_of_satellites", "satellites", None),
        ("HDOP", "hdop", None),
        ("horizontal_speed", "speed_m_s", "m/s"),
        ("horizontal_acceleration", "acceleration_m_s2", "m/s^2"),
    ):
        bounds = c["infos"].get(key)
        info = _sub(infos, "info", name=name)
        if bounds:
            b = _sub(info, "bounds")
            _sub(b, "bound", bounds[1], name="maximum", uom=uom)
            _sub(b, "bound", bounds[0], name="minimum", uom=uom)
    if c["bbox"]:
        w, s, e, n = c["bbox"]
        for name, v in (
            ("northBoundLatitude", n),
            ("southBoundLatitude", s),
            ("westBoundLongitude", w),
            ("eastBoundLongitude", e),
        ):
            _sub(_sub(infos, "info", name=name), "value", repr(v), uom="deg")
    _sub(
        _sub(infos, "info", name="number_of_gaps_longer_than_threshold"),
        "value",
        c["infos"]["gaps_longer_than_threshold"],
    )
    _sub(_sub(infos, "info", name="clock"), "value", c["clock"] or "", offset_s=c["clock_offset_s"])
    flags = _sub(cert, "flags")
    for name, count in c["flags"].items():
        _sub(flags, "flag", count, name=name)
    reading = _sub(root, "reading", format=c["format"], dated=str(c["dated"]).lower())
    for name in ("bytes", "lines", "sentences", "valid_checksum", "bad_checksum", "no_checksum", "fixes"):
        _sub(reading, "count", c[name], name=name)
    for name, count in {**c["sentence_types"], **c["skipped"]}.items():
        _sub(reading, "count", count, name=name)
    config = _sub(root, "configuration")
    params = _sub(config, "parameters")
    _sub(params, "parameter", c["window"]["start"] or "", name="data_starttime")
    _sub(params, "parameter", c["window"]["end"] or "", name="data_endtime")
    _sub(params, "parameter", c["thresholds"]["speed_m_s"], name="speed_threshold", uom="m/s")
    _sub(
        params, "parameter", c["thresholds"]["acceleration_m_s2"], name="acceleration_threshold", uom="m/s^2"
    )
    _sub(params, "parameter", c["thresholds"]["gap_s"], name="gap_threshold", uom="s")
    fileset = _sub(_sub(root, "filesetinfo"), "fileset")
    for f in files or []:
        _sub(fileset, "file", f["path"], size=f.get("size"), sha256=f.get("sha256") or None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def without_checksums(xml: bytes) -> bytes:
    """A certificate written by ``certificate_xml`` with its files' ``sha256`` attributes taken out."""
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    for f in root.iter(f"{{{NS}}}file"):
        f.attrib.pop("sha256", None)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- a cruise's track ----------------------------------------------------------------------------------


def _code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _when(seconds_iso: str | None):
    if not seconds_iso:
        return None
    return datetime.datetime.fromisoformat(seconds_iso.replace("Z", "+00:00"))


def process_cruise_navigation(
    cruise, files, *, delivery=None, user=None, sources: list[dict] | None = None
) -> Track:
    """Assess ``files`` (paths, read in name order as one stream) against the cruise's dates, build the
    products, store them and the certificate, and fill the cruise's ``Track``; the products are recorded
    as derived artifacts with their build manifests (``builds.record_products``). Long work happens before
    the transaction; the track's row is written in one durable transaction with its audit event.
    ``sources`` describes the inputs, one per file in the same order (path relative to the delivery, size,
    sha256); without it (files outside a delivery) the files are hashed here and their paths recorded."""
    described = sources or [
        {"path": Path(p).name, "size": Path(p).stat().st_size, "sha256": builds.sha256_of(p)} for p in files
    ]
    # Read order: by file name (hourly or daily logger files follow each other), each with its description.
    pairs = sorted(zip((os.fspath(p) for p in files), described, strict=True), key=lambda f: Path(f[0]).name)
    paths = [p for p, _ in pairs]
    sources = [d for _, d in pairs]
    start, end = cruise.departure_date, cruise.arrival_date
    if end is not None and end >= timezone.now().date():
        # A cruise still at sea: no fix can come from the rest of its days (completeness counts to now).
        end = timezone.now().replace(microsecond=0)
    assume = cruise.departure_date if cruise.undated_navigation_from_departure else None
    assessment = assess(paths, start, end, assume_start=assume)
    certificate = assessment.certificate
    name = cruise.cruise_id
    tolerance = settings.NAVIGATION_CONTROL_TOLERANCE
    built = build_products(assessment, name=name, tolerance=tolerance)
    manifest_config = builds.build_config(
        cruise,
        name=name,
        start=start,
        end=end,
        assume_start=assume,
        thresholds=thresholds(),
        tolerance=tolerance,
        source={
            "delivery": delivery.pk if delivery is not None else None,
            # The name each file is opened by: in the delivery, or (outside one) its absolute path.
            "files": [d.get("source_path") or d["path"] for d in sources]
            if delivery is not None
            else [os.path.abspath(p) for p in paths],
        },
    )
    now = timezone.now()
    xml_blob = storage.store_bytes(certificate_xml(certificate, cruise_id=name, files=sources, created=now))
    product_blobs = {fname: storage.store_bytes(data) for fname, data in built.files.items()}
    build = {
        "built_at": now.isoformat(),
        "code": _code_version(),
        "inputs": [{k: v for k, v in d.items() if k != "source_path"} for d in sources],
        "settings": {
            **certificate["thresholds"],
            "control_tolerance_degrees": tolerance,
            "window": certificate["window"],
        },
        "outputs": {fname: blob.sha256 for fname, blob in sorted(product_blobs.items())},
        "certificate_xml": xml_blob.sha256,
        "points": {
            "bestres": built.bestres_points,
            "one_minute": built.one_minute_points,
            "control": built.control_points,
        },
    }
    first, last = certificate["first"] or {}, certificate["last"] or {}
    bbox = built.bbox or certificate["bbox"] or [None] * 4
    fields = {
        "delivery": delivery,
        "state": Track.State.DONE,
        "error": "",
        "certificate": certificate,
        "overall": certificate["overall"],
        "clock": certificate["clock"] or "",
        "dated": certificate["dated"],
        "fixes": certificate["fixes"],
        "first_time": _when(first.get("time")),
        "last_time": _when(last.get("time")),
        "first_lat": first.get("lat"),
        "first_lon": first.get("lon"),
        "last_lat": last.get("lat"),
        "last_lon": last.get("lon"),
        "west": bbox[0],
        "south": bbox[1],
        "east": bbox[2],
        "north": bbox[3],
        "control": built.control,
        "control_points": built.control_points,
        "flagged": assessment.flagged(),
        "speed_plot": speed_plot(assessment),
        "certificate_xml": xml_blob,
        "build": build,
        "built_at": now,
    }
    with transaction.atomic(durable=True):
        track, _ = Track.objects.select_for_update().get_or_create(cruise=cruise)
        for key, value in fields.items():
            setattr(track, key, value)
        track.save()
        track.products.all().delete()
        store_segments(track, built.control_track)
        TrackProduct.objects.bulk_create(
            [
                TrackProduct(track=track, name=fname, blob=blob)
                for fname, blob in sorted(product_blobs.items())
            ]
        )
        builds.record_products(
            cruise, product_blobs, inputs=builds.file_inputs(sources), config=manifest_config
        )
        record_event(
            service="navigation",
            method="build_track",
            text=f"navigation of {name}: {certificate['overall']}, {certificate['fixes']} fixes, "
            f"{built.control_points} control points",
            resource_id=f"cruise:{cruise.pk}",
            user=user,
        )
    return track


def store_segments(track: Track, control_track) -> int:
    """Replace the track's timed pieces (``segments.pieces`` of its control points); returns how many."""
    track.segments.all().delete()
    rows = [TrackSegment.of_piece(track, p) for p in segments.pieces(*control_track)]
    TrackSegment.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rebuild_segments(track: Track) -> int:
    """The track's timed pieces again from its stored control-point CSV (for tracks built before the pieces
    existed); 0 when the track is undated or has no such product."""
    import csv
    import io

    from apps.storage.services import open_blob

    product = track.products.filter(name__endswith="_control.csv").select_related("blob").first()
    if product is None or not track.dated:
        return 0
    with open_blob(product.blob) as f:
        text = f.read().decode()
    rows = list(
        csv.DictReader(io.StringIO("".join(line for line in text.splitlines(True) if line[:1] != "#")))
    )
    times = np.array(
        [datetime.datetime.fromisoformat(r["iso_time"].replace("Z", "+00:00")).timestamp() for r in rows]
    )
    lat = np.array([float(r["ship_latitude"]) for r in rows])
    lon = np.array([float(r["ship_longitude"]) for r in rows])
    with transaction.atomic():
        return store_segments(track, (times, lat, lon))


def request_delivery_navigation(delivery) -> Track | None:
    """Mark the cruise's track due for this delivery and queue the build after commit; None when the
    delivery has no file of class ``navigation``."""
    if not delivery.files.filter(instrument_class="navigation").exists():
        return None
    from . import tasks

    track, _ = Track.objects.get_or_create(cruise=delivery.cruise)
    Track.objects.filter(pk=track.pk).update(delivery=delivery, state=Track.State.PENDING, error="")
    portal_tasks.dispatch(tasks.build_delivery_navigation, delivery.pk)
    return track


class SourceError(Exception):
    """A delivery's navigation file cannot be read (gone from the folder or bucket, or no longer a regular
    file inside the delivery)."""


def delivery_navigation_files(delivery) -> tuple[list[str], list[dict]]:
    """The names (in the delivery's source) of its navigation files and their descriptions (path in the
    delivery, size, SHA-256, and the name on disk when it differs from the path)."""
    names, described = [], []
    for f in delivery.files.filter(instrument_class="navigation").order_by("path"):
        names.append(f.disk_path)
        row = {"path": f.path, "size": f.size, "sha256": f.sha256}
        if f.source_path:
            row["source_path"] = f.source_path
        described.append(row)
    return names, described


def process_delivery_navigation(delivery_pk: int, *, owner: str | None = None) -> Track | None:
    """The worker's job: claim the cruise's track (a lease, renewed while reading), read the delivery's
    navigation files from its folder and store the results. None when there is nothing to do or another
    worker holds the lease. A file that cannot be read marks the track failed with the reason."""
    from apps.deliveries.models import Delivery

    delivery = Delivery.objects.select_related("cruise").filter(pk=delivery_pk).first()
    if delivery is None or not delivery.files.filter(instrument_class="navigation").exists():
        return None
    track, _ = Track.objects.get_or_create(cruise=delivery.cruise)
    lease = portal_tasks.claim(
        Track.objects.all(),
        track.pk,
        duration=datetime.timedelta(seconds=settings.NAVIGATION_LEASE_SECONDS),
        owner=owner,
        state=Track.State.BUILDING,
        delivery=delivery,
    )
    if lease is None:
        return None
    from apps.deliveries import sources as delivery_sources

    names, described = delivery_navigation_files(delivery)
    try:
        with ExitStack() as scratch, lease.heartbeat(max(5, settings.NAVIGATION_LEASE_SECONDS // 4)):
            try:
                paths = scratch.enter_context(delivery_sources.local_files(delivery, names))
            except OSError as exc:  # gone, or no longer a regular file inside the delivery
                raise SourceError(f"{delivery.source}: {exc}") from exc
            track = process_cruise_navigation(delivery.cruise, paths, delivery=delivery, sources=described)
    except SourceError as exc:
        lease.release(state=Track.State.FAILED, error=str(exc))
        return Track.objects.get(pk=track.pk)
    except Exception as exc:
        lease.release(state=Track.State.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    lease.release()
    return track
