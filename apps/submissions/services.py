"""The EML data package life cycle, PASTA+'s way: submit → validate → fetch → check → archive → index → DOI.

Each step is a service function; ``run_step`` claims a step with a lease (portal.tasks.claim), runs it
while a heartbeat renews the lease, records an audit event, and makes the next step due in the same
transaction (the outbox, sent after commit; see "the driver" below). A re-delivered task finds its step
done, or leased by a live worker, and does nothing; the archive step locks the revision and writes every record, marks the
revision archived and its step done in one transaction, so a package is archived exactly once.
Any failure before archiving marks the submission and revision failed with a report; nothing of it is
referenced by an archived revision (blobs already written are content-addressed and harmless).
"""

from __future__ import annotations

import contextvars
import datetime
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from apps.access import can_link_package_to_cruise, roles
from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.packages import quality
from apps.packages.eml import validate_eml
from apps.packages.eml.extract import EntityDecl, PackageMetadata, extract
from apps.packages.eml.parser import EmlParseError, parse_eml
from apps.packages.models import Entity, Package, Resource, Revision
from apps.packages.quality import Check
from apps.packages.tablecheck import check_table
from apps.storage import services as storage
from apps.storage.models import Blob
from apps.storage.scratch import ScratchFull
from portal.errors import ONLY_VETTED, SIGN_IN, Conflict, UserError
from portal.tasks import TEMPORARY_ERRORS, claim, owner_died_here, send

from .fetch import FetchError, fetch
from .models import Step, Submission, SubmissionFile

log = logging.getLogger(__name__)
NUL = b"\x00"
PACKAGE_ID_RE = re.compile(
    r"^(?P<scope>[A-Za-z][A-Za-z0-9_-]*)\.(?P<identifier>[1-9][0-9]*)\.(?P<revision>[1-9][0-9]*)$"
)
MAX_EXAMPLES = 10  # bad values listed per column in the report
# True while ``run_all`` drives the steps in this process: then no step queues its successor.
_SYNCHRONOUS = contextvars.ContextVar("quayside_pipeline_synchronous", default=False)


# The queue the running step task came from (set by tasks.run_step); successors go to the same queue.
CURRENT_QUEUE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "quayside_pipeline_queue", default=None
)


class NotAllowed(Exception):
    """The Gatekeeper refused: ``status`` 401 (anonymous) or 403 (not vetted / not the owner)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class PolicyError(ValueError):
    """The submission breaks this repository's policy (packageId, scope, revision order)."""


class StepFailed(Exception):
    def __init__(self, message: str, checks: list[Check] | None = None):
        super().__init__(message)
        self.checks = checks or []


@dataclass
class PackageRef:
    scope: str
    identifier: int
    number: int


# --- Gatekeeper and policy --------------------------------------------------------------------------


def gatekeeper(user, *, method: str, request=None, resource_id: str = "") -> None:
    """Only vetted users may create or update packages. Records an audit event when it refuses."""
    if roles.is_vetted(user):
        return
    anonymous = not getattr(user, "is_authenticated", False)
    status = 401 if anonymous else 403
    message = SIGN_IN if anonymous else ONLY_VETTED
    record_event(
        service="packages",
        method=method,
        text=f"refused: {message}",
        category=AuditEvent.Category.WARN,
        status=status,
        request=request,
        user=None if anonymous else user,
        resource_id=resource_id,
    )
    raise NotAllowed(message, status)


def update_gate(user, scope: str, identifier: int, *, request=None) -> None:
    """May ``user`` submit a new revision of ``scope.identifier``? The Gatekeeper, then the package
    must exist (404) and be the user's own or the user a data manager (403, audited)."""
    resource_id = f"{scope}.{identifier}"
    gatekeeper(user, method="updateDataPackage", request=request, resource_id=resource_id)
    package = Package.objects.filter(scope=scope, identifier=identifier).first()
    if package is None:
        raise NotAllowed(f"The data package {resource_id} does not exist.", 404)
    if package.owner_id != user.pk and not roles.is_data_manager(user):
        record_event(
            service="packages",
            method="updateDataPackage",
            request=request,
            status=403,
            category=AuditEvent.Category.WARN,
            resource_id=resource_id,
            text="refused: not the owner",
        )
        raise NotAllowed(f"Only the owner of {resource_id} may update it.", 403)


def parse_package_id(package_id: str) -> PackageRef:
    m = PACKAGE_ID_RE.match(package_id or "")
    if not m:
        raise PolicyError(
            f'The packageId "{package_id}" must be scope.identifier.revision, e.g. "edi.12.1": '
            "a scope, then whole numbers without leading zeros."
        )
    scope = m.group("scope")
    if scope not in settings.PACKAGE_SCOPES:
        raise PolicyError(
            f'The scope "{scope}" is not registered here; use one of: {", ".join(settings.PACKAGE_SCOPES)}.'
        )
    return PackageRef(scope, int(m.group("identifier")), int(m.group("revision")))


def check_policy(
    package_id: str,
    kind: str,
    user,
    *,
    scope: str | None = None,
    identifier: int | None = None,
    own_revision: Revision | None = None,
) -> PackageRef:
    """packageId pattern, scope registry, create-vs-update, ownership and revision order."""
    ref = parse_package_id(package_id)
    if scope is not None and (ref.scope, ref.identifier) != (scope, identifier):
        raise PolicyError(
            f'The packageId "{package_id}" does not belong to {scope}.{identifier}, the package this '
            "request updates."
        )
    package = Package.objects.filter(scope=ref.scope, identifier=ref.identifier).first()
    live = package.revisions.exclude(state=Revision.State.FAILED) if package else Revision.objects.none()
    if own_revision is not None:
        live = live.exclude(pk=own_revision.pk)
    last = live.aggregate(m=Max("number"))["m"]
    if kind == Submission.Kind.CREATE and last is not None:
        raise PolicyError(
            f"The package {ref.scope}.{ref.identifier} exists already (revision {last}); send a new "
            f"revision as an update (PUT /package/eml/{ref.scope}/{ref.identifier})."
        )
    if kind == Submission.Kind.UPDATE:
        if last is None:
            raise PolicyError(
                f"The package {ref.scope}.{ref.identifier} does not exist; create it first "
                "(POST /package/eml)."
            )
        if package.owner_id != user.pk and not roles.is_data_manager(user):
            raise PolicyError(f"Only the owner of {ref.scope}.{ref.identifier} may update it.")
    if last is not None and ref.number <= last:
        raise PolicyError(
            f"Revision {ref.number} of {ref.scope}.{ref.identifier} is not higher than the last "
            f"revision, {last}; the next revision must be {last + 1} or higher."
        )
    return ref


# --- submit -----------------------------------------------------------------------------------------


