"""Distribution verbs: profiles and their rules, classification (preview, commit), packaging a dataset
through the submission pipeline, the national archive's accession, and the final-migration mark.

Every verb that changes state owns its transaction and writes an audit event; long work (packaging a
dataset, deep copies, restores) runs in the worker (``tasks``), claimed with a lease.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from apps import access
from apps.audit.services import record_event
from apps.cruises.models import Cruise, Organisation, Vessel
from apps.deliveries import signals as delivery_signals
from apps.deliveries import sources as delivery_sources
from apps.deliveries.models import Delivery, InventoryFile
from apps.packages.models import Package, Revision
from portal.errors import Conflict, NotFound, UserError
from portal.tasks import claim, dispatch

from . import classify as matching
from . import eml
from .models import Accession, CruiseDistribution, Dataset, DatasetFile, Profile, Rule

log = logging.getLogger(__name__)
PACKAGING_LEASE = datetime.timedelta(minutes=30)


def _audit(method: str, resource: str, text: str, *, user=None, request=None) -> None:
    record_event(
        service="distributions",
        method=method,
        resource_id=resource,
        user=user,
        request=request,
        auth_system="" if user else "worker",
        text=text,
    )


def get_delivery(pk: int) -> Delivery:
    """A delivery by id. Deliveries and their inventories are public records (paths and sizes), so there
    is no visibility rule here; every action on one checks its own role (apps.access)."""
    found = (
        Delivery.objects.select_related("cruise", "cruise__vessel", "cruise__operator").filter(pk=pk).first()
    )
    if found is None:
        raise NotFound("No such delivery.")
    return found


# --- profiles ---------------------------------------------------------------------------------------


def _clean_rules(rules: list[dict]) -> list[dict]:
    cleaned, problems = [], []
    valid = {c for c, _ in Rule._meta.get_field("instrument_class").choices}
    for i, raw in enumerate(rules, 1):
        if not any(str(raw.get(k, "")).strip() for k in ("instrument_class", "pattern", "vendor", "model")):
            continue  # an empty form row
        cls = str(raw.get("instrument_class", "")).strip()
        if cls not in valid:
            problems.append(f"rule {i}: instrument class {cls!r} is not one of {', '.join(sorted(valid))}")
            continue
        try:
            pattern = matching.check_pattern(str(raw.get("pattern", "")))
        except ValueError as exc:
            problems.append(f"rule {i}: {exc}")
            continue
        cleaned.append(
            {
                "instrument_class": cls,
                "vendor": str(raw.get("vendor", "")).strip()[:100],
                "model": str(raw.get("model", "")).strip()[:100],
                "pattern": pattern,
            }
        )
    if problems:
        raise UserError("; ".join(problems) + ".")
    return cleaned


@transaction.atomic(durable=True)
def save_profile(
    user,
    *,
    name: str,
    operator: Organisation,
    vessel: Vessel | None,
    template: Profile | None,
    rules: list[dict],
    profile: Profile | None = None,
    request=None,
) -> Profile:
    """Create or replace a profile and its rules (the rules are given whole, in order). A vessel profile may
    extend a fleet template of the same operator; a template extends nothing."""
    access.require_data_manager(user)
    name = name.strip()
    if not name:
        raise UserError("Give the profile a name.")
    if vessel is not None and vessel.operator_id != operator.pk:
        raise UserError(f"The {vessel.name} is not a vessel of {operator.name}.")
    if template is not None:
        if vessel is None:
            raise UserError(
                "A fleet template cannot extend another template; choose a vessel or no template."
            )
        if not template.is_template or template.operator_id != operator.pk:
            raise UserError("The template must be a fleet template (no vessel) of the same operator.")
    cleaned = _clean_rules(rules)
    if not cleaned and template is None:
        raise UserError("Add at least one rule (instrument class and directory pattern).")
    clash = Profile.objects.filter(vessel=vessel).exclude(pk=getattr(profile, "pk", None))
    if vessel is not None and clash.exists():
        raise Conflict(f"The {vessel.name} has a profile already: {clash.first().name}. Edit that one.")
    if profile is None:
        profile = Profile(created_by=user)
    else:
        profile = Profile.objects.select_for_update().get(pk=profile.pk)
    profile.name, profile.operator, profile.vessel, profile.template = name, operator, vessel, template
    profile.updated_at = timezone.now()
    profile.save()
    profile.rules.all().delete()
    Rule.objects.bulk_create([Rule(profile=profile, position=i, **r) for i, r in enumerate(cleaned)])
    _audit(
        "saveProfile",
        f"profile/{profile.pk}",
        f"profile {name!r} ({vessel.name if vessel else 'fleet template'} of {operator.name}): {len(cleaned)} rules"
        + (f", extends {template.name!r}" if template else ""),
        user=user,
        request=request,
    )
    return profile


def profile_for(delivery: Delivery) -> Profile | None:
    """The vessel's profile, else the operator's first fleet template."""
    cruise = delivery.cruise
    found = Profile.objects.filter(vessel_id=cruise.vessel_id).first()
    return found or Profile.objects.filter(operator_id=cruise.operator_id, vessel__isnull=True).first()


# --- classification ---------------------------------------------------------------------------------


def _rules(profile: Profile) -> list[Rule]:
    profile = (
        Profile.objects.select_related("template")
        .prefetch_related("rules", "template__rules")
        .get(pk=profile.pk)
    )
    return profile.effective_rules()


def preview(delivery: Delivery, profile: Profile) -> matching.Classification:
    """What committing ``profile`` would do to ``delivery`` (nothing is written)."""
    return matching.classify(delivery, _rules(profile))


def _packaged(delivery: Delivery) -> bool:
    return delivery.datasets.exclude(state=Dataset.State.CLASSIFIED).exists()


def _add_members(dataset: Dataset, pks: list[int]) -> None:
    """The dataset's DatasetFile rows: COPY on PostgreSQL (no model objects, one round trip per 10,000
    rows' worth of buffer), bulk INSERTs elsewhere."""
    if connection.vendor == "postgresql":
        table = DatasetFile._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f'COPY "{table}" (dataset_id, file_id) FROM STDIN') as copy:
                for pk in pks:
                    copy.write_row((dataset.pk, pk))
        return
    DatasetFile.objects.bulk_create(
        (DatasetFile(dataset=dataset, file_id=pk) for pk in pks), batch_size=matching.CHUNK
    )


