"""Build manifests: how each derived artifact was made, so anyone can make it again and compare bytes.

``record_build(kind, inputs=..., outputs=..., config=...)`` is the one writer, for every kind of derived
artifact: Parquet alternates (``apps.artifacts.services``), a cruise's navigation products
(``apps.navigation.builds``), the catalog ``stac.parquet`` (``apps.catalog.builds``) and release source
bundles. For each output it stores the output's ``Artifact`` row and a manifest — a small JSON document,
itself an artifact at ``manifests/<artifact path>.json`` — holding:

- ``inputs``: the SHA-256 (and size, and name) of every input. What an input is depends on the kind:
  a content-addressed blob (Parquet: the table and the EML; the hash alone finds it in storage), a file
  of a cruise's delivery (navigation: found by its path in the delivery, or by its SHA-256 in the deep
  copy), or the records the catalog writer was fed (catalog: database rows, hashed as the writer saw them,
  so a rebuild from the same database state can tell whether the state is still the same);
- ``config``: what the builder needs besides the inputs (which entity, the writer options, thresholds…);
- ``builder``: the Quayside version and git commit, Python and the libraries that wrote it;
- ``artifact``: the output's path, size, media type and SHA-256.

A manifest holds no timestamp (the artifact row has ``created_at``): the same build in the same
environment writes the same manifest, byte for byte.

An artifact of a dataset version is unique by (version, path); one not tied to a version by (cruise,
path) — the catalog and releases by path alone — and its next build replaces it (and its manifest).

``register_builder(kind)`` names the function that rebuilds an artifact of that kind from its manifest
(``apps.artifacts.rebuild`` calls it), and optionally when the nightly spot check may rebuild one.
"""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.audit.services import record_event
from apps.storage.models import Blob
from apps.storage.services import store_bytes

from .models import Artifact

MANIFEST_VERSION = 1
MANIFEST_MEDIA_TYPE = "application/json"
BUILDERS: dict[str, Callable] = {}
# kind → ``fn(artifact) -> bool``: whether the spot check may rebuild it now (absent: always).
SPOT_CHECKABLE: dict[str, Callable] = {}


@dataclass(frozen=True)
class Input:
    """One input of a build: a content-addressed blob (``sha256``) and what it is to the build."""

    name: str
    sha256: str
    size: int | None = None
    role: str = "data"

    def as_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Output:
    """One output of a build, already stored as ``blob``, at ``path``."""

    path: str
    blob: Blob
    media_type: str = "application/octet-stream"
    entity: object | None = None  # packages.Entity a Parquet alternate was made from


def register_builder(kind: str, *, spot_check: Callable | None = None) -> Callable:
    """Decorator: ``fn(manifest: dict, workdir: Path) -> (Path, notes)`` rebuilds an artifact of ``kind``
    from its manifest into ``workdir`` and returns the rebuilt file and notes on its inputs (one per input
    whose stored bytes no longer match the manifest).

    ``spot_check(artifact) -> bool`` says whether the nightly spot check may rebuild ``artifact`` now: a
    kind whose inputs may change legitimately (the catalog's database rows) says no while they are known
    to differ, so the check reports broken builds, not news."""

    def wrap(fn: Callable) -> Callable:
        BUILDERS[kind] = fn
        if spot_check is not None:
            SPOT_CHECKABLE[kind] = spot_check
        return fn

    return wrap


@functools.cache
def quayside_version() -> str:
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["project"]["version"]


@functools.cache
def git_commit() -> str:
    """The commit of the running code: QUAYSIDE_GIT_COMMIT (set in images built without .git), else git."""
    if settings.QUAYSIDE_GIT_COMMIT:
        return settings.QUAYSIDE_GIT_COMMIT
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    return f"{commit}-dirty" if dirty else commit


def library_versions(names: Iterable[str]) -> dict[str, str]:
    out = {}
    for name in sorted(set(names)):
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def environment(libraries: Iterable[str]) -> dict:
    """What built it: Quayside's version and commit, Python, and the libraries that wrote the bytes."""
    return {
        "quayside_version": quayside_version(),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "libraries": library_versions(libraries),
    }