def submit(
    user,
    eml: bytes,
    *,
    kind: str = Submission.Kind.CREATE,
    files: list[tuple[str, Any]] = (),
    scope: str | None = None,
    identifier: int | None = None,
    request=None,
    filename: str = "",
    start: bool = True,
    preview: bool = False,
) -> Submission:
    """Take an EML package in: record the submission, reserve its revision, queue the pipeline.

    ``files`` are (filename, readable binary stream or ``storage.Blob``) uploaded with the EML. Raises NotAllowed for the
    Gatekeeper, and UserError for an uploaded file no data entity names (nothing is stored then). Policy problems do not raise: the submission fails at its validate step, with a report,
    just as PASTA answers 202 and reports the error under /package/error/eml/{transaction}.
    With ``preview`` (web submissions) the pipeline stops after its checks until ``publish_preview``.
    """
    gatekeeper(user, method=f"{kind}DataPackage", request=request)
    refuse_unmatched_uploads(eml, [name for name, _ in files])
    if NUL in eml:
        # XML 1.0 allows no U+0000 anywhere, and PostgreSQL text cannot hold it: refuse before storing.
        raise UserError(
            f"The EML document contains a NUL byte (0x00) at byte {eml.index(NUL)}; it is not XML. "
            "Check that the file was saved as text (UTF-8), not in a binary or UTF-16 encoding."
        )
    try:
        text = eml.decode("utf-8")
    except UnicodeDecodeError:
        text = eml.decode("latin-1")  # kept for the report; the validate step refuses it
    # A file may come as a blob already in storage (a quick share's kept file): referenced, not re-stored.
    blobs = [
        (
            name,
            stream
            if isinstance(stream, Blob)
            else storage.store_stream(stream, max_bytes=settings.MAX_UPLOAD_SIZE),
        )
        for name, stream in files
    ]
    with transaction.atomic():
        sub = Submission.objects.create(
            kind=kind,
            user=user,
            eml_text=text,
            eml_filename=filename[:300],
            preview=preview and kind != Submission.Kind.EVALUATE,
        )
        for name, blob in blobs:
            SubmissionFile.objects.create(submission=sub, filename=Path(name).name, blob=blob)
        order = Step.EVALUATE_ORDER if kind == Submission.Kind.EVALUATE else Step.ORDER
        Step.objects.bulk_create([Step(submission=sub, name=n, position=i) for i, n in enumerate(order)])
        package_id = _peek_package_id(eml)
        sub.package_id_text = package_id[:200]
        if kind != Submission.Kind.EVALUATE:
            sub.revision, problem = _reserve_revision(sub, package_id, scope, identifier)
            if problem:  # the validate step reports it, with the rest of the report
                Step.objects.filter(submission=sub, name=Step.Name.VALIDATE).update(
                    detail={"policy_error": problem}
                )
        sub.save(update_fields=["package_id_text", "revision"])
        record_event(
            service="packages",
            method=f"{kind}DataPackage",
            request=request,
            user=user,
            status=202,
            resource_id=package_id or sub.transaction,
            text=f"submission {sub.transaction} accepted",
        )
        if start:
            _queue_step(sub.pk, Step.Name.VALIDATE)
    return sub


def refuse_unmatched_uploads(eml: bytes, names: list[str]) -> None:
    """Raise UserError, naming them and the names the EML expects, when an uploaded file matches no data
    entity (its objectName, the file name its URL ends with, or its entityName: ``_upload_names``).
    Otherwise such a file would be ignored and its entity fetched from its URL instead, and the person
    would see that URL's error, not the mismatch. A document that does not parse is left to the validate
    step's report."""
    if not names:
        return
    try:
        entities = extract(parse_eml(eml)).entities
    except (EmlParseError, ValueError):
        return
    known = {name for decl in entities for name in _upload_names(decl)}
    unmatched = [name for name in (Path(n).name for n in names) if name not in known]
    if not unmatched:
        return
    expected = (
        ", ".join(decl.object_name or decl.name for decl in entities) or "none: it declares no data entity"
    )
    raise UserError(
        f"Uploaded file{'s' if len(unmatched) > 1 else ''} {', '.join(unmatched)} "
        f"match{'' if len(unmatched) > 1 else 'es'} no data entity of the EML. A file is matched by its "
        f"entity's objectName (or the file name at the end of its URL); the EML expects: {expected}. "
        "Rename the file or correct the objectName."
    )


def _peek_package_id(eml: bytes) -> str:
    try:
        return parse_eml(eml).getroot().get("packageId", "") or ""
    except EmlParseError:
        return ""


def _reserve_revision(sub: Submission, package_id: str, scope, identifier) -> tuple[Revision | None, str]:
    """Create the Revision row (state submitted) when the packageId passes policy; else say why not."""
    try:
        ref = check_policy(package_id, sub.kind, sub.user, scope=scope, identifier=identifier)
    except PolicyError as exc:
        return None, str(exc)
    try:
        with transaction.atomic():
            package, _ = Package.objects.get_or_create(
                scope=ref.scope, identifier=ref.identifier, defaults={"owner": sub.user}
            )
            # A failed revision of the same number is replaced: the submitter fixes and resubmits.
            package.revisions.filter(number=ref.number, state=Revision.State.FAILED).delete()
            return Revision.objects.create(package=package, number=ref.number, submitted_by=sub.user), ""
    except IntegrityError:  # a concurrent submission took the number
        return (
            None,
            f"Revision {ref.number} of {ref.scope}.{ref.identifier} is being submitted by another request.",
        )


# --- the steps --------------------------------------------------------------------------------------


def scratch_dir(sub: Submission) -> Path:
    return Path(settings.SCRATCH_DIR) / "submissions" / str(sub.pk)


def _metadata(sub: Submission) -> PackageMetadata:
    return extract(parse_eml(sub.eml_bytes))


