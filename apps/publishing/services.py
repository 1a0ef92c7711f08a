"""Publishing: what happens to a revision once it is archived (owned by the publishing work, issue 4).

Contracts other apps rely on (keep the signatures):

- ``on_archived(revision)`` — called by the ingest pipeline inside its transaction, with the revision
  row locked, right after the revision is marked archived. Moves it to ``held`` when a proprietary
  hold covers it (``apps.holds.services.hold_if_covered``, which makes the hold follow the package), else to ``published``; records "DOI
  pending" and queues DOI registration on commit.
- ``release_held(revision)`` — publishes a ``held`` revision (DOI, OAI-PMH, catalog) under the row lock.
  The holds app reaches it through its ``revisions_released`` signal when a hold ends (holds sits below
  publishing and never imports it).
- ``metadata_changed(revision)`` — call after correcting a published revision's public metadata (title,
  abstract, …) in the same transaction: bumps the OAI datestamp, re-indexes and queues a DOI update (PUT).

Every revision state change here goes through the model's transition (``Revision.mark_published`` …) and
``apps.packages.services.announce_change``, which re-indexes search. The top-level verbs (``withdraw``,
``taint``, ``correct_metadata``, ``retry_now``) open a durable transaction: nobody may nest them.

Registration never blocks publishing: the revision is public at once and its DOI ``pending``; the
``register_doi`` task talks to DataCite after commit, and ``retry_due_dois`` retries failures with
backoff (at most an hour between tries), each attempt recorded in ``DoiAttempt``.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from apps.holds.services import hold_if_covered
from apps.packages.models import Revision
from apps.packages.services import announce_change
from portal.tasks import claim, dispatch

from .models import Doi, DoiAttempt, concept_doi_name, version_doi_name

LEASE = datetime.timedelta(minutes=5)


class PublishingError(ValueError):
    """A request a user can fix (wrong state, missing reason)."""


def on_archived(revision: Revision) -> Revision:
    """Call inside the pipeline's transaction, holding the revision's row lock."""
    if hold_if_covered(revision):
        return revision
    return _publish(revision, timezone.now())


def release_held(revision: Revision) -> Revision:
    """Publish a held revision whose holds have ended; anything else is left alone. Call inside a
    transaction, holding the revision's row lock."""
    if revision.state != Revision.State.HELD:
        return revision
    return _publish(revision, timezone.now())


def _publish(revision: Revision, now) -> Revision:
    revision.mark_published(doi=version_doi_name(revision), when=now)
    dois = _ensure_dois(revision)
    record_event(
        service="publishing",
        method="publish",
        resource_id=revision.package_id_text,
        text=f"published; DOI {revision.doi} pending",
        auth_system="worker",
    )
    for doi in dois:
        dispatch(_register_task(), doi.pk)
    announce_change(revision)
    return revision


def _register_task():
    from .tasks import register_doi

    return register_doi


def _ensure_dois(revision: Revision) -> list[Doi]:
    """The version DOI, the concept DOI, and the neighbours whose related identifiers now change."""
    package = revision.package
    version, _ = Doi.objects.get_or_create(
        doi=version_doi_name(revision),
        defaults={"kind": Doi.Kind.VERSION, "package": package, "revision": revision},
    )
    concept, created = Doi.objects.get_or_create(
        doi=concept_doi_name(package), defaults={"kind": Doi.Kind.CONCEPT, "package": package}
    )
    touched = [version, concept]
    if not created:
        _mark_dirty(Doi.objects.filter(pk=concept.pk))
    # The previous version gains an IsPreviousVersionOf link to this one.
    previous = (
        Doi.objects.filter(kind=Doi.Kind.VERSION, package=package, revision__number__lt=revision.number)
        .order_by("-revision__number")
        .first()
    )
    if previous is not None:
        _mark_dirty(Doi.objects.filter(pk=previous.pk))
        touched.append(previous)
    return touched