@transaction.atomic(durable=True)
def commit_classification(
    delivery: Delivery, profile: Profile, user, *, expected: str, request=None
) -> list[Dataset]:
    """Apply ``profile``: set every file's instrument class and make one dataset per instrument system.
    ``expected`` is the fingerprint of the rules the data manager previewed; other rules are refused
    (Conflict) so what is committed is what was seen. Replaces an earlier classification as long as no
    dataset of it has been packaged."""
    access.require_data_manager(user)
    delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.state != Delivery.State.INVENTORIED:
        raise Conflict("Only an inventoried delivery can be classified.")
    if _packaged(delivery):
        raise Conflict("Datasets of this delivery are packaged already; the classification is final.")
    rules = _rules(profile)
    result = matching.classify(delivery, rules, keep_pks=True)
    if result.fingerprint != expected:
        raise Conflict("The profile's rules changed since the preview; look at the preview again.")
    delivery.datasets.all().delete()
    matching.write_classes(delivery, result.groups)
    datasets = []
    for group in result.groups:
        if not group.files:
            continue
        dataset = Dataset.objects.create(
            delivery=delivery,
            profile=profile,
            instrument_class=group.instrument_class,
            vendor=group.vendor,
            model=group.model,
            files_count=group.files,
            bytes_total=group.bytes,
        )
        _add_members(dataset, group.pks)
        datasets.append(dataset)
    _audit(
        "classify",
        str(delivery),
        f"profile {profile.name!r} applied: {len(datasets)} datasets, "
        f"{result.total_files - result.unmatched_files} files classified, {result.unmatched_files} matched nothing",
        user=user,
        request=request,
    )
    transaction.on_commit(
        lambda: delivery_signals.delivery_classified.send(sender=Delivery, delivery=delivery)
    )
    return datasets


# --- datasets as data packages ----------------------------------------------------------------------