def step_validate(sub: Submission, step: Step) -> tuple[str, dict]:
    checks: list[Check] = []
    result = validate_eml(sub.eml_bytes)
    checks.append(
        Check(
            "emlVersion",
            "EML version",
            "valid" if result.version == "2.2.0" else "error",
            "2.2.0",
            result.version or "unknown",
            "Quayside accepts EML 2.2.0 documents.",
        )
    )
    schema_errors = [f for f in result.findings if f.rule in ("xml", "schema", "version")]
    checks.append(
        Check(
            "schemaValid",
            "Document is schema-valid EML",
            "error" if schema_errors else "valid",
            "valid against the EML 2.2.0 XSDs",
            "; ".join(map(str, schema_errors[:20])) or "valid",
            "Schema errors must be fixed in the EML document.",
        )
    )
    if not schema_errors:
        rules = [f for f in result.findings if f not in schema_errors]
        checks.append(
            Check(
                "parserValid",
                "Document passes EML's rules beyond the schema",
                "error" if rules else "valid",
                "unique ids, resolvable references, annotation subjects, defined custom units",
                "; ".join(map(str, rules)) or "valid",
                "See the EML 2.2.0 specification.",
            )
        )
    try:
        if step.detail.get("policy_error"):
            raise PolicyError(step.detail["policy_error"])
        check_policy(sub.package_id_text, sub.kind, sub.user, own_revision=sub.revision)
        checks.append(
            Check(
                "packageIdPattern",
                "packageId pattern and revision",
                "valid",
                "scope.identifier.revision",
                sub.package_id_text,
                "The packageId is registered and its revision is the next one.",
            )
        )
    except PolicyError as exc:
        checks.append(
            Check(
                "packageIdPattern",
                "packageId pattern and revision",
                "error",
                "scope.identifier.revision, a registered scope, a revision higher than the last",
                sub.package_id_text or "none",
                str(exc),
            )
        )
    bad = [c for c in checks if c.status == "error"]
    if bad:
        raise StepFailed(
            "; ".join(c.explanation if c.id == "packageIdPattern" else c.found for c in bad), checks
        )
    meta = extract(result.tree)
    words = lambda s: len(s.split())  # noqa: E731
    checks += [
        Check(
            "keywordPresent",
            "keywordSet element is present",
            "valid" if meta.keywords else "warn",
            "at least one keyword",
            str(len(meta.keywords)),
            "Keywords help people find the data.",
        ),
        Check(
            "titleLength",
            "Dataset title length",
            "valid" if words(meta.title) >= 5 else "warn",
            "at least 5 words",
            str(words(meta.title)),
            "A descriptive title says what, where and when.",
        ),
        Check(
            "abstractLength",
            "Dataset abstract length",
            "valid" if words(meta.abstract) >= 20 else "warn",
            "at least 20 words",
            str(words(meta.abstract)),
            "An abstract of 20 words or more describes the data.",
        ),
        Check(
            "entityPresent",
            "The package has data entities",
            "valid" if meta.entities else "warn",
            "at least one",
            str(len(meta.entities)),
            "A package without data entities holds only metadata.",
        ),
    ]
    cruise, link_check = _cruise_link(sub.user, meta)
    if link_check is not None:
        checks.append(link_check)
    if sub.revision is not None:
        _fill_revision(sub.revision, meta, result.version, cruise)
    message = f"valid EML {result.version}, {len(meta.entities)} entities"
    if link_check is not None and link_check.status == "warn":
        message += f"; not linked to cruise {link_check.found}: {link_check.explanation}"
    return message, {"checks": [c.as_dict() for c in checks]}


def _cruise_link(user, meta: PackageMetadata):
    """The cruise the EML's "R2R cruise" keyword links the package to, and the check that reports it: the
    link is made only for the cruise's people and data managers (``can_link_package_to_cruise``); anyone
    else's keyword is a warning and links nothing. (None, None) when no keyword names a known cruise."""
    from apps.cruises.models import Cruise

    cruise = Cruise.objects.filter(cruise_id__in=meta.cruise_ids).first() if meta.cruise_ids else None
    if cruise is None:
        return None, None
    name, expected = "Cruise link (R2R cruise keyword)", "a cruise you are one of the people of"
    if can_link_package_to_cruise(user, cruise):
        return cruise, Check("cruiseLink", name, "valid", expected, cruise.cruise_id, "Linked to the cruise.")
    explanation = (
        f"Not linked to {cruise.cruise_id}: only its people (science party, shipboard staff, the operator) "
        "and data managers may link a package to a cruise. Ask its chief scientist to add you."
    )
    return None, Check("cruiseLink", name, "warn", expected, cruise.cruise_id, explanation)


def _fill_revision(revision: Revision, meta: PackageMetadata, version: str, cruise) -> None:
    """Copy the metadata the publishing and search work build on (DataCite, index) onto the revision, and
    link the package to ``cruise`` (the one ``_cruise_link`` allows; None leaves the link as it is)."""
    with transaction.atomic():
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        locked.eml_version = version
        locked.title, locked.abstract, locked.keywords = meta.title, meta.abstract, meta.keywords
        locked.creators, locked.coverage, locked.licence = meta.creators, meta.coverage, meta.licence[:200]
        locked.save(
            update_fields=["eml_version", "title", "abstract", "keywords", "creators", "coverage", "licence"]
        )
        if cruise is not None and locked.package.cruise_id != cruise.pk:
            Package.objects.filter(pk=locked.package_id).update(cruise=cruise)


def _upload_names(decl: EntityDecl) -> list[str]:
    """The names an uploaded file may have to be ``decl``'s data, in order of preference."""
    names = (decl.object_name, decl.url.rstrip("/").rsplit("/", 1)[-1] if decl.url else "", decl.name)
    return [name for name in names if name]


def _source_for(
    sub: Submission, decl: EntityDecl, uploads: dict[str, SubmissionFile]
) -> SubmissionFile | None:
    for name in _upload_names(decl):
        if name in uploads:
            return uploads[name]
    return None


def step_fetch(sub: Submission, step: Step) -> tuple[str, dict]:
    meta = _metadata(sub)
    uploads = {f.filename: f for f in sub.files.select_related("blob")}
    folder = scratch_dir(sub)
    objects, checks, total = {}, [], 0
    for i, decl in enumerate(meta.entities):
        dest = folder / f"{i:04d}.data"
        upload = _source_for(sub, decl, uploads)
        try:
            if upload is not None:
                storage.materialise(upload.blob, dest)
                # "blob": already in storage since the upload; archiving references it instead of re-hashing.
                obj = {
                    "path": str(dest),
                    "size": upload.blob.size,
                    "md5": upload.blob.md5,
                    "source": "upload",
                    "blob": upload.blob.sha256,
                }
            elif decl.url:
                got = fetch(decl.url, dest)
                obj = {"path": str(got.path), "size": got.size, "md5": got.md5, "source": got.url}
            else:
                raise FetchError(
                    f'The entity "{decl.name}" has no physical/distribution/online/url and no file was '
                    "uploaded with that name."
                )
        except (FetchError, ScratchFull) as exc:  # a full scratch disk is reported as such
            checks.append(
                Check(
                    "dataLoadStatus",
                    "Data can be downloaded",
                    "error",
                    "the data object downloads",
                    decl.url or "no URL",
                    str(exc),
                    decl.entity_id,
                    decl.name,
                    "data",
                )
            )
            raise StepFailed(f"{decl.name}: {exc}", checks) from exc
        checks.append(
            Check(
                "dataLoadStatus",
                "Data can be downloaded",
                "valid",
                "the data object downloads",
                f"{obj['size']:,} bytes from {obj['source']}",
                "",
                decl.entity_id,
                decl.name,
                "data",
            )
        )
        objects[decl.entity_id] = obj
        total += obj["size"]
    return f"{len(objects)} data objects, {total:,} bytes", {
        "objects": objects,
        "checks": [c.as_dict() for c in checks],
    }


