"""The derived artifacts of dataset versions: which are due, building them, listing them.

- ``request_build(revision)`` — a version became public (``packages.signals.revision_changed``): its
  ``RevisionBuild`` is due and the build task is queued on commit. Held, withdrawn and tainted versions
  are never built; a held version is built when its hold ends and it is published.
- ``build_revision(revision_id)`` — the work (in the worker): every archived delimited text
  table of a *published* version becomes Parquet, with its build manifest. The state is checked again
  under the revision's row lock before anything is recorded, so a version withdrawn meanwhile gets none.
- ``artifacts_for(revision)`` — a version's public artifacts in a fixed order (Parquet alternates in
  entity order, then their manifests), for the landing page, the catalog and the torrent;
  ``download_path(artifact)`` — where each is served.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from apps.packages.eml.extract import EntityDecl, extract
from apps.packages.eml.parser import parse_eml
from apps.packages.models import Entity, Revision
from apps.storage import scratch
from apps.storage import services as storage
from apps.storage.models import Blob
from portal.tasks import dispatch

from . import parquet
from .manifests import Input, Output, record_build, register_builder
from .models import Artifact, RevisionBuild

log = logging.getLogger(__name__)

# The order artifacts are listed in (then by path).
KIND_ORDER = [Artifact.Kind.PARQUET, Artifact.Kind.NAVIGATION, Artifact.Kind.TORRENT, Artifact.Kind.MANIFEST]


def artifacts_for(revision: Revision) -> QuerySet:
    """The public artifacts of ``revision`` (none unless it is published), Parquet first, in a fixed order."""
    if revision.state != Revision.State.PUBLISHED:
        return Artifact.objects.none()
    order = Case(
        *[When(kind=k, then=Value(i)) for i, k in enumerate(KIND_ORDER)],
        default=Value(len(KIND_ORDER)),
        output_field=IntegerField(),
    )
    return (
        Artifact.objects.filter(revision=revision)
        .select_related("blob", "manifest", "manifest__blob", "entity", "revision__package")
        .annotate(kind_order=order)
        .order_by("kind_order", "entity_id", "path")
    )


def download_path(artifact: Artifact) -> str:
    """The site-relative URL that serves a version's artifact (``artifacts:download``)."""
    from django.urls import reverse

    package = artifact.revision.package
    return reverse(
        "artifacts:download",
        kwargs={
            "scope": package.scope,
            "identifier": package.identifier,
            "number": artifact.revision.number,
            "artifact_id": artifact.pk,
        },
    )


def request_build(revision: Revision) -> RevisionBuild | None:
    """Mark the derived artifacts of a published version due and queue their build on commit; nothing for
    a version in any other state. Call inside the transaction that published it (idempotent)."""
    if revision.state != Revision.State.PUBLISHED:
        return None
    build, created = RevisionBuild.objects.get_or_create(revision=revision)
    if not created and build.state == RevisionBuild.State.BUILT:
        return build
    from .tasks import build_artifacts

    dispatch(build_artifacts, build.pk)
    return build


# --- building ---------------------------------------------------------------------------------------


def table_decls(revision: Revision) -> dict[str, EntityDecl]:
    """The delimited text tables its archived EML declares, by entity id."""
    if revision.eml_blob_id is None:
        return {}
    with storage.open_blob(revision.eml_blob) as fh:
        meta = extract(parse_eml(fh.read()))
    return {d.entity_id: d for d in meta.entities if d.entity_type == "dataTable" and d.text_format}


def _is_local_storage() -> bool:
    return isinstance(storage.primary(), FileSystemStorage)


