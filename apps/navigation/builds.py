"""A cruise's navigation products as derived artifacts: their build manifests, and rebuilding them.

Each build of a cruise's track records its six products (``products.build``: the cleaned, one-minute and
control-point tracks as delimited text and GeoJSON) with ``apps.artifacts.manifests.record_build`` (kind
``navigation``), one artifact per product at ``products/<name>`` and its manifest at
``manifests/products/<name>.json`` — the paths they are served at under ``/navigation/<cruise>/``. The
next build of the cruise replaces them.

A manifest holds everything a rebuild needs to make the same bytes:

- ``inputs``: the navigation files in the order they were read (path in the delivery, size, SHA-256);
- ``config``: where the files are (``source``: the delivery and each file's name in it, or absolute paths
  for a track built from files outside a delivery — the demo), the window the fixes were assessed in (the
  cruise's dates, or "now" for a cruise still at sea, exactly as passed to ``qa.assess``), the date an
  undated file was given (``assume_start``), the thresholds and the control-point tolerance, and the
  product name prefix.

``rebuild_products`` (the registered builder) reads the files again — from the delivery, or from the deep
copy by SHA-256 when the delivery's folder is gone — notes any whose bytes changed, and builds again.
The certificate XML is not a product here: it records the moment it was written.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import shutil
from pathlib import Path

from apps.artifacts.manifests import Input, Output, manifest_path, record_build, register_builder
from apps.artifacts.models import Artifact
from apps.storage import services as storage
from apps.storage.models import Blob, blob_key

from . import products as nav_products
from . import qa
from .models import media_type_of

LIBRARIES = ("numpy", "pyarrow", "shapely")


def product_path(name: str) -> str:
    return f"products/{name}"


def _iso(value) -> str | None:
    """A window end as ``qa.assess`` reads it back: a date stays a date (its whole day counts)."""
    return None if value is None else value.isoformat()


def build_config(
    cruise,
    *,
    name: str,
    start,
    end,
    assume_start: datetime.date | None,
    thresholds: qa.Thresholds,
    tolerance: float,
    source: dict,
) -> dict:
    """The configuration a build records in its products' manifests (and a rebuild reads back)."""
    return {
        "cruise_pk": cruise.pk,
        "name": name,
        "window": {"start": _iso(start), "end": _iso(end)},
        "assume_start": _iso(assume_start),
        "thresholds": dataclasses.asdict(thresholds),
        "control_tolerance_degrees": tolerance,
        "source": source,
        "products": "products.build: best-resolution, one-minute and control points, CSV and GeoJSON",
    }


def file_inputs(sources: list[dict]) -> list[Input]:
    """The manifest's inputs: the navigation files in read order (``sources``: path, size, sha256)."""
    return [
        Input(name=s["path"], sha256=s.get("sha256") or "", size=s.get("size"), role="navigation")
        for s in sources
    ]


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def record_products(cruise, blobs: dict[str, Blob], *, inputs: list[Input], config: dict) -> list[Artifact]:
    """Record a finished build's products (name → stored blob) with their manifests, replacing the
    cruise's previous ones (a product the new build does not make — the cruise id changed — is dropped).
    Call inside the transaction that stores the track."""
    outputs = [
        Output(path=product_path(name), blob=blob, media_type=media_type_of(name))
        for name, blob in sorted(blobs.items())
    ]
    keep = {o.path for o in outputs} | {manifest_path(o.path) for o in outputs}
    Artifact.objects.filter(
        cruise=cruise, revision=None, kind__in=[Artifact.Kind.NAVIGATION, Artifact.Kind.MANIFEST]
    ).exclude(path__in=keep).delete()
    return record_build(
        Artifact.Kind.NAVIGATION,
        inputs=inputs,
        outputs=outputs,
        config=config,
        cruise=cruise,
        libraries=LIBRARIES,
    )


def product_manifests(cruise) -> dict[str, Artifact]:
    """The build manifest of each of the cruise's products, by product name (for the certificate page)."""
    rows = Artifact.objects.filter(
        cruise=cruise, revision=None, kind=Artifact.Kind.NAVIGATION, manifest__isnull=False
    ).select_related("manifest", "manifest__blob", "cruise")
    return {a.path.removeprefix("products/"): a.manifest for a in rows}


# --- rebuilding ------------------------------------------------------------------------------------


def _copy_hashing(src, target: Path) -> str:
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    with src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _open_input(source: dict, index: int, recorded: dict):
    """An input's bytes: from the delivery (by its name there), else from the deep copy by SHA-256 (the
    drop folder was cleared), or from the absolute path a build outside a delivery recorded."""
    name = source["files"][index]
    if source.get("delivery") is None:
        return open(name, "rb")
    from apps.deliveries import sources as delivery_sources
    from apps.deliveries.models import Delivery

    delivery = Delivery.objects.filter(pk=source["delivery"]).first()
    if delivery is not None:
        try:
            return delivery_sources.open_delivered(delivery, name)
        except FileNotFoundError:
            pass
    if not recorded["sha256"]:
        raise FileNotFoundError(f"{recorded['name']}: gone from the delivery, and no SHA-256 was recorded")
    try:
        return storage.deep().open(blob_key(recorded["sha256"]), "rb")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{recorded['name']}: gone from the delivery and not in deep storage "
            f"(sha256 {recorded['sha256']})"
        ) from None


@register_builder(Artifact.Kind.NAVIGATION)
def rebuild_products(manifest: dict, workdir: Path) -> tuple[Path, list[str]]:
    """Rebuild one navigation product from its manifest into ``workdir``: read the inputs again (copied
    here, hashed on the way), assess them with the recorded window and thresholds, build the products
    with the recorded tolerance, and return the one the manifest describes. Notes name the inputs whose
    bytes no longer have the recorded SHA-256 (it is rebuilt from them anyway, so the report can say
    where the output differs)."""
    config = manifest["config"]
    inputs = manifest["inputs"]
    notes: list[str] = []
    paths = []
    for i, recorded in enumerate(inputs):
        # Its own folder keeps the base name (the reader's messages name it) even when two are alike.
        target = workdir / "inputs" / str(i) / Path(config["source"]["files"][i]).name
        actual = _copy_hashing(_open_input(config["source"], i, recorded), target)
        if recorded["sha256"] and actual != recorded["sha256"]:
            notes.append(
                f"the navigation file {recorded['name']} ({recorded['sha256'][:12]}…) now hashes to "
                f"{actual[:12]}…"
            )
        paths.append(str(target))
    assume = config["assume_start"]
    assessment = qa.assess(
        paths,
        config["window"]["start"],
        config["window"]["end"],
        thresholds=qa.Thresholds(**config["thresholds"]),
        assume_start=datetime.date.fromisoformat(assume) if assume else None,
    )
    built = nav_products.build(assessment, tolerance=config["control_tolerance_degrees"], name=config["name"])
    shutil.rmtree(workdir / "inputs", ignore_errors=True)
    name = Path(manifest["artifact"]["path"]).name
    if name not in built.files:
        raise LookupError(f"the rebuild makes no product {name!r} (it makes {', '.join(built.files)})")
    out = workdir / name
    out.write_bytes(built.files[name])
    return out, notes