def _fetched_objects(sub: Submission) -> dict:
    """The fetch step's objects, fetched again if the scratch copies are gone (a restarted worker with a
    cleaned SCRATCH_DIR, another host). Content that changed since it was fetched and checked is refused."""
    step = Step.objects.get(submission=sub, name=Step.Name.FETCH)
    objects = step.detail.get("objects", {})
    if all(Path(o["path"]).exists() for o in objects.values()):
        return objects
    log.info("scratch copies of submission %s are gone; fetching again", sub.pk)
    _, detail = step_fetch(sub, step)
    for entity_id, obj in detail["objects"].items():
        before = objects.get(entity_id)
        if before and before["md5"] != obj["md5"]:
            raise StepFailed(
                f"The data object {entity_id} changed after it was fetched (MD5 {before['md5']} → "
                f"{obj['md5']}); submit the package again."
            )
    Step.objects.filter(pk=step.pk).update(detail=detail)
    return detail["objects"]


def _table_checks(decl: EntityDecl, path: str) -> list[Check]:
    e, n = decl.entity_id, decl.name
    out: list[Check] = []
    res = check_table(path, decl, max_examples=MAX_EXAMPLES)
    ncols = len(decl.attributes)
    if decl.header_lines:
        names = [a.name for a in decl.attributes]
        status = "valid" if res.header == names else ("warn" if len(res.header) == ncols else "error")
        out.append(
            Check(
                "headerLineCount",
                "Header line matches the attribute names",
                status,
                ", ".join(names),
                ", ".join(res.header),
                "The last header line should list the attributeNames in order.",
                e,
                n,
                "data",
            )
        )
    out.append(
        Check(
            "fieldDelimiterValid",
            "Field delimiter splits the header",
            "valid" if not decl.header_lines or len(res.header) == ncols else "error",
            f"{ncols} fields split by {decl.delimiter!r}",
            f"{len(res.header)} fields" if decl.header_lines else "no header",
            "",
            e,
            n,
            "data",
        )
    )
    if res.fatal:
        out.append(
            Check(
                "dataLoadStatus",
                "Table can be read",
                "error",
                "a delimited text table",
                "unreadable",
                f"{res.filename}: {res.fatal}",
                e,
                n,
                "data",
            )
        )
        return out
    if res.bad_row_count:
        shown = "; ".join(f"line {line}: {act} fields" for line, _, act, _ in res.bad_rows)
        out.append(
            Check(
                "columnCount",
                "Every row has the declared number of columns",
                "error",
                f"{ncols} columns",
                f"{res.bad_row_count:,} rows differ ({shown})",
                f"{res.filename}: rows must have {ncols} fields, one per attribute.",
                e,
                n,
                "data",
            )
        )
    else:
        out.append(
            Check(
                "columnCount",
                "Every row has the declared number of columns",
                "valid",
                f"{ncols} columns",
                f"{ncols} columns",
                "",
                e,
                n,
                "data",
            )
        )
    for col, iss in res.columns.items():
        first_row, first_value = iss.examples[0]
        out.append(
            Check(
                "dataType",
                f"Values of column {col} match the attribute",
                "error",
                iss.expected,
                f"{iss.count:,} bad value{'s' if iss.count != 1 else ''}; the first {len(iss.examples)}:\n"
                + quality.bad_values_text(iss.examples, decl.header_lines),
                f"{res.filename}, column {col}: every value must be {iss.expected} or a declared missing-value "
                f"code. First bad value at {quality.row_label(first_row, decl.header_lines)}: {first_value!r}.",
                e,
                n,
                "data",
            )
        )
    if not res.columns:
        out.append(
            Check(
                "dataType",
                "Every value matches its attribute",
                "valid",
                "declared types",
                "all values match",
                "",
                e,
                n,
                "data",
            )
        )
    for note in res.unchecked:
        out.append(
            Check(
                "dataTypeUnchecked",
                "Column type not checkable",
                "warn",
                "a formatString Quayside understands",
                note,
                "Use YYYY, MM, DD, hh, mm, ss in formatString.",
                e,
                n,
                "data",
            )
        )
    total = res.records + res.bad_row_count
    if decl.number_of_records is None:
        out.append(
            Check(
                "numberOfRecords",
                "Record count",
                "warn",
                "numberOfRecords declared",
                f"{total:,} records",
                "Declare numberOfRecords so readers can verify completeness.",
                e,
                n,
                "data",
            )
        )
    else:
        out.append(
            Check(
                "numberOfRecords",
                "Record count",
                "valid" if total == decl.number_of_records else "error",
                f"{decl.number_of_records:,}",
                f"{total:,}",
                ""
                if total == decl.number_of_records
                else f"{res.filename} has {total:,} data rows but "
                f"numberOfRecords says {decl.number_of_records:,}.",
                e,
                n,
                "data",
            )
        )
    return out


def step_check(sub: Submission, step: Step) -> tuple[str, dict]:
    meta = _metadata(sub)
    objects = _fetched_objects(sub)
    checks: list[Check] = []
    for decl in meta.entities:
        obj = objects[decl.entity_id]
        e, n = decl.entity_id, decl.name
        if decl.size is None:
            checks.append(
                Check(
                    "entitySizePresence",
                    "Size declared",
                    "warn",
                    "physical/size",
                    "none",
                    "Declare the size in bytes.",
                    e,
                    n,
                    "data",
                )
            )
        else:
            ok = decl.size == obj["size"]
            checks.append(
                Check(
                    "entitySize",
                    "Size matches physical/size",
                    "valid" if ok else "error",
                    f"{decl.size:,} bytes",
                    f"{obj['size']:,} bytes",
                    ""
                    if ok
                    else f"{decl.filename} is {obj['size']:,} bytes, the EML declares {decl.size:,}.",
                    e,
                    n,
                    "data",
                )
            )
        if not decl.md5:
            checks.append(
                Check(
                    "integrityChecksumPresence",
                    "MD5 declared",
                    "warn",
                    "physical/authentication method=MD5",
                    "none",
                    "Declare the MD5 so the data can be verified.",
                    e,
                    n,
                    "data",
                )
            )
        else:
            ok = decl.md5 == obj["md5"]
            checks.append(
                Check(
                    "integrityChecksum",
                    "MD5 matches physical/authentication",
                    "valid" if ok else "error",
                    decl.md5,
                    obj["md5"],
                    "" if ok else f"The MD5 of {decl.filename} is {obj['md5']}, the EML declares {decl.md5}.",
                    e,
                    n,
                    "data",
                )
            )
        if decl.entity_type == "dataTable" and decl.text_format:
            checks.extend(_table_checks(decl, obj["path"]))
    errors = [c for c in checks if c.status == "error"]
    if errors:
        raise StepFailed(
            "; ".join(c.explanation or f"{c.name}: expected {c.expected}, found {c.found}" for c in errors),
            checks,
        )
    warns = sum(1 for c in checks if c.status == "warn")
    return f"{len(meta.entities)} entities checked, {warns} warnings", {
        "checks": [c.as_dict() for c in checks]
    }


