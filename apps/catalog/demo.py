"""Catalog demo: one mirror of the newest public demo version — its files copied into a second local
storage folder (``CATALOG_LOCAL_MIRROR_DIR``) that the portal serves at ``/catalog/local-mirror/`` — and a
first build of ``/catalog/stac.parquet`` with every demo version. Idempotent.

The mirror is verified by the worker's periodic job (``catalog-verify-mirrors``) once the portal runs; on
one machine that needs ``MIRROR_ALLOW_LOOPBACK=1`` (the check refuses loopback addresses otherwise)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings

from apps.packages.models import Revision
from apps.publishing.files import tree_name, version_files
from apps.storage.services import open_blob

from . import services
from .models import Mirror


def load(log) -> None:
    revision = (
        Revision.objects.filter(state=Revision.State.PUBLISHED)
        .select_related("package")
        .order_by("-published_at", "-pk")
        .first()
    )
    if revision is not None and not Mirror.objects.filter(revision=revision).exists():
        package = revision.package
        tree = tree_name(package.scope, package.identifier, revision.number)
        folder = Path(settings.CATALOG_LOCAL_MIRROR_DIR) / tree
        for f in version_files(revision):
            target = folder / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            with open_blob(f.blob) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
        services.register_mirror(
            revision,
            kind=Mirror.Kind.HTTP,
            base_url=f"{settings.SITE_BASE_URL}/catalog/local-mirror/{tree}/",
            label="second local storage folder (demo)",
        )
    result = services.refresh(force=True)
    log(f"catalog: {result}; {Mirror.objects.count()} mirror(s) registered")