def copy_hashing(blob: Blob, target: Path) -> str:
    """Copy a blob's stored bytes to ``target``; returns the SHA-256 of what was read."""
    digest = hashlib.sha256()
    with storage.open_blob(blob) as src, open(target, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def local_copy(blob: Blob, workdir: Path) -> Iterator[Path]:
    """A local path holding the blob's bytes: the object itself on local storage, else a copy in
    ``workdir`` (removed afterwards)."""
    if _is_local_storage():
        yield Path(storage.primary().path(blob.key))
        return
    target = workdir / f"input-{blob.sha256[:16]}"
    try:
        copy_hashing(blob, target)
        yield target
    finally:
        target.unlink(missing_ok=True)


def parquet_path(entity: Entity, taken: set[str]) -> str:
    stem = Path(entity.object_name or entity.name or entity.entity_id).stem or entity.entity_id
    path, n = f"parquet/{stem}.parquet", 1
    while path in taken:  # two files with one stem ("a.csv", "a.txt")
        n += 1
        path = f"parquet/{stem}-{n}.parquet"
    taken.add(path)
    return path


def _workdir() -> tempfile.TemporaryDirectory:
    from django.conf import settings

    Path(settings.SCRATCH_DIR).mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="artifacts-", dir=settings.SCRATCH_DIR)


def build_revision(revision_id: int) -> tuple[str, str]:
    """Build the Parquet alternates of a published version. Returns ``(state, message)`` for its
    ``RevisionBuild``: built (with what), refused (a table that does not match its attributes) or
    skipped because the version is not published (then nothing is recorded)."""
    revision = Revision.objects.select_related("package", "eml_blob").get(pk=revision_id)
    if revision.state != Revision.State.PUBLISHED:
        return RevisionBuild.State.DUE, f"not built: {revision.package_id_text} is {revision.state}"
    decls = table_decls(revision)
    entities = [
        e
        for e in revision.entities.select_related("blob").order_by("id")
        if e.blob_id and e.entity_id in decls
    ]
    built, refused, taken = [], [], set()
    pending: list[tuple[Entity, str, Blob]] = []
    with _workdir() as tmp:
        workdir = Path(tmp)
        for entity in entities:
            path = parquet_path(entity, taken)
            out = workdir / Path(path).name
            # The Parquet is smaller than its CSV (and on S3 the CSV is copied here first).
            scratch.check_free_space(entity.blob.size * (1 if _is_local_storage() else 2), "a Parquet file")
            try:
                with local_copy(entity.blob, workdir) as csv:
                    parquet.convert_table(
                        csv,
                        decls[entity.entity_id],
                        out,
                        source_sha256=entity.blob.sha256,
                        package_id=revision.package_id_text,
                    )
            except parquet.ConversionRefused as exc:
                refused.append(str(exc))
                continue
            pending.append((entity, path, storage.store_file(out)))
            out.unlink()
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision_id)
        if locked.state != Revision.State.PUBLISHED:  # withdrawn or tainted while we converted
            return RevisionBuild.State.DUE, f"not built: {locked.package_id_text} is {locked.state}"
        for entity, path, blob in pending:
            built += record_build(
                Artifact.Kind.PARQUET,
                inputs=_parquet_inputs(locked, entity),
                outputs=[Output(path=path, blob=blob, media_type=parquet.MEDIA_TYPE, entity=entity)],
                config=parquet.writer_config(entity.entity_id),
                revision=locked,
                libraries=("pyarrow",),
            )
    message = "; ".join([f"{len(built)} Parquet file(s)", *refused])
    return (RevisionBuild.State.REFUSED if refused else RevisionBuild.State.BUILT), message


def _parquet_inputs(revision: Revision, entity: Entity) -> list[Input]:
    return [
        Input(name=entity.object_name or entity.name, sha256=entity.blob.sha256, size=entity.blob.size),
        Input(name="eml.xml", sha256=revision.eml_blob.sha256, size=revision.eml_blob.size, role="metadata"),
    ]