def _report_checks(sub: Submission) -> list[dict]:
    rows: list[dict] = []
    for st in sub.steps.all():
        rows.extend(st.detail.get("checks", []))
    return rows


def _resource_url(kind: str, ref: str) -> str:
    """PASTA's resource ids: /package/{data|metadata|report}/eml/… and the package itself at /package/eml/…"""
    if kind == "eml":
        return f"{settings.SITE_BASE_URL}/package/eml/{ref}"
    return f"{settings.SITE_BASE_URL}/package/{kind}/eml/{ref}"


def _stored(obj: dict):
    """The blob of a fetched object: an upload is in storage already; a download is stored now."""
    if obj.get("blob"):
        return storage.get_blob(obj["blob"])
    return storage.store_file(obj["path"])


def step_archive(sub: Submission, step: Step) -> tuple[str, dict] | None:
    """Store every object, then in ONE transaction: lock, records, archived, on_archived, step done."""
    meta = _metadata(sub)
    objects = _fetched_objects(sub)
    # Objects first (outside the transaction): content-addressed, so a crash leaves harmless blobs.
    data_blobs = {decl.entity_id: _stored(objects[decl.entity_id]) for decl in meta.entities}
    eml_blob = storage.store_bytes(sub.eml_bytes)
    report_blob = storage.store_bytes(sub.report_xml.encode("utf-8"))
    with transaction.atomic():
        revision = Revision.objects.select_related("package", "package__owner").get(pk=sub.revision_id)
        if not revision.advance(Revision.State.ARCHIVING):
            return None  # archived (or failed) already: a duplicate delivery
        claimed = Step.objects.filter(
            pk=step.pk, state=Step.State.RUNNING, lease_owner=step.lease_owner
        ).update(
            state=Step.State.DONE,
            finished_at=timezone.now(),
            message=f"archived {revision.package_id_text}",
            failing_since=None,
            lease_owner="",
            lease_until=None,
        )
        if not claimed:
            transaction.set_rollback(True)
            return None
        pkg = revision.package
        path = f"{pkg.scope}/{pkg.identifier}/{revision.number}"
        common = {
            "revision": revision,
            "package_id": revision.package_id_text,
            "scope": pkg.scope,
            "identifier": pkg.identifier,
            "revision_number": revision.number,
            "principal_owner": pkg.owner.email,
            "resource_location": "primary",
        }
        for decl in meta.entities:
            blob = data_blobs[decl.entity_id]
            entity = Entity.objects.create(
                revision=revision,
                entity_id=decl.entity_id,
                name=decl.name[:500],
                entity_type=decl.entity_type,
                object_name=decl.filename[:500],
                url=decl.url[:2000],
                declared_size=decl.size,
                declared_md5=decl.md5,
                format_name=decl.format_name[:100],
                mime_type="text/csv" if decl.text_format else "application/octet-stream",
                blob=blob,
            )
            Resource.objects.create(
                resource_id=_resource_url("data", f"{path}/{decl.entity_id}"),
                resource_type=Resource.Type.DATA,
                entity=entity,
                eml_entity_id=decl.entity_id,
                entity_name=decl.name[:500],
                filename=entity.object_name,
                md5_checksum=blob.md5,
                sha1_checksum=blob.sha1,
                format_type=decl.format_name[:100],
                mime_type=entity.mime_type,
                resource_size=blob.size,
                data_format=decl.format_name[:100],
                blob=blob,
                **common,
            )
        for kind, rtype, blob, name, mime in (
            (
                "metadata",
                Resource.Type.METADATA,
                eml_blob,
                f"{revision.package_id_text}.xml",
                "application/xml",
            ),
            (
                "report",
                Resource.Type.REPORT,
                report_blob,
                f"{revision.package_id_text}.report.xml",
                "application/xml",
            ),
        ):
            Resource.objects.create(
                resource_id=_resource_url(kind, path),
                resource_type=rtype,
                filename=name,
                md5_checksum=blob.md5,
                sha1_checksum=blob.sha1,
                format_type="eml" if kind == "metadata" else "qualityReport",
                mime_type=mime,
                resource_size=blob.size,
                blob=blob,
                **common,
            )
        Resource.objects.create(
            resource_id=_resource_url("eml", path), resource_type=Resource.Type.DATA_PACKAGE, **common
        )
        revision.mark_archived(eml_blob=eml_blob)
        # Every archived blob gets its second copy in deep storage (after commit; a sweep catches misses).
        storage.request_deep_copy([*data_blobs.values(), eml_blob, report_blob])
        from apps.publishing.services import on_archived

        on_archived(revision)
        record_event(
            service="packages",
            method="archive",
            resource_id=revision.package_id_text,
            user=sub.user,
            auth_system="worker",
            text=f"archived {len(meta.entities)} entities; state {revision.state}",
        )
        _queue_step(sub.pk, Step.Name.INDEX)
    transaction.on_commit(lambda: shutil.rmtree(scratch_dir(sub), ignore_errors=True))
    return None  # the step row was finished inside the transaction


def step_index(sub: Submission, step: Step) -> tuple[str, dict]:
    from apps.search.services import index_revision

    index_revision(Revision.objects.select_related("package").get(pk=sub.revision_id))
    return "indexed", {}


def step_register(sub: Submission, step: Step) -> tuple[str, dict]:
    # The publishing app's DOI service registers it (with retries); we record where it stands.
    revision = Revision.objects.get(pk=sub.revision_id)
    doi = getattr(revision, "version_doi", None)
    state = getattr(doi, "state", "pending")
    label = "DOI pending" if state in ("pending", "draft") else f"DOI {state}"
    return f"{label}: {revision.doi or 'to be assigned'} handed to the DOI service", {
        "doi": revision.doi,
        "state": state,
    }


STEPS = {
    Step.Name.VALIDATE: step_validate,
    Step.Name.FETCH: step_fetch,
    Step.Name.CHECK: step_check,
    Step.Name.ARCHIVE: step_archive,
    Step.Name.INDEX: step_index,
    Step.Name.REGISTER: step_register,
}
REVISION_STATE = {
    Step.Name.VALIDATE: Revision.State.VALIDATING,
    Step.Name.FETCH: Revision.State.FETCHING,
    Step.Name.CHECK: Revision.State.CHECKING,
}


# --- the driver -------------------------------------------------------------------------------------
#
# A step runs when it is *due* (Step.due_at, written in the transaction that made it due: the outbox).
# After that transaction commits, the step is sent to the broker at once (the fast path); the beat job
# ``dispatch_due`` sends whatever the fast path missed (broker down, process killed). A worker *claims*
# the step with a lease (portal.tasks.claim), renews it while it works, and releases it when it
# finishes; ``sweep`` re-queues a running step whose lease lapsed (its worker died) and fails a
# submission that outlived its deadline. Temporary errors (storage, network, database) put the step back
# as due later, with capped exponential backoff, until PIPELINE_RETRY_BUDGET_SECONDS have passed since
# the first of them; then the submission fails with a report. Nothing waits for a count of retries.

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRYABLE = TEMPORARY_ERRORS + DATABASE_ERRORS
ACTIVE_STEP_STATES = (Step.State.PENDING, Step.State.RUNNING)


