"""Quick shares: the verbs behind the share page.

``start_draft`` stores the dropped files (content-addressed blobs) and proposes an attribute list for each
CSV; ``submit_draft`` builds the EML and hands it to the ordinary pipeline (``apps.submissions``) as a
web submission, which stops at its preview until the sharer publishes it; ``edit_metadata`` changes a
published share's title, description or licence (history, DOI update, OAI datestamp). There is no delete:
a published share stays; withdrawal is a data manager's act in ``apps.publishing``.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from apps import access
from apps.access import roles
from apps.audit.services import record_event
from apps.packages.models import Package, Revision
from apps.storage import services as storage
from apps.storage.models import Blob
from portal.errors import Conflict, Forbidden, UserError

from . import eml, infer
from .models import Basket, Draft, MetadataEdit, Share

CSV_SUFFIXES = (".csv", ".tsv")
EDITABLE = ("title", "description", "licence")


def require_sharer(user) -> None:
    if not roles.can_share(user):
        raise Forbidden("Only approved sharers may share data: ask a data manager to approve you first.")


def check_metadata(title: str, description: str, licence: str) -> tuple[str, str, str]:
    title, description, licence = (title or "").strip(), (description or "").strip(), (licence or "").strip()
    if not title:
        raise UserError("A title is required.")
    if licence not in eml.LICENCE_NAMES:
        raise UserError(f"Choose one of the licences offered: {', '.join(eml.LICENCE_NAMES)}.")
    return title, description, licence


def _describe(name: str, blob: Blob) -> dict:
    """A draft's entry for a stored file; for a CSV, the attribute list inferred from all of its values."""
    name = Path(name).name
    entry: dict[str, Any] = {
        "name": name,
        "sha256": blob.sha256,
        "size": blob.size,
        "md5": blob.md5,
        "media_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "kept": False,
        "attributes": None,
    }
    if name.lower().endswith(CSV_SUFFIXES):
        with storage.open_blob(blob) as stream:
            try:
                found = infer.infer_csv(stream)
            except ValueError as exc:
                entry["note"] = f"kept as a plain file: {exc}"
                return entry
        entry.update(
            attributes=[a.as_dict() for a in found.attributes],
            records=found.records,
            delimiter=found.delimiter,
            media_type="text/csv",
        )
    return entry


def latest_public(share: Share) -> Revision | None:
    return (
        share.package.revisions.filter(state__in=Revision.CORRECTABLE)
        .select_related("package")
        .order_by("-number")
        .first()
    )


def current_files(share: Share) -> list[dict]:
    """The file entries of the share's latest public version (from the draft it was published from)."""
    revision = latest_public(share)
    if revision is None:
        return []
    draft = share.drafts.filter(submission__revision=revision).first()
    return list(draft.files) if draft else []


def start_draft(
    user,
    uploads: list[tuple[str, Any]],
    *,
    title: str,
    description: str,
    licence: str,
    share: Share | None = None,
    keep: list[str] = (),
    basket: str = "",
    request=None,
) -> Draft:
    """Store the uploaded files and propose their attributes. ``basket`` is the page's token for files
    dropped through the resumable drop zone (stored as blobs by the worker already; Conflict while some are
    still arriving). With ``share``, a new version: ``keep`` names files of the current version carried
    over by reference (not uploaded, stored or hashed again); an upload with the same name replaces it."""
    require_sharer(user)
    if share is not None and not access.can_edit_share(user, share):
        raise Forbidden("Only the sharer (or a data manager) may publish a new version of this share.")
    title, description, licence = check_metadata(title, description, licence)
    dropped = _basket(user, basket) if basket else []
    names = [Path(name).name for name, _ in [*uploads, *dropped]]
    if len(set(names)) != len(names):
        raise UserError("Two files have the same name; rename one of them.")
    # Stored before the transaction: blobs are content-addressed, so a failure leaves harmless blobs.
    new = [
        _describe(name, storage.store_stream(f, max_bytes=settings.MAX_UPLOAD_SIZE)) for name, f in uploads
    ]
    new += [_describe(name, blob) for name, blob in dropped]  # stored by the worker already
    kept = []
    if share is not None:
        kept = [
            dict(f, kept=True) for f in current_files(share) if f["name"] in keep and f["name"] not in names
        ]
    files = kept + new
    if not files:
        raise UserError("Add at least one file.")
    with transaction.atomic(durable=True):
        draft = Draft.objects.create(
            sharer=user, share=share, title=title, description=description, licence=licence, files=files
        )
        record_event(
            service="shares",
            method="startDraft",
            user=user,
            request=request,
            resource_id=share.short_id if share else f"draft/{draft.pk}",
            text=f"{len(new)} files uploaded, {len(kept)} kept by reference",
        )
    return draft


def _basket(user, token: str) -> list[tuple[str, Blob]]:
    """The files dropped on the page with ``token``, once the worker has stored every one of them."""
    from apps.uploads.services import live_uploads_to

    waiting = live_uploads_to("share", token).filter(user=user).count()
    if waiting:
        raise Conflict(
            f"{waiting} dropped file{'s are' if waiting > 1 else ' is'} still being uploaded or stored; "
            "wait until the drop zone says they are done, then press Continue again."
        )
    return [(b.name, b.blob) for b in Basket.objects.filter(token=token, user=user).select_related("blob")]