def _mark_dirty(qs: QuerySet) -> int:
    """Metadata changed: sync again. ``generation`` lets a sync in flight know it sent stale metadata."""
    return qs.update(needs_update=True, generation=F("generation") + 1, next_try_at=None)


def metadata_changed(revision: Revision, *, user=None, request=None) -> None:
    """Public metadata of ``revision`` changed (call inside the transaction that changed it)."""
    revision.metadata_modified_at = timezone.now()
    revision.save(update_fields=["metadata_modified_at"])
    dois = Doi.objects.filter(Q(revision=revision) | Q(kind=Doi.Kind.CONCEPT, package_id=revision.package_id))
    _mark_dirty(dois)
    record_event(
        service="publishing",
        method="updateMetadata",
        resource_id=revision.package_id_text,
        text="metadata changed; DOI update queued",
        user=user,
        request=request,
    )
    for pk in dois.values_list("pk", flat=True):
        dispatch(_register_task(), pk)
    announce_change(revision)


def record_changed(revision_ids: list[int]) -> None:
    """What the OAI-PMH records of these published versions carry changed while their metadata did not (an
    app above publishing added to them: a torrent built, a mirror verified or failing, ``extensions.copies``):
    a new datestamp, so that incremental harvesters take them again. The DOI is not sent again for this
    (DataCite gets the copies with the version's next metadata change)."""
    Revision.objects.filter(pk__in=list(revision_ids), state=Revision.State.PUBLISHED).update(
        metadata_modified_at=timezone.now()
    )


def correct_metadata(revision: Revision, *, title: str, abstract: str, user=None, request=None) -> Revision:
    """A data manager corrects a public version's title or abstract (a typo, a wrong station name).

    The archived EML stays as submitted (it is immutable); the correction is what the landing page,
    search, OAI-PMH and DataCite show from now on, and the DOI metadata is updated (PUT)."""
    title, abstract = (title or "").strip(), (abstract or "").strip()
    if not title:
        raise PublishingError("A title is required.")
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        if locked.state not in Revision.CORRECTABLE:
            raise PublishingError(
                f"Only a public version can be corrected; {locked.package_id_text} is {locked.state}."
            )
        changed = [f for f, v in (("title", title), ("abstract", abstract)) if getattr(locked, f) != v]
        if not changed:
            return locked
        record_event(
            service="publishing",
            method="correctMetadata",
            resource_id=locked.package_id_text,
            text=f"corrected {', '.join(changed)}; was title={locked.title!r}",
            user=user,
            request=request,
        )
        locked.title, locked.abstract = title, abstract
        locked.save(update_fields=["title", "abstract"])
        metadata_changed(locked, user=user, request=request)
    return locked


def withdraw(
    revision: Revision,
    *,
    reason: str,
    category: str = Revision.WithdrawalCategory.OTHER,
    user=None,
    request=None,
) -> Revision:
    """Withdraw a published version with a public reason and its category (``Revision.WithdrawalCategory``):
    tombstone page (410 Gone), DOI hidden but resolving, a deleted record in OAI-PMH forever. The data
    is kept."""
    reason = (reason or "").strip()
    if not reason:
        raise PublishingError("Give a public reason for the withdrawal; it is shown on the tombstone page.")
    if category not in Revision.WithdrawalCategory.values:
        raise PublishingError(
            f"Unknown withdrawal category {category!r}; use one of "
            + ", ".join(Revision.WithdrawalCategory.values)
            + "."
        )
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        if locked.state != Revision.State.PUBLISHED:
            raise PublishingError(
                f"Only a published version can be withdrawn; {locked.package_id_text} is {locked.state}."
            )
        locked.mark_withdrawn(reason=reason, category=category)
        _take_down(
            locked, method="withdraw", text=f"withdrawn ({category}): {reason}", user=user, request=request
        )
    return locked