def _seconds(name: str) -> datetime.timedelta:
    return datetime.timedelta(seconds=getattr(settings, name))


def _order(sub: Submission) -> list[str]:
    return Step.EVALUATE_ORDER if sub.kind == Submission.Kind.EVALUATE else Step.ORDER


def _queue_step(sub_id: int, name: str) -> None:
    """Make step ``name`` due now, inside the caller's transaction; send it once that commits."""
    Step.objects.filter(submission_id=sub_id, name=name, state=Step.State.PENDING).update(
        due_at=timezone.now(), dispatched_at=None
    )
    if _SYNCHRONOUS.get():
        return
    queue = CURRENT_QUEUE.get()
    transaction.on_commit(lambda: send_step(sub_id, name, queue=queue), robust=True)


def send_step(sub_id: int, name: str, *, queue: str | None = None) -> bool:
    """Send a due step to the broker unless it was sent recently; True if it was sent now.

    Marks the step sent with a conditional update first (two dispatchers never both send it), and
    takes the mark back when the broker cannot be reached, so the next dispatcher run tries again.
    """
    from . import tasks

    now = timezone.now()
    due = Step.objects.filter(submission_id=sub_id, name=name, state=Step.State.PENDING, due_at__lte=now)
    not_sent = Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - _seconds("PIPELINE_RESEND_SECONDS"))
    if not due.filter(not_sent).update(dispatched_at=now):
        return False
    options = {"queue": queue} if queue else {}
    if send(tasks.run_step, sub_id, name, **options):
        return True
    due.filter(dispatched_at=now).update(dispatched_at=None)
    return False


def dispatch_due(*, queue: str | None = None, limit: int = 500) -> int:
    """The outbox's beat job: send every due step not sent yet (or sent long ago and never claimed)."""
    now = timezone.now()
    rows = (
        Step.objects.filter(state=Step.State.PENDING, due_at__lte=now)
        .filter(
            Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - _seconds("PIPELINE_RESEND_SECONDS"))
        )
        .order_by("due_at")
        .values_list("submission_id", "name")[:limit]
    )
    return sum(send_step(sub_id, name, queue=queue) for sub_id, name in rows)


def queue_lag(now=None) -> dict:
    """How far behind the pipeline's queue is: due steps not yet claimed, and the oldest one's age."""
    now = now or timezone.now()
    due = Step.objects.filter(state=Step.State.PENDING, due_at__lte=now)
    oldest = due.order_by("due_at").values_list("due_at", flat=True).first()
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {
        "due": due.count(),
        "oldest_due_seconds": round(age, 1),
        "behind": age > settings.PIPELINE_BEHIND_SECONDS,
    }