@transaction.atomic(durable=True)
def request_packaging(dataset: Dataset, user, *, request=None) -> Dataset:
    """Queue the packaging of a classified (or failed) dataset: the worker writes its EML and submits it
    through the same pipeline as any submission, as ``user`` (a data manager)."""
    access.require_data_manager(user)
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if dataset.state not in (Dataset.State.CLASSIFIED, Dataset.State.FAILED):
        raise Conflict(f"This dataset is {dataset.get_state_display().lower()} already.")
    dataset.state, dataset.message = Dataset.State.PACKAGING, ""
    dataset.save(update_fields=["state", "message"])
    _audit(
        "requestPackaging",
        str(dataset.delivery),
        f"packaging {dataset.label} requested",
        user=user,
        request=request,
    )
    from . import tasks

    dispatch(tasks.package_dataset, dataset.pk, user.pk)
    return dataset


def _files(dataset: Dataset) -> list[eml.FileEntry]:
    from .deep import hashed

    rows = hashed(InventoryFile.objects.filter(pk__in=dataset.members.values("file_id"))).order_by("path")
    columns = ["path", "size", "md5", "sha256", "source_path"]
    return [
        eml.FileEntry(*row[:4], eml.object_name(row[0]), row[4])
        for row in rows.values_list(*columns).iterator(chunk_size=5000)
    ]


def next_package_id(scope: str) -> str:
    last = Package.objects.filter(scope=scope).aggregate(m=Max("identifier"))["m"] or 0
    return f"{scope}.{last + 1}.1"


def dataset_eml(dataset: Dataset, package_id: str) -> tuple[bytes, list[eml.FileEntry], bytes, bool]:
    files = _files(dataset)
    inventory = eml.inventory_csv(files)
    with_entities = len(files) <= settings.DISTRIBUTION_MAX_ENTITIES
    document = eml.build(dataset, package_id, files, with_entities=with_entities, inventory=inventory)
    return document, files, inventory, with_entities


def package_dataset(dataset_pk: int, user_pk: int) -> str:
    """Build the dataset's EML and submit it with its files (stored as blobs from the delivery's drop
    folder) through the submission pipeline. Claimed with a lease; a second run finds it taken or done."""
    import io

    from django.contrib.auth import get_user_model

    from apps.submissions import services as submissions

    lease = claim(Dataset.objects.filter(state=Dataset.State.PACKAGING), dataset_pk, duration=PACKAGING_LEASE)
    if lease is None:
        return "taken"
    dataset = Dataset.objects.select_related("delivery__cruise__vessel", "delivery__cruise__operator").get(
        pk=dataset_pk
    )
    user = get_user_model().objects.get(pk=user_pk)
    package_id = next_package_id(settings.DISTRIBUTION_SCOPE)
    try:
        with lease.heartbeat(PACKAGING_LEASE.total_seconds() / 3):
            document, files, inventory, with_entities = dataset_eml(dataset, package_id)
            handles = [("files.csv", io.BytesIO(inventory))]
            if with_entities:
                handles += [
                    (f.object_name, delivery_sources.open_delivered(dataset.delivery, f.on_disk or f.path))
                    for f in files
                ]
            try:
                sub = submissions.submit(user, document, files=handles, filename=f"{package_id}.xml")
            finally:
                for _, handle in handles:
                    handle.close()
    except Exception as exc:
        log.exception("packaging dataset %s failed", dataset_pk)
        lease.release(state=Dataset.State.FAILED, message=f"{type(exc).__name__}: {exc}"[:2000])
        _audit("packageDataset", str(dataset.delivery), f"packaging {dataset.label} failed: {exc}")
        return Dataset.State.FAILED
    package = sub.revision.package if sub.revision_id else None
    lease.release(
        state=Dataset.State.SUBMITTED if package else Dataset.State.FAILED,
        package=package,
        submission_transaction=sub.transaction,
        message="" if package else "The pipeline refused the package id; see the submission report.",
    )
    _audit(
        "packageDataset",
        str(dataset.delivery),
        f"{dataset.label} submitted as {package_id} (submission {sub.transaction}, "
        f"{len(files)} files{'' if with_entities else ', described by its inventory table'})",
    )
    return Dataset.State.SUBMITTED


def released_revision(package: Package) -> Revision | None:
    """The package's newest published revision (released: out of every hold, with its DOI)."""
    return package.revisions.filter(state=Revision.State.PUBLISHED).order_by("-number").first()


# --- the national archive ---------------------------------------------------------------------------


def dataset_for_package(scope: str, identifier: int) -> Dataset:
    dataset = (
        Dataset.objects.select_related("package", "delivery__cruise")
        .filter(package__scope=scope, package__identifier=identifier)
        .first()
    )
    if dataset is None:
        raise NotFound(f"{scope}.{identifier} is not a dataset of a cruise distribution.")
    return dataset