def taint(revision: Revision, *, reason: str, user=None, request=None) -> Revision:
    """Mark a public version tainted (its data must be removed everywhere): a tombstone page that says
    only "removed", the DOI hidden but resolving, a deleted record in OAI-PMH forever. The reason goes to
    the audit log only. After the commit the worker deletes the bytes from every tier
    (``apps.publishing.taint``) and ``revision_tainted`` is sent (the seeder and smart nodes follow it)."""
    reason = _taint_reason(reason)
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        if locked.state not in Revision.TAINTABLE:
            raise PublishingError(
                f"Only a published or withdrawn version can be tainted; {locked.package_id_text} is {locked.state}."
            )
        _taint_locked(locked, reason, user=user, request=request)
    return locked


def taint_package(package, *, reason: str, user=None, request=None) -> list[Revision]:
    """Taint a whole dataset: every published or withdrawn version of the package, in one transaction
    (versions never made public have no public copies but their bytes go too, see below). Returns the
    versions tainted; raises PublishingError when none could be."""
    reason = _taint_reason(reason)
    with transaction.atomic(durable=True):
        versions = list(
            Revision.objects.select_for_update()
            .select_related("package")
            .filter(package=package, state__in=Revision.TAINTABLE)
            .order_by("number")
        )
        if not versions:
            raise PublishingError("This dataset has no published or withdrawn version to taint.")
        for locked in versions:
            _taint_locked(locked, reason, user=user, request=request)
    return versions


def _taint_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise PublishingError("Give a reason for tainting; it is recorded in the audit log.")
    return reason


def _taint_locked(locked: Revision, reason: str, *, user, request) -> None:
    from apps.packages.signals import revision_tainted

    from .tasks import remove_tainted_data

    locked.mark_tainted()
    _take_down(locked, method="taint", text=f"tainted: {reason}", user=user, request=request)
    dispatch(remove_tainted_data, locked.pk)
    transaction.on_commit(lambda: revision_tainted.send(sender=Revision, revision=locked))


def _take_down(revision: Revision, *, method: str, text: str, user, request) -> None:
    """After withdrawing or tainting: the version DOI goes back to registered (hidden, still resolving),
    the concept DOI follows the latest public version. Call inside the verb's transaction."""
    Doi.objects.filter(revision=revision).update(target_state=Doi.State.REGISTERED)
    dois = Doi.objects.filter(Q(revision=revision) | Q(kind=Doi.Kind.CONCEPT, package_id=revision.package_id))
    _mark_dirty(dois)
    record_event(
        service="publishing",
        method=method,
        resource_id=revision.package_id_text,
        text=text,
        user=user,
        request=request,
    )
    for pk in dois.values_list("pk", flat=True):
        dispatch(_register_task(), pk)
    announce_change(revision)


def retry_now(doi: Doi, *, user=None, request=None) -> Doi:
    """A data manager's "retry now": due at once, any stale lease dropped."""
    with transaction.atomic(durable=True):
        Doi.objects.filter(pk=doi.pk).update(next_try_at=None, lease_until=None)
        record_event(
            service="publishing",
            method="retryDoi",
            resource_id=doi.doi,
            text="retry requested",
            user=user,
            request=request,
        )
        dispatch(_register_task(), doi.pk)
    doi.refresh_from_db()
    return doi


def due_dois(now=None) -> QuerySet:
    """DOIs out of step with DataCite whose next try has come (none while DataCite is not configured)."""
    if not settings.DATACITE_API_URL:
        return Doi.objects.none()
    now = now or timezone.now()
    return (
        Doi.objects.filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .filter(~Q(state=F("target_state")) | Q(needs_update=True))
        .order_by("next_try_at", "pk")
    )


def _source_revision(doi: Doi) -> Revision | None:
    """The version a DOI describes: its own, or for a concept DOI the latest version (published first)."""
    if doi.revision_id:
        return doi.revision
    versions = Revision.objects.filter(
        package_id=doi.package_id,
        state__in=Revision.EVER_PUBLISHED,
    )
    return (
        versions.filter(state=Revision.State.PUBLISHED).order_by("-number").first()
        or versions.order_by("-number").first()
    )