@register_builder(Artifact.Kind.PARQUET)
def rebuild_parquet(manifest: dict, workdir: Path) -> tuple[Path, list[str]]:
    """Rebuild a Parquet alternate from its manifest's inputs (found by their SHA-256) and configuration,
    into ``workdir``. Returns the rebuilt file and notes on inputs whose stored bytes no longer match
    their recorded SHA-256 (it is rebuilt from them anyway, so the report can say where it differs)."""
    inputs = {i["role"]: i for i in manifest["inputs"]}
    config = manifest["config"]
    eml_blob = storage.get_blob(inputs["metadata"]["sha256"])
    table_blob = storage.get_blob(inputs["data"]["sha256"])
    changed: list[str] = []
    with storage.open_blob(eml_blob) as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != eml_blob.sha256:
        changed.append(f"the EML document {eml_blob.sha256[:12]}… no longer has the recorded SHA-256")
    decl = next((d for d in extract(parse_eml(data)).entities if d.entity_id == config["entity_id"]), None)
    if decl is None:
        raise LookupError(f"the EML document declares no entity {config['entity_id']!r}")
    out = workdir / Path(manifest["artifact"]["path"]).name
    csv = workdir / "input.csv"
    actual = copy_hashing(table_blob, csv)
    if actual != table_blob.sha256:
        changed.append(
            f"the table {inputs['data']['name']} ({table_blob.sha256[:12]}…) now hashes to {actual[:12]}…"
        )
    # Rebuilt from what is stored now even when it changed, so the report can say where the output differs.
    _convert_for_rebuild(csv, decl, out, table_blob.sha256, manifest, config)
    csv.unlink()
    return out, changed


def _convert_for_rebuild(csv: Path, decl, out: Path, sha256: str, manifest: dict, config: dict) -> None:
    try:
        parquet.convert_table(
            csv,
            decl,
            out,
            source_sha256=sha256,
            package_id=manifest["subject"].get("package_id", ""),
            block_size=config.get("block_size", parquet.BLOCK_SIZE),
            row_group_rows=config.get("row_group_rows", parquet.ROW_GROUP_ROWS),
        )
    except parquet.ConversionRefused as exc:
        out.write_bytes(b"")  # nothing to compare but an empty file: the report says why
        log.warning("rebuild refused: %s", exc)


def due_builds() -> QuerySet:
    """Builds of published versions that are due or failed (for the sweep)."""
    return RevisionBuild.objects.filter(
        revision__state=Revision.State.PUBLISHED,
        state__in=[RevisionBuild.State.DUE, RevisionBuild.State.FAILED],
    )


def ensure_builds(limit: int = 500) -> int:
    """Create the due ``RevisionBuild`` of published versions that have none (published before this app
    existed, or a lost signal). Returns how many were created."""
    missing = Revision.objects.filter(state=Revision.State.PUBLISHED, build__isnull=True).values_list(
        "pk", flat=True
    )[:limit]
    rows = [RevisionBuild(revision_id=pk, requested_at=timezone.now()) for pk in missing]
    RevisionBuild.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- rebuild checks ---------------------------------------------------------------------------------


def record_verdict(artifact: Artifact, *, identical: bool, summary: str) -> None:
    """Record a rebuild check on the artifact; a difference is an audit warning and an e-mail to every
    data manager (sent after commit; a mail outage is logged, never raised)."""
    from apps.audit.models import AuditEvent
    from apps.audit.services import record_event

    with transaction.atomic():
        Artifact.objects.filter(pk=artifact.pk).update(
            verified_at=timezone.now(), verified_identical=identical
        )
        if identical:
            return
        record_event(
            service="artifacts",
            method="rebuild_verify",
            resource_id=str(artifact.revision or artifact),
            text=summary[:4000],
            category=AuditEvent.Category.WARN,
            auth_system="worker",
        )
        _tell_data_managers(f"A rebuilt artifact differs: {artifact.path}", summary)


def _tell_data_managers(subject: str, body: str) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    from apps.access.roles import DATA_MANAGER

    addresses = sorted(
        set(
            get_user_model()
            .objects.filter(groups__name=DATA_MANAGER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )

    def send() -> None:
        for address in addresses:
            try:
                send_mail(f"[{settings.SITE_NAME}] {subject}", body, settings.DEFAULT_FROM_EMAIL, [address])
            except Exception:  # a mail outage must not undo the recorded verdict
                log.exception("could not send %r to %s", subject, address)

    transaction.on_commit(send)
