"""The catalog as a derived artifact: the build manifest of each ``stac.parquet`` build, and its rebuild.

Every build of the served file (``services.refresh``) stores its bytes as a blob and records them with
``apps.artifacts.manifests.record_build`` (kind ``catalog``, path ``stac.parquet``; the manifest at
``manifests/stac.parquet.json``, served at ``/catalog/manifests/stac.parquet.json``) *before* the file
replaces the served one, so a reader who sees a new catalog finds its manifest. Each build replaces the
previous artifact, and the previous catalog's bytes are dropped from storage once nothing refers to them.

The catalog is made from database rows, not from stored files, so its inputs are the rows as the writer
saw them:

- one input per segment (``segments/00000012.parquet``, role ``records``): the SHA-256 of the Arrow record
  batches the segment was written from (their IPC serialisation, batch after batch) — a segment kept from
  an earlier build keeps the hash of the rows it was written from;
- ``collections`` (role ``metadata``): the collection documents written into the file metadata.

``config`` names the segment size, the batch size, the asset width, the segment format and the writer's
options. ``rebuild_catalog`` builds every recorded segment again from the database with that configuration
and stitches them: from the same database state it gives the same bytes, and where the state has moved on
it names the segments whose records (or the collections) now hash differently. The nightly spot check
rebuilds the catalog only while nothing changed since its build (``settled``).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from apps.artifacts.manifests import Input, Output, record_build, register_builder
from apps.artifacts.models import Artifact
from apps.storage import services as storage

from . import items, parquet

log = logging.getLogger(__name__)

CATALOG_PATH = "stac.parquet"
MEDIA_TYPE = "application/vnd.apache.parquet"
LIBRARIES = ("pyarrow", "shapely")


def segment_name(k: int) -> str:
    return f"segments/{k:08d}.parquet"


def build_config(built: parquet.Built) -> dict:
    from django.conf import settings

    return {
        "segment_packages": settings.CATALOG_SEGMENT_PACKAGES,
        "segment_format": parquet.SEGMENT_FORMAT,
        "batch_size": built.batch_size,
        "asset_width": {"files": built.width[0], "mirrors": built.width[1]},
        "writer_options": parquet.WRITER_OPTIONS,
        "stac_version": items.STAC_VERSION,
        "stac_geoparquet_version": parquet.STAC_GEOPARQUET_VERSION,
        "geoparquet_version": parquet.GEOPARQUET_VERSION,
        "site_base_url": settings.SITE_BASE_URL,
    }


def build_inputs(built: parquet.Built) -> list[Input]:
    return [
        Input(name=segment_name(s.k), sha256=s.sha256, size=s.size, role="records") for s in built.inputs
    ] + [
        Input(
            name="collections",
            sha256=hashlib.sha256(built.collections).hexdigest(),
            size=len(built.collections),
            role="metadata",
        )
    ]


def current() -> Artifact | None:
    """The artifact of the catalog as last built (None before the first build)."""
    return (
        Artifact.objects.filter(kind=Artifact.Kind.CATALOG, revision=None, cruise=None, path=CATALOG_PATH)
        .select_related("blob", "manifest", "manifest__blob")
        .first()
    )


def record(tmp: Path, built: parquet.Built) -> Artifact:
    """Store the finished catalog file ``tmp`` and record it with its manifest (before it is served).
    The previous catalog's blob and manifest are discarded after commit when nothing else needs them."""
    blob = storage.store_file(tmp)
    if blob.sha256 != built.sha256:  # the file changed between the stitch and here: never record that
        raise RuntimeError(f"{tmp} changed while it was stored ({built.sha256} → {blob.sha256})")
    previous = current()
    old = [previous.blob, previous.manifest.blob] if previous and previous.manifest else []
    with transaction.atomic():
        [artifact] = record_build(
            Artifact.Kind.CATALOG,
            inputs=build_inputs(built),
            outputs=[Output(path=CATALOG_PATH, blob=blob, media_type=MEDIA_TYPE)],
            config=build_config(built),
            libraries=LIBRARIES,
        )
        kept = {artifact.blob_id, artifact.manifest.blob_id}
        gone = [b for b in old if b.sha256 not in kept]
        transaction.on_commit(lambda: _discard(gone))
    return artifact


def _discard(blobs) -> None:
    for blob in blobs:
        try:
            storage.discard_if_unreferenced(blob)
        except Exception:  # an old catalog left in storage is harmless (content-addressed); logged
            log.exception("could not discard the previous catalog's blob %s", blob.sha256)


def settled(artifact: Artifact) -> bool:
    """Whether the spot check may rebuild ``artifact``: it is the catalog being served, nothing the
    catalog shows changed since it was built, and no build is running (else its inputs moved on, and a
    difference would be news, not a broken build)."""
    from .models import CatalogState

    state = CatalogState.get()
    building = state.lease_until is not None and state.lease_until > timezone.now()
    return state.dirty_at is None and not building and state.sha256 == artifact.blob_id


@register_builder(Artifact.Kind.CATALOG, spot_check=settled)
def rebuild_catalog(manifest: dict, workdir: Path) -> tuple[Path, list[str]]:
    """Rebuild ``stac.parquet`` from the database with the manifest's configuration into ``workdir``:
    every segment the manifest names (and any the database has now), stitched. Notes name the segments
    whose records, and the collections if they, no longer hash as recorded."""
    config = manifest["config"]
    size = config["segment_packages"]
    width = (config["asset_width"]["files"], config["asset_width"]["mirrors"])
    notes: list[str] = []
    if config["segment_format"] != parquet.SEGMENT_FORMAT:
        notes.append(
            f"the build wrote segment format {config['segment_format']}, this code writes "
            f"{parquet.SEGMENT_FORMAT}"
        )
    recorded = {i["name"]: i for i in manifest["inputs"] if i["role"] == "records"}
    wanted = {int(name.removeprefix("segments/").removesuffix(".parquet")) for name in recorded}
    span = items.queryset().order_by().aggregate(lo=Min("package_id"), hi=Max("package_id"))
    if span["lo"] is not None:
        wanted |= set(range(span["lo"] // size, span["hi"] // size + 1))
    folder = workdir / "segments"
    folder.mkdir()
    sch = parquet.schema(*width)
    for k in sorted(wanted):
        written = parquet.write_segment(folder, k, sch, config["batch_size"], segment_packages=size)
        before = recorded.get(segment_name(k))
        if before is None:
            if written.rows:
                notes.append(
                    f"{segment_name(k)}: the database now has {written.rows} row(s) the build had none of"
                )
        elif written.sha256 != before["sha256"]:
            notes.append(
                f"{segment_name(k)}: the records now hash to {written.sha256[:12]}…, the build's to "
                f"{before['sha256'][:12]}… (the database changed since)"
            )
    collections = parquet.collections()
    recorded_collections = next((i for i in manifest["inputs"] if i["name"] == "collections"), None)
    now = hashlib.sha256(parquet.collections_bytes(collections)).hexdigest()
    if recorded_collections is not None and recorded_collections["sha256"] != now:
        notes.append(
            f"the collections now hash to {now[:12]}…, the build's to {recorded_collections['sha256'][:12]}…"
        )
    out = workdir / CATALOG_PATH
    parquet.stitch(folder, out, sch.with_metadata(parquet.file_metadata(collections)))
    return out, notes
