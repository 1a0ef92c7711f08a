"""Catalog verbs: keeping ``stac.parquet`` current, registering mirrors, asking for a deposit.

The catalog is rebuilt by the worker, never per request: a change marks ``CatalogState.dirty_at`` and
queues ``refresh_catalog`` (after ``CATALOG_DEBOUNCE_SECONDS``, so a burst of releases is one build); the
beat entry ``catalog-refresh`` runs it every ``CATALOG_REFRESH_SECONDS`` too, so a change whose message
was lost still reaches the file within that period.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.audit.services import record_event
from apps.packages.models import Revision
from portal.errors import UserError
from portal.tasks import claim, dispatch, send

from .models import CatalogChange, CatalogState, Deposit, Mirror

LEASE = datetime.timedelta(minutes=10)


def catalog_path() -> Path:
    return Path(settings.CATALOG_DIR) / "stac.parquet"


def mark_dirty(package_id: int | None = None) -> None:
    """Something the catalog shows changed (call inside the transaction that changed it): the rows of
    package ``package_id`` (None: anything — the next build is full). The next ``refresh_catalog``
    rebuilds the segments of the changed packages; one is queued after commit."""
    from .tasks import refresh_catalog

    CatalogState.get()
    changes = {"dirty_at": Coalesce("dirty_at", timezone.now())}
    if package_id is None:
        changes["full"] = True
    else:
        CatalogChange.objects.create(package_id=package_id)
    CatalogState.objects.filter(pk=1).update(**changes)
    transaction.on_commit(lambda: send(refresh_catalog, countdown=settings.CATALOG_DEBOUNCE_SECONDS))


def refresh(*, force: bool = False) -> str:
    """Bring ``stac.parquet`` up to date if it is behind (or missing; ``force``: a full build): rebuild the
    segments of the packages changed since the last build and stitch the served file, recording it with
    its build manifest (``builds.record``) before it replaces the served one. One build at a time (a lease
    on the state row). A change during the build stays recorded, and the build queues itself again; a
    failed build leaves its changes for the next one."""
    from . import builds, parquet
    from .tasks import refresh_catalog

    state = CatalogState.get()
    path = catalog_path()
    if not (force or state.dirty_at or not path.exists()):
        return "current"
    lease = claim(CatalogState.objects.all(), 1, duration=LEASE)
    if lease is None:
        return "busy"
    seen, full = CatalogState.objects.values_list("dirty_at", "full").get(pk=1)
    changes = dict(CatalogChange.objects.values_list("pk", "package_id"))
    CatalogState.objects.filter(pk=1).update(dirty_at=None, full=False)
    full = force or full or not path.exists()
    try:
        with lease.heartbeat(60):
            built = parquet.write_catalog(
                path,
                packages=None if full else set(changes.values()),
                before_replace=builds.record,  # its manifest is recorded before the file is served
            )
    except BaseException:
        restore = {"dirty_at": Coalesce("dirty_at", seen or timezone.now())}
        if full:
            restore["full"] = True
        CatalogState.objects.filter(pk=1).update(**restore)
        lease.release()
        raise
    CatalogChange.objects.filter(pk__in=list(changes)).delete()
    lease.release(
        built_at=timezone.now(), rows=built.rows, size=built.size, sha256=built.sha256, seconds=built.seconds
    )
    if CatalogState.objects.filter(pk=1, dirty_at__isnull=False).exists():
        send(refresh_catalog, countdown=settings.CATALOG_DEBOUNCE_SECONDS)
    how = "full build" if built.full else f"{built.segments} segment(s) rebuilt"
    return f"built {built.rows} rows in {built.seconds:.1f} s ({how})"


# --- mirrors ---------------------------------------------------------------------------------------


def register_mirror(
    revision: Revision,
    *,
    kind: str,
    base_url: str = "",
    file_urls: dict | None = None,
    record_url: str = "",
    label: str = "",
    doi: str = "",
    user=None,
    request=None,
) -> Mirror:
    """A data manager records a copy of a published version elsewhere: the whole tree under ``base_url``,
    or the files named in ``file_urls`` ({path in the tree: URL}). Its first check is queued at once."""
    from apps.publishing.files import version_files

    from .tasks import verify_mirror

    if kind not in Mirror.Kind.values:
        raise UserError(f"Unknown mirror kind {kind!r}; use one of {', '.join(Mirror.Kind.values)}.")
    file_urls = {k: v for k, v in (file_urls or {}).items() if v}
    if not base_url and not file_urls:
        raise UserError("Give the mirror's base URL (the folder holding the version's files) or file URLs.")
    for url in [base_url, record_url, *file_urls.values()]:
        if url and not url.startswith(("http://", "https://")):
            raise UserError(f"{url} is not an http(s) URL.")
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        if locked.state != Revision.State.PUBLISHED:
            raise UserError(
                f"Only a published version can be mirrored; {locked.package_id_text} is {locked.state}."
            )
        paths = {f.path for f in version_files(locked)}
        unknown = sorted(set(file_urls) - paths)
        if unknown:
            raise UserError(f"{', '.join(unknown)}: no such file in {locked.package_id_text}.")
        mirror = Mirror.objects.create(
            revision=locked,
            kind=kind,
            base_url=base_url,
            file_urls=file_urls,
            record_url=record_url,
            label=label,
            doi=doi,
            created_by=user if user is not None and user.is_authenticated else None,
        )
        record_event(
            service="catalog",
            method="registerMirror",
            resource_id=locked.package_id_text,
            text=f"{mirror.get_kind_display()} mirror at {record_url or base_url or 'file URLs'}",
            user=user,
            request=request,
            auth_system="" if user is not None or request is not None else "worker",
        )
        mark_dirty(locked.package_id)
        dispatch(verify_mirror, mirror.pk)
    return mirror


def request_deposit(revision: Revision, *, user=None, request=None) -> Deposit:
    """Queue a deposit of a published version to the Zenodo-compatible API in ``ZENODO_API_URL``."""
    from .tasks import run_deposit

    if not settings.ZENODO_API_URL:
        raise UserError("No deposit repository is configured (ZENODO_API_URL).")
    with transaction.atomic(durable=True):
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        if locked.state != Revision.State.PUBLISHED:
            raise UserError(
                f"Only a published version can be deposited; {locked.package_id_text} is {locked.state}."
            )
        deposit = Deposit.objects.create(
            revision=locked,
            api_url=settings.ZENODO_API_URL,
            created_by=user if user and user.is_authenticated else None,
        )
        record_event(
            service="catalog",
            method="deposit",
            resource_id=locked.package_id_text,
            text=f"deposit to {settings.ZENODO_API_URL} queued",
            user=user,
            request=request,
        )
        dispatch(run_deposit, deposit.pk)
    return deposit
