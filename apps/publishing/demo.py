"""Publishing demo: every archived demo package is published (DOIs pending, or registered when
DATACITE_API_URL points at a DataCite server), and a small two-version dataset of our own whose first
version is withdrawn, so the OAI-PMH feed always shows a deleted record (the tainted demo item is a quick
share: ``apps.shares.demo``). Idempotent."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.packages.models import Entity, Package, Revision

from . import services
from .models import Doi

DEMO_SCOPE = "edi"
DEMO_IDENTIFIER = 9001
EML = """<?xml version="1.0" encoding="UTF-8"?>
<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="{pid}" system="https://quayside.example">
  <dataset>
    <title>{title}</title>
    <creator><individualName><givenName>Vikram</givenName><surName>Patel</surName></individualName></creator>
    <contact><individualName><givenName>Vikram</givenName><surName>Patel</surName></individualName></contact>
  </dataset>
</eml:eml>
"""
VERSIONS = [
    (
        "Nearshore water temperature at Quay Point, 2023",
        "time,temperature_C\n2023-07-01T00:00Z,14.2\n2023-07-01T01:00Z,14.1\n",
    ),
    (
        "Nearshore water temperature at Quay Point, 2023 (recalibrated)",
        "time,temperature_C\n2023-07-01T00:00Z,14.4\n2023-07-01T01:00Z,14.3\n",
    ),
]


ABSTRACT = (
    "Hourly water temperature from a logger at 2 m depth off Quay Point, kept as a demonstration dataset."
)


def _demo_package(
    log, identifier: int = DEMO_IDENTIFIER, versions=VERSIONS, abstract: str = ABSTRACT
) -> Package | None:
    from apps.accounts.models import User
    from apps.cruises.models import Cruise
    from apps.storage.services import store_bytes

    owner = (
        User.objects.filter(email="vetted@quayside.example").first()
        or User.objects.filter(is_superuser=True).first()
    )
    if owner is None:
        log("publishing: no demo user to own the demo dataset; skipped")
        return None
    # A cruise no hold covers, so the demo shows cruise sets and IsPartOf without being held itself.
    from apps.holds.models import Hold

    cruise = Cruise.objects.exclude(pk__in=Hold.objects.active().values("cruise_id")).order_by("pk").first()
    package, _ = Package.objects.get_or_create(
        scope=DEMO_SCOPE, identifier=identifier, defaults={"owner": owner, "cruise": cruise}
    )
    for number, (title, csv) in enumerate(versions, start=1):
        if package.revisions.filter(number=number).exists():
            continue
        pid = f"{DEMO_SCOPE}.{identifier}.{number}"
        revision = Revision.objects.create(
            package=package,
            number=number,
            state=Revision.State.ARCHIVED,
            archived_at=timezone.now(),
            submitted_by=owner,
            title=title,
            eml_version="2.2.0",
            eml_blob=store_bytes(EML.format(pid=pid, title=title).encode()),
            abstract=abstract,
            keywords=["water temperature", "nearshore", "loggers"],
            creators=[
                {
                    "name": "Vikram Patel",
                    "given": "Vikram",
                    "family": "Patel",
                    "orcid": "0000-0002-1825-0097",
                    "affiliation": "Coastal Ecology Lab",
                    "email": "vetted@quayside.example",
                }
            ],
            coverage={
                "bbox": [-71.2, 41.4, -71.0, 41.6],
                "begin": "2023-07-01",
                "end": "2023-09-30",
                "description": "Quay Point",
            },
            licence="CC-BY-4.0",
        )
        blob = store_bytes(csv.encode())
        Entity.objects.create(
            revision=revision,
            entity_id="temperature",
            name="Water temperature",
            object_name="temperature.csv",
            declared_size=blob.size,
            declared_md5=blob.md5,
            format_name="text/csv",
            mime_type="text/csv",
            blob=blob,
        )
    return package


def load(log) -> None:
    package = _demo_package(log)
    published = 0
    with transaction.atomic():
        # on_archived runs inside the pipeline's transaction in real life; here the demo is that caller.
        archived = Revision.objects.select_for_update().filter(state=Revision.State.ARCHIVED)
        for revision in archived.select_related("package"):
            services.on_archived(revision)
            published += 1
        # Revisions another demo published without DOIs (e.g. before publishing existed) get theirs now.
        for revision in Revision.objects.filter(
            state=Revision.State.PUBLISHED, version_doi__isnull=True
        ).select_related("package"):
            services._ensure_dois(revision)
            if not revision.doi:
                Revision.objects.filter(pk=revision.pk).update(doi=services.version_doi_name(revision))
    if package is not None:
        first = package.revisions.filter(number=1).first()
        if first is not None and first.state == Revision.State.PUBLISHED:
            services.withdraw(
                first, reason="Logger clock was 20 minutes fast; superseded by version 2 (recalibrated)."
            )
    log(
        f"publishing: {published} revisions published now; {Doi.objects.count()} DOIs "
        f"({Doi.objects.exclude(state=Doi.State.PENDING).count()} registered or in progress); "
        f"{Revision.objects.filter(state=Revision.State.WITHDRAWN).count()} withdrawn, "
        f"{Revision.objects.filter(state=Revision.State.TAINTED).count()} tainted (deleted in OAI-PMH)"
    )