def manifest_path(artifact_path: str) -> str:
    return f"manifests/{artifact_path}.json"


def manifest_document(
    kind: str,
    *,
    output: Output,
    inputs: list[Input],
    config: dict,
    subject: dict,
    libraries: Iterable[str],
) -> bytes:
    doc = {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "subject": subject,
        "artifact": {
            "path": output.path,
            "media_type": output.media_type,
            "size": output.blob.size,
            "sha256": output.blob.sha256,
        },
        "inputs": [i.as_dict() for i in inputs],
        "config": config,
        "builder": environment(libraries),
    }
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def read_manifest(artifact: Artifact) -> dict:
    """The manifest document of ``artifact`` (raises LookupError when it has none)."""
    from apps.storage.services import open_blob

    manifest = artifact if artifact.kind == Artifact.Kind.MANIFEST else artifact.manifest
    if manifest is None:
        raise LookupError(f"{artifact} has no build manifest.")
    with open_blob(manifest.blob) as fh:
        return json.loads(fh.read())


def _subject(revision, cruise) -> dict:
    if revision is not None:
        return {"package_id": revision.package_id_text}
    if cruise is not None:
        return {"cruise": str(cruise)}
    return {}


def record_build(
    kind: str,
    *,
    inputs: list[Input],
    outputs: list[Output],
    config: dict,
    revision=None,
    cruise=None,
    libraries: Iterable[str] = ("pyarrow",),
) -> list[Artifact]:
    """Record a finished build: each output becomes an ``Artifact`` (replacing the one at the same path of
    the same version) with its manifest beside it. Returns the output artifacts, manifests attached.

    The outputs must already be stored (``apps.storage.services.store_file``). Opens a (non-durable)
    transaction: call it inside the caller's when the caller must check a state under a row lock first.
    Sends ``artifacts_recorded`` (a version's artifacts) or ``cruise_artifacts_recorded`` (a cruise's)
    inside it."""
    libraries = tuple(libraries)
    made = []
    with transaction.atomic():
        for output in outputs:
            body = manifest_document(
                kind,
                output=output,
                inputs=inputs,
                config=config,
                subject=_subject(revision, cruise),
                libraries=libraries,
            )
            manifest = _put(
                Artifact.Kind.MANIFEST,
                manifest_path(output.path),
                store_bytes(body),
                revision=revision,
                cruise=cruise,
                media_type=MANIFEST_MEDIA_TYPE,
            )
            made.append(
                _put(
                    kind,
                    output.path,
                    output.blob,
                    revision=revision,
                    cruise=cruise,
                    media_type=output.media_type,
                    entity=output.entity,
                    manifest=manifest,
                )
            )
        record_event(
            service="artifacts",
            method="record_build",
            resource_id=_subject(revision, cruise).get("package_id", "") or kind,
            text=f"built {kind}: "
            + ", ".join(f"{a.path} ({a.blob.size:,} bytes, sha256 {a.blob.sha256[:12]}…)" for a in made),
            auth_system="worker",
        )
        from .signals import artifacts_recorded, cruise_artifacts_recorded

        if revision is not None:
            artifacts_recorded.send(sender=Artifact, revision=revision)
        elif cruise is not None:
            cruise_artifacts_recorded.send(sender=Artifact, cruise=cruise)
    return made


def _put(kind, path, blob, *, revision, cruise, media_type, entity=None, manifest=None) -> Artifact:
    fields = {
        "kind": kind,
        "blob": blob,
        "media_type": media_type,
        "entity": entity,
        "manifest": manifest,
        "cruise": cruise,
        "verified_at": None,
        "verified_identical": None,
    }
    if revision is None:
        # Not tied to a version: one row per (cruise, path) — the catalog and releases by path alone —
        # replaced by the next build (the unique constraints of ``Artifact`` hold it).
        fields.pop("cruise")
        artifact, _ = Artifact.objects.update_or_create(
            revision=None, cruise=cruise, path=path, defaults=fields
        )
        return artifact
    artifact, _ = Artifact.objects.update_or_create(revision=revision, path=path, defaults=fields)
    return artifact