def sync_doi(doi_id: int) -> str:
    """Bring DataCite in line with one DOI row: create the draft, then PUT metadata + URL + event.

    Claims the DOI with a conditional update (a lease), talks to DataCite outside any transaction,
    then records the attempt. Returns what happened, for logs and tests.
    """
    from .crosswalks import metadata
    from .doi.datacite_client import DataCiteClient, DataCiteError

    if not settings.DATACITE_API_URL:
        return "not configured"  # stays pending; no network
    now = timezone.now()
    if claim(Doi.objects.all(), doi_id, duration=LEASE, owner_field=None) is None:
        return "busy"
    doi = Doi.objects.select_related("package", "revision__package").get(pk=doi_id)
    if doi.in_sync:
        Doi.objects.filter(pk=doi.pk).update(lease_until=None)
        return "in sync"
    generation = doi.generation
    client = DataCiteClient()
    actions: list[str] = []
    state = doi.state
    try:
        if state == Doi.State.PENDING:
            client.create_draft(doi.doi)
            actions.append("create draft")
            state = Doi.State.DRAFT
            Doi.objects.filter(pk=doi.pk).update(state=state)
        source = _source_revision(doi)
        if source is None:
            raise DataCiteError("no public version to describe")
        source = metadata.with_record_relations(Revision.objects).get(pk=source.pk)
        concept = doi.kind == Doi.Kind.CONCEPT
        xml = metadata.datacite_xml(source, concept=concept)
        url = metadata.absolute(
            metadata.dataset_path(doi.package) if concept else metadata.version_path(source)
        )
        if doi.target_state == Doi.State.FINDABLE:
            event = "publish" if state != Doi.State.FINDABLE else None
        else:
            event = {"findable": "hide", "draft": "register"}.get(state)
        client.update(doi.doi, xml=xml, url=url, event=event)
        actions.append(f"update ({event})" if event else "update")
    except DataCiteError as exc:
        with transaction.atomic():
            doi = Doi.objects.select_for_update().get(pk=doi.pk)
            DoiAttempt.objects.create(
                doi=doi,
                at=now,
                action=", ".join(actions + ["failed"]),
                ok=False,
                status_code=exc.status,
                error=str(exc),
            )
            doi.attempts += 1
            doi.last_error = str(exc)
            doi.last_attempt_at = now
            doi.next_try_at = now + doi.backoff()  # counts the failure just logged
            doi.lease_until = None
            doi.save(
                update_fields=["attempts", "last_error", "last_attempt_at", "next_try_at", "lease_until"]
            )
            record_event(
                service="publishing",
                method="registerDoi",
                resource_id=doi.doi,
                category=AuditEvent.Category.WARN,
                status=exc.status,
                text=f"attempt {doi.attempts} failed, next try {doi.next_try_at:%Y-%m-%d %H:%M}Z: {exc}",
                auth_system="worker",
            )
        return f"failed: {exc}"
    with transaction.atomic():
        doi = Doi.objects.select_for_update().get(pk=doi.pk)
        doi.state = doi.target_state
        doi.attempts += 1
        doi.last_error = ""
        doi.last_attempt_at = now
        doi.next_try_at = None
        doi.lease_until = None
        doi.registered_at = doi.registered_at or timezone.now()
        # Metadata changed while we were sending? Then leave needs_update for the next run.
        doi.needs_update = doi.generation != generation
        doi.save(
            update_fields=[
                "state",
                "attempts",
                "last_error",
                "last_attempt_at",
                "next_try_at",
                "lease_until",
                "registered_at",
                "needs_update",
            ]
        )
        DoiAttempt.objects.create(doi=doi, at=now, action=", ".join(actions), ok=True, status_code=200)
        record_event(
            service="publishing",
            method="registerDoi",
            resource_id=doi.doi,
            status=200,
            text=f"DataCite: {', '.join(actions)}; now {doi.state}",
            auth_system="worker",
        )
        if doi.needs_update:
            dispatch(_register_task(), doi.pk)
    return f"{doi.state}: {', '.join(actions)}"