@transaction.atomic(durable=True)
def report_accession(
    dataset: Dataset, user, *, accession_id: str, url: str, archive: str = "NCEI", request=None
) -> Accession:
    """The national archive (or a data manager) reports the accession of a released dataset. The record
    keeps it, the landing page says "archived at …", and the DataCite metadata gains the accession URL
    (its DOIs are queued for an update). When every dataset of the cruise is released and archived, the
    cruise's distribution is marked for final migration."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    from apps.publishing.services import metadata_changed

    access.require_accession_reporter(user)
    accession_id, url = accession_id.strip(), url.strip()
    if not accession_id:
        raise UserError("Give the accession id (e.g. 0287654).")
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError as exc:
        raise UserError(f"{url!r} is not an http(s) URL.") from exc
    if dataset.package is None:
        raise Conflict("This dataset has not been packaged yet.")
    revision = released_revision(dataset.package)
    if revision is None:
        raise Conflict("Only a released dataset (published, out of every hold) can be archived.")
    accession, _ = Accession.objects.update_or_create(
        package=dataset.package,
        defaults={
            "accession_id": accession_id[:100],
            "url": url,
            "archive": archive[:100] or "NCEI",
            "reported_by": user,
            "reported_at": timezone.now(),
        },
    )
    locked = Revision.objects.select_for_update().get(pk=revision.pk)
    metadata_changed(locked, user=user, request=request)
    _audit(
        "reportAccession",
        revision.package_id_text,
        f"{accession.archive} accession {accession_id} at {url}",
        user=user,
        request=request,
    )
    mark_final_migration(dataset.delivery.cruise, user=user, request=request)
    return accession


def distribution_of(cruise: Cruise) -> CruiseDistribution:
    found, _ = CruiseDistribution.objects.get_or_create(cruise=cruise)
    return found


def cruise_datasets(cruise: Cruise):
    return Dataset.objects.filter(delivery__cruise=cruise).select_related("package", "delivery")


def pending_release(cruise: Cruise) -> list[str]:
    """Why the cruise's distribution is not ready for final migration (empty = ready)."""
    datasets = list(cruise_datasets(cruise))
    if not datasets:
        return ["no datasets classified"]
    reasons = []
    archived = set(
        Accession.objects.filter(package__in=[d.package_id for d in datasets if d.package_id]).values_list(
            "package_id", flat=True
        )
    )
    for d in datasets:
        if d.package is None:
            reasons.append(f"{d.label}: not packaged")
        elif released_revision(d.package) is None:
            reasons.append(f"{d.label}: not released")
        elif d.package_id not in archived:
            reasons.append(f"{d.label}: no accession reported")
    return reasons


def mark_final_migration(cruise: Cruise, *, user=None, request=None) -> bool:
    """Mark the cruise's distribution for final migration once every dataset is released and archived.
    Call inside a transaction. True when (now or before) marked."""
    distribution = distribution_of(cruise)
    if distribution.final_migration_at:
        return True
    if pending_release(cruise):
        return False
    distribution.final_migration_at = timezone.now()
    distribution.save(update_fields=["final_migration_at"])
    _audit(
        "markFinalMigration",
        cruise.cruise_id,
        f"every dataset of {cruise.cruise_id} is released and archived: marked for final migration",
        user=user,
        request=request,
    )
    return True


@transaction.atomic(durable=True)
def set_cruise_doi(cruise: Cruise, user, *, doi: str, request=None) -> CruiseDistribution:
    access.require_data_manager(user)
    doi = doi.strip().removeprefix("https://doi.org/").removeprefix("doi:")
    if doi and not doi.startswith("10."):
        raise UserError(f"{doi!r} is not a DOI (it starts with '10.').")
    distribution = distribution_of(cruise)
    distribution.cruise_doi = doi
    distribution.save(update_fields=["cruise_doi"])
    _audit("setCruiseDoi", cruise.cruise_id, f"cruise DOI {doi or '(none)'}", user=user, request=request)
    return distribution


def bag_dir_name(cruise: Cruise) -> str:
    return f"{cruise.cruise_id}_distribution"


def restore_root() -> Path:
    return Path(settings.DISTRIBUTION_RESTORE_DIR)
