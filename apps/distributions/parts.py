"""Distributions' parts of other apps' pages and records (registered in ``apps.DistributionsConfig.ready``):
the cruise page's distribution section, and the accession in DataCite metadata and on landing pages."""

from __future__ import annotations

from apps import access

from .models import Accession, CruiseDistribution, Dataset, DeepCopy, RestoreRequest


def page_context(request, cruise, context: dict) -> None:
    deliveries = list(cruise.deliveries.all())
    if not deliveries:
        return
    copies = {c.delivery_id: c for c in DeepCopy.objects.filter(delivery__in=deliveries)}
    datasets = list(Dataset.objects.filter(delivery__in=deliveries).select_related("package"))
    accessions = {
        a.package_id: a
        for a in Accession.objects.filter(package__in=[d.package_id for d in datasets if d.package_id])
    }
    rows = []
    for delivery in deliveries:
        rows.append(
            {
                "delivery": delivery,
                "deep": copies.get(delivery.pk),
                "datasets": [
                    {"dataset": d, "accession": accessions.get(d.package_id)}
                    for d in datasets
                    if d.delivery_id == delivery.pk
                ],
            }
        )
    user = request.user
    record = CruiseDistribution.objects.filter(cruise=cruise).first()
    context["distribution"] = {
        "rows": rows,
        "final": getattr(record, "final_migration_at", None),
        "cruise_doi": getattr(record, "cruise_doi", ""),
        "may_restore": access.can_request_restore(user, cruise),
        "is_data_manager": access.roles.is_data_manager(user),
        "restores": RestoreRequest.objects.filter(delivery__in=deliveries)[:20]
        if access.can_request_restore(user, cruise)
        else [],
    }


def _accession_of(revision) -> Accession | None:
    return Accession.objects.filter(package_id=revision.package_id).first()


def datacite_related(revision) -> dict:
    """The archive's copy: an alternateIdentifier (the accession id) and a relatedIdentifier of type URL
    with relationType IsIdenticalTo (DataCite 4.5: "A is identical to B, e.g. the same resource in
    another repository") — the accession holds the same bytes, checked by the bag's manifests."""
    accession = _accession_of(revision)
    if accession is None or revision.state != "published":
        return {}
    return {
        "relatedIdentifiers": [
            {
                "relatedIdentifier": accession.url,
                "relatedIdentifierType": "URL",
                "relationType": "IsIdenticalTo",
            }
        ],
        "alternateIdentifiers": [
            {
                "alternateIdentifier": accession.accession_id,
                "alternateIdentifierType": f"{accession.archive} Accession",
            }
        ],
    }


def landing_links(revision) -> list[dict]:
    accession = _accession_of(revision)
    if accession is None:
        return []
    return [
        {
            "label": "Archived at",
            "text": f"{accession.archive}, accession {accession.accession_id}:",
            "url": accession.url,
        }
    ]