def get_draft_for_user(user, pk: int) -> Draft:
    """A draft is its sharer's alone (data managers see every one); 404 for others."""
    draft = Draft.objects.select_related("share", "share__package", "submission").filter(pk=pk).first()
    if draft is None or (draft.sharer_id != getattr(user, "pk", None) and not roles.is_data_manager(user)):
        from portal.errors import NotFound

        raise NotFound("No such draft.")
    return draft


def correct_attributes(draft: Draft, corrections: dict[tuple[int, int], dict]) -> None:
    """Apply the sharer's corrections (``{(file index, column index): {kind, unit, missing}}``)."""
    kinds = {k for k, _ in infer.KINDS}
    files = draft.files
    for (fi, ci), fix in corrections.items():
        try:
            attribute = files[fi]["attributes"][ci]
        except (IndexError, TypeError):
            continue
        if fix.get("kind") in kinds:
            attribute["kind"] = fix["kind"]
        attribute["unit"] = (fix.get("unit") or "").strip()[:100]
        attribute["missing"] = (fix.get("missing") or "").strip()[:50]
    draft.files = files
    draft.save(update_fields=["files"])


def _new_package(user) -> Package:
    """The next free identifier in SHARE_SCOPE (retried if a concurrent share took it)."""
    scope = settings.SHARE_SCOPE
    for _ in range(10):
        last = Package.objects.filter(scope=scope).aggregate(m=Max("identifier"))["m"] or 0
        try:
            with transaction.atomic():
                return Package.objects.create(scope=scope, identifier=last + 1, owner=user)
        except IntegrityError:
            continue
    raise UserError("Could not allocate a package identifier; try again.")


def submit_draft(draft: Draft, *, user, request=None):
    """Build the EML of ``draft`` and submit it through the ordinary pipeline with a preview: the checks,
    quality report and landing-page preview come from ``apps.submissions``, and its "Publish" archives
    and publishes. Returns the submission. Files go by reference to their blobs (nothing is re-stored)."""
    from apps.submissions import services as submissions
    from apps.submissions.models import Submission

    require_sharer(user)
    if draft.sharer_id != user.pk and not roles.is_data_manager(user):
        raise Forbidden("Only the sharer may submit this draft.")
    if draft.submission_id:
        return draft.submission
    with transaction.atomic(durable=True):
        draft = (
            Draft.objects.select_for_update(of=("self",)).select_related("share__package").get(pk=draft.pk)
        )
        share = draft.share
        if share is None:
            share = Share.objects.create(package=_new_package(user), sharer=user)
            draft.share = share
        package = share.package
        live = package.revisions.exclude(state=Revision.State.FAILED)
        last = live.aggregate(m=Max("number"))["m"]
        number = (last or 0) + 1
        package_id = f"{package.scope}.{package.identifier}.{number}"
        try:
            document = eml.build(
                package_id,
                user=share.sharer,
                title=draft.title,
                description=draft.description,
                licence=draft.licence,
                files=draft.files,
            )
        except eml.InvalidEml as exc:
            raise UserError(f"The metadata cannot be written as valid EML: {exc}") from exc
        blobs = [(f["name"], storage.get_blob(f["sha256"])) for f in draft.files]
        kind = Submission.Kind.CREATE if last is None else Submission.Kind.UPDATE
        sub = submissions.submit(
            user,
            document,
            kind=kind,
            files=blobs,
            scope=package.scope if kind == Submission.Kind.UPDATE else None,
            identifier=package.identifier if kind == Submission.Kind.UPDATE else None,
            request=request,
            filename=f"{package_id}.xml",
            preview=True,
        )
        draft.submission = sub
        draft.save(update_fields=["share", "submission"])
        record_event(
            service="shares",
            method="submitShare",
            user=user,
            request=request,
            resource_id=share.short_id,
            text=f"{package_id} submitted for preview ({sum(1 for f in draft.files if f.get('kept'))} files kept)",
        )
    return sub


def edit_metadata(share: Share, *, user, title: str, description: str, licence: str, request=None):
    """The sharer edits the title, description or licence of the share's latest public version: one
    ``MetadataEdit`` (who, when, before/after), an audit event, and ``publishing.metadata_changed`` (the
    OAI datestamp moves, the DOI metadata is updated). Returns the edit, or None when nothing changed.
    The archived EML stays as published (immutable); the landing page, DataCite and OAI show the edit."""
    from apps.publishing.services import metadata_changed

    if not access.can_edit_share(user, share):
        raise Forbidden("Only the sharer (or a data manager) may edit this share.")
    title, description, licence = check_metadata(title, description, licence)
    with transaction.atomic(durable=True):
        current = latest_public(share)
        if current is None:
            raise UserError("This share has no public version to edit yet.")
        revision = Revision.objects.select_for_update().select_related("package").get(pk=current.pk)
        after = {"title": title, "abstract": description, "licence": licence}
        changes = {
            field: [getattr(revision, field), value]
            for field, value in after.items()
            if getattr(revision, field) != value
        }
        if not changes:
            return None
        for field, (_, value) in changes.items():
            setattr(revision, field, value)
        revision.save(update_fields=list(changes))
        edit = MetadataEdit.objects.create(share=share, revision=revision, user=user, changes=changes)
        record_event(
            service="shares",
            method="editMetadata",
            user=user,
            request=request,
            resource_id=revision.package_id_text,
            text=f"{share.short_id}: changed {', '.join(changes)}",
        )
        metadata_changed(revision, user=user, request=request)
    return edit