def worker_status(now=None) -> dict:
    """When a worker was last seen alive (``apps.submissions.heartbeat``): ``stale`` when none has been
    seen for WORKER_STALE_SECONDS (or ever), with the ``message`` to show; never stale when tasks run
    in the web process (CELERY_TASK_ALWAYS_EAGER) and no worker is needed."""
    from .models import WorkerHeartbeat

    now = now or timezone.now()
    last = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
    age = (now - last).total_seconds() if last else None
    needed = not settings.CELERY_TASK_ALWAYS_EAGER
    stale = needed and (age is None or age > settings.WORKER_STALE_SECONDS)
    message = ""
    if stale and age is None:
        message = "no worker has been seen yet"
    elif stale:
        minutes = max(1, int(age // 60))
        message = f"no worker has been seen for {minutes} minute{'s' if minutes != 1 else ''}"
    return {
        "last_seen": last,
        "seen_seconds_ago": round(age, 1) if age is not None else None,
        "stale": stale,
        "message": message,
    }


def _with_database_retry(action, *args, **kwargs):
    """Run ``action`` (which owns its transaction), retrying database errors — a restarted or briefly
    unreachable database — with backoff for up to PIPELINE_RETRY_BUDGET_SECONDS or, inside a worker, at
    most a lease's length (then the lease lapses and the sweeper hands the step on). The connection is
    dropped between tries so the next one reconnects."""
    limit = min(settings.PIPELINE_RETRY_BUDGET_SECONDS, settings.PIPELINE_LEASE_SECONDS)
    deadline = time.monotonic() + limit
    pause = 0.5
    while True:
        try:
            return action(*args, **kwargs)
        except DATABASE_ERRORS as exc:
            if connection.in_atomic_block or time.monotonic() + pause > deadline:
                raise
            log.warning("database error in %s, trying again in %.1f s: %s", action.__name__, pause, exc)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


def run_step(submission_id: int, name: str, *, owner: str | None = None) -> str:
    """Run one step of a submission; idempotent. Returns what happened: "done", "failed", "retry"
    (a temporary error: due again later) or "skipped" (finished already, or someone else holds it).

    ``owner`` names the claim (``portal.tasks.execution_owner``: task id, host, pid). Anyone else waits
    until the lease has lapsed — a re-delivery of the same message too, unless the execution holding
    the lease died on this host (``portal.tasks.owner_died_here``).
    """
    found = (
        Step.objects.filter(submission_id=submission_id, name=name).values_list("pk", "lease_owner").first()
    )
    if found is None:
        return "skipped"
    step_pk, holder = found
    if owner and holder and owner_died_here(holder, owner.split(":", 1)[0]):
        # The same message, handed back because the pool child running it was killed: take over now.
        Step.objects.filter(pk=step_pk, lease_owner=holder).update(lease_until=None)
    lease = claim(
        Step.objects.filter(state__in=ACTIVE_STEP_STATES),
        step_pk,
        duration=_seconds("PIPELINE_LEASE_SECONDS"),
        owner=owner,
        state=Step.State.RUNNING,
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
    )
    if lease is None:
        return "skipped"  # done, failed or skipped already, or running elsewhere: a re-delivered task
    sub = Submission.objects.select_related("user", "revision").get(pk=submission_id)
    step = Step.objects.get(pk=step_pk)
    if sub.state == Submission.State.FAILED:  # failed meanwhile (the sweeper's deadline): nothing to do
        lease.release(state=Step.State.SKIPPED)
        return "skipped"
    if sub.state == Submission.State.AWAITING:  # a stray message: a preview waits for its Publish
        lease.release(state=Step.State.PENDING, started_at=None, attempts=F("attempts") - 1)
        return "skipped"
    Submission.objects.filter(pk=sub.pk, state=Submission.State.PENDING).update(
        state=Submission.State.RUNNING
    )
    if sub.revision_id and name in REVISION_STATE:
        with transaction.atomic():
            if not sub.revision.advance(REVISION_STATE[name]):
                fail(sub, step, f"The revision is {sub.revision.state}; it cannot be processed again.")
                return "failed"
    try:
        with lease.heartbeat(settings.PIPELINE_HEARTBEAT_SECONDS):
            outcome = STEPS[name](sub, step)
    except StepFailed as exc:
        _with_database_retry(fail, sub, step, str(exc), exc.checks)
        return "failed"
    except RETRYABLE as exc:
        return _with_database_retry(_retry_later, sub, step, exc)
    except Exception as exc:  # a bug must not leave the submission hanging
        log.exception("step %s of submission %s crashed", name, submission_id)
        _with_database_retry(fail, sub, step, f"Internal error in step {name}: {type(exc).__name__}: {exc}")
        raise
    if outcome is None:
        return "done"  # archive finished its own step inside its transaction
    message, detail = outcome
    _with_database_retry(_finish_step, sub, step, message, detail)
    return "done"


def _retry_later(sub: Submission, step: Step, exc: BaseException) -> str:
    """A temporary error: the step is due again after a backoff that doubles with the time it has been
    failing (capped), or the submission fails with a report once the retry budget is spent."""
    now = timezone.now()
    since = Step.objects.filter(pk=step.pk).values_list("failing_since", flat=True).first() or now
    failing_for = now - since
    reason = f"{type(exc).__name__}: {exc}"
    if failing_for > _seconds("PIPELINE_RETRY_BUDGET_SECONDS"):
        minutes = round(failing_for.total_seconds() / 60)
        fail(
            sub,
            step,
            f"Step {step.name} kept failing with a temporary error for {minutes} minutes and was given up "
            f"(retry budget {settings.PIPELINE_RETRY_BUDGET_SECONDS // 60} minutes): {reason}",
        )
        return "failed"
    delay = min(max(failing_for.total_seconds(), 2.0), settings.PIPELINE_RETRY_BACKOFF_MAX_SECONDS)
    with transaction.atomic():
        Step.objects.filter(pk=step.pk, state=Step.State.RUNNING, lease_owner=step.lease_owner).update(
            state=Step.State.PENDING,
            due_at=now + datetime.timedelta(seconds=delay),
            dispatched_at=None,
            failing_since=since,
            lease_owner="",
            lease_until=None,
            message=f"temporary error, trying again in {delay:.0f} s: {reason}"[:20000],
        )
        record_event(
            service="packages",
            method=f"step:{step.name}",
            category=AuditEvent.Category.WARN,
            resource_id=sub.package_id_text or sub.transaction,
            user=sub.user,
            auth_system="worker",
            text=f"temporary error, retry in {delay:.0f} s: {reason}"[:2000],
        )
    return "retry"


def _finish_step(sub: Submission, step: Step, message: str, detail: dict) -> None:
    order = _order(sub)
    with transaction.atomic():
        done = Step.objects.filter(pk=step.pk, state=Step.State.RUNNING, lease_owner=step.lease_owner).update(
            state=Step.State.DONE,
            message=message,
            detail=detail,
            finished_at=timezone.now(),
            failing_since=None,
            lease_owner="",
            lease_until=None,
        )
        if not done:
            return  # the lease lapsed and the step was handed on (or failed by the sweeper)
        record_event(
            service="packages",
            method=f"step:{step.name}",
            resource_id=sub.package_id_text or sub.transaction,
            user=sub.user,
            auth_system="worker",
            text=message,
        )
        if step.name == Step.Name.CHECK:
            sub.refresh_from_db()
            checks = _report_checks(sub)
            sub.report_xml = quality.to_xml(sub.package_id_text, checks)
            sub.report_status = quality.worst(checks)
            sub.save(update_fields=["report_xml", "report_status"])
        position = order.index(step.name)
        if step.name == Step.Name.CHECK and sub.preview:
            _await_publication(sub)
        elif position + 1 < len(order):
            _queue_step(sub.pk, order[position + 1])
        else:
            Submission.objects.filter(pk=sub.pk).update(
                state=Submission.State.SUCCEEDED, finished_at=timezone.now()
            )
            if sub.kind == Submission.Kind.EVALUATE:
                transaction.on_commit(lambda: shutil.rmtree(scratch_dir(sub), ignore_errors=True))


def fail(sub: Submission, step: Step, message: str, checks: list[Check] | None = None) -> None:
    """Stop the submission: step failed, the rest skipped, revision failed (which frees its number for a
    corrected resubmission), report kept, audit event."""
    with transaction.atomic():
        Step.objects.filter(pk=step.pk).update(
            state=Step.State.FAILED,
            message=message[:20000],
            finished_at=timezone.now(),
            detail={"checks": [c.as_dict() for c in checks or []]},
            lease_owner="",
            lease_until=None,
        )
        Step.objects.filter(submission=sub, position__gt=step.position).update(state=Step.State.SKIPPED)
        rows = _report_checks(sub)
        sub.state, sub.error, sub.finished_at = Submission.State.FAILED, message, timezone.now()
        sub.report_xml = quality.to_xml(sub.package_id_text, rows)
        sub.report_status = quality.worst(rows) if rows else "error"
        sub.save(update_fields=["state", "error", "finished_at", "report_xml", "report_status"])
        if sub.revision_id:
            sub.revision.mark_failed()
        record_event(
            service="packages",
            method=f"step:{step.name}",
            category=AuditEvent.Category.ERROR,
            resource_id=sub.package_id_text or sub.transaction,
            user=sub.user,
            auth_system="worker",
            text=f"failed: {message[:2000]}",
        )
    transaction.on_commit(lambda: shutil.rmtree(scratch_dir(sub), ignore_errors=True))


def sweep(now=None) -> dict:
    """The sweeper's beat job: re-queue running steps whose lease lapsed (their worker died, or lost the
    database for longer than a lease) and fail, with a report, submissions past their deadline."""
    now = now or timezone.now()
    requeued = 0
    lapsed = Step.objects.filter(state=Step.State.RUNNING, lease_until__lt=now)
    for pk, sub_id, name in lapsed.values_list("pk", "submission_id", "name"):
        # Conditional: a worker that renewed in the meantime keeps its step.
        with transaction.atomic():
            if Step.objects.filter(pk=pk, state=Step.State.RUNNING, lease_until__lt=now).update(
                state=Step.State.PENDING, due_at=now, dispatched_at=None, lease_owner="", lease_until=None
            ):
                requeued += 1
                log.warning("step %s of submission %s lost its worker; queued again", name, sub_id)
    deadline = now - _seconds("PIPELINE_DEADLINE_SECONDS")
    overdue = Submission.objects.filter(
        state__in=(Submission.State.PENDING, Submission.State.RUNNING), created_at__lt=deadline
    ).select_related("user", "revision")
    failed = 0
    for sub in overdue:
        step = sub.steps.filter(state__in=ACTIVE_STEP_STATES).order_by("position").first()
        if step is None:
            continue
        hours = settings.PIPELINE_DEADLINE_SECONDS / 3600
        fail(
            sub,
            step,
            f"The submission did not finish within {hours:g} hours; it stopped at step {step.name}.",
        )
        failed += 1
    return {"requeued": requeued, "failed": failed}


def retry_from_failed_step(sub: Submission, *, user, request=None) -> Submission:
    """A data manager's "retry from the failed step": the failed step and those after it run again.

    Refused (PolicyError) unless the submission failed and its revision number is still free: a
    corrected resubmission may have taken it, or a later revision been archived since.
    """
    with transaction.atomic(durable=True):
        locked = Submission.objects.select_for_update().get(pk=sub.pk)
        if locked.state != Submission.State.FAILED:
            raise PolicyError("Only a failed submission can be retried.")
        step = locked.steps.filter(state=Step.State.FAILED).order_by("position").first()
        if step is None:
            raise PolicyError("This submission has no failed step to retry from.")
        if locked.kind != Submission.Kind.EVALUATE:
            if locked.revision_id is None:
                raise PolicyError(
                    "Its revision number was never reserved or has been taken by a corrected resubmission; "
                    "submit the package again instead."
                )
            revision = Revision.objects.select_for_update().get(pk=locked.revision_id)
            newer = (
                revision.package.revisions.exclude(state=Revision.State.FAILED)
                .filter(number__gte=revision.number)
                .exclude(pk=revision.pk)
            )
            if revision.state != Revision.State.FAILED or newer.exists():
                raise PolicyError(
                    f"Revision {revision.number} of {revision.package_id_text.rsplit('.', 1)[0]} cannot be "
                    "retried: a revision with this or a higher number exists now."
                )
            revision.mark_retried()  # back into the pipeline, under the row lock
        Step.objects.filter(submission=locked, position__gte=step.position).update(
            state=Step.State.PENDING,
            message="",
            detail={},
            started_at=None,
            finished_at=None,
            due_at=None,
            dispatched_at=None,
            failing_since=None,
            lease_owner="",
            lease_until=None,
        )
        locked.state, locked.error, locked.finished_at = Submission.State.RUNNING, "", None
        locked.save(update_fields=["state", "error", "finished_at"])
        record_event(
            service="packages",
            method="retrySubmission",
            resource_id=locked.package_id_text or locked.transaction,
            user=user,
            request=request,
            text=f"submission {locked.transaction} retried from step {step.name}",
        )
        _queue_step(locked.pk, step.name)
    locked.refresh_from_db()
    return locked


def run_all(sub: Submission) -> Submission:
    """Run every step in this process, in order (demo data, management commands, tests)."""
    token = _SYNCHRONOUS.set(True)
    try:
        for name in _order(sub):
            run_step(sub.pk, name)
            sub.refresh_from_db()
            if sub.state in (Submission.State.FAILED, Submission.State.AWAITING):
                break
    finally:
        _SYNCHRONOUS.reset(token)
    return sub


def evaluate_local(user, eml: bytes, files: list[tuple[str, Any]] = ()) -> Submission:
    """Steps 2–5 with the policy, in this process (``manage.py evaluate_package``)."""
    sub = submit(user, eml, kind=Submission.Kind.EVALUATE, files=files, start=False)
    return run_all(sub)


# --- publishing with a look first (web submissions) -------------------------------------------------
#
# A web submission (``preview=True``) stops after its checks in state "awaiting": its revision stays in
# the pipeline (404 on every public path, no DOI) and its fetched files stay in scratch. The submitter
# then publishes — the archive step onwards runs on the files already fetched and checked — or discards
# it, which frees the revision number. An awaiting submission is not a live scratch owner: a preview left
# for longer than SCRATCH_MAX_AGE_HOURS loses its copies to the scratch sweeper (disk stays bounded),
# and its archive step then fetches again through ``_fetched_objects``, refusing content that changed.


def _await_publication(sub: Submission) -> None:
    """The checks passed: stop and wait for the submitter (call inside ``_finish_step``'s transaction)."""
    Submission.objects.filter(pk=sub.pk).update(state=Submission.State.AWAITING)


def _lock_awaiting(sub: Submission, user) -> Submission:
    from apps import access

    access.require_preview_publisher(user, sub)
    locked = Submission.objects.select_for_update(of=("self",)).select_related("revision").get(pk=sub.pk)
    if locked.state != Submission.State.AWAITING:
        raise Conflict(f"This submission is {locked.get_state_display()}; only a preview can be published.")
    return locked


def publish_preview(sub: Submission, *, user, request=None) -> Submission:
    """The submitter's (or a data manager's) "Publish" after the preview: archive, index and register
    run now. Raises Forbidden for anyone else, Conflict unless the submission awaits publication."""
    with transaction.atomic(durable=True):
        locked = _lock_awaiting(sub, user)
        locked.state = Submission.State.RUNNING
        locked.save(update_fields=["state"])
        record_event(
            service="packages",
            method="publishPreview",
            resource_id=locked.package_id_text or locked.transaction,
            user=user,
            request=request,
            text=f"submission {locked.transaction} published after preview",
        )
        _queue_step(locked.pk, Step.Name.ARCHIVE)
    return locked


def discard_preview(sub: Submission, *, user, request=None) -> Submission:
    """Drop a preview: nothing was archived; the revision fails (its number is free again), the
    remaining steps are skipped and the fetched files removed. Same access and state rule as publishing."""
    with transaction.atomic(durable=True):
        locked = _lock_awaiting(sub, user)
        Step.objects.filter(submission=locked, state=Step.State.PENDING).update(state=Step.State.SKIPPED)
        locked.state, locked.finished_at = Submission.State.DISCARDED, timezone.now()
        locked.save(update_fields=["state", "finished_at"])
        if locked.revision_id:
            locked.revision.mark_failed()
        record_event(
            service="packages",
            method="discardPreview",
            resource_id=locked.package_id_text or locked.transaction,
            user=user,
            request=request,
            text=f"submission {locked.transaction} discarded after preview",
        )
    shutil.rmtree(scratch_dir(locked), ignore_errors=True)
    return locked


@dataclass
class PreviewFile:
    name: str
    format_name: str
    size: int | None
    md5: str


def preview_files(sub: Submission) -> list[PreviewFile]:
    """The files the landing page will list, with the sizes and MD5s the fetch step measured."""
    meta = _metadata(sub)
    fetched = sub.steps.filter(name=Step.Name.FETCH).values_list("detail", flat=True).first() or {}
    objects = fetched.get("objects", {})
    return [
        PreviewFile(
            name=decl.filename or decl.name,
            format_name=decl.format_name,
            size=objects.get(decl.entity_id, {}).get("size"),
            md5=objects.get(decl.entity_id, {}).get("md5", ""),
        )
        for decl in meta.entities
    ]
