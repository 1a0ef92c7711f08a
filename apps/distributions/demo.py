"""Demo distribution: the Scripps fleet-standard template, the Roger Revelle's profile that overrides its
multibeam rule, and — when the deliveries demo has delivered and inventoried RR2401's distribution — the
datasets that profile classifies it into, the two smallest packaged through the pipeline.

The delivery itself belongs to the deliveries demo: this one finds RR2401's inventoried delivery (any
shipment) and does nothing more when there is none. Idempotent: a delivery classified before is left alone.
"""

from __future__ import annotations

from apps.accounts.models import User
from apps.cruises.models import Cruise, Organisation, Vessel
from apps.deliveries.models import Delivery

from . import services
from .models import Profile

# Folder names vary between operators and years; ``**/`` lets each rule find its folder at any depth.
FLEET_RULES = [
    {"instrument_class": "multibeam", "vendor": "Kongsberg", "model": "", "pattern": "**/[Mm]ultibeam/**"},
    {"instrument_class": "ctd", "vendor": "Sea-Bird", "model": "SBE911plus", "pattern": "**/[Cc][Tt][Dd]/**"},
    {"instrument_class": "adcp", "vendor": "Teledyne RDI", "model": "", "pattern": "**/[Aa][Dd][Cc][Pp]/**"},
    {"instrument_class": "navigation", "vendor": "", "model": "", "pattern": "**/[Nn]av*/**"},
    {"instrument_class": "meteorology", "vendor": "", "model": "", "pattern": "**/[Mm]et*/**"},
    {"instrument_class": "tsg", "vendor": "Sea-Bird", "model": "SBE45", "pattern": "**/[Tt][Ss][Gg]/**"},
    {"instrument_class": "documentation", "vendor": "", "model": "", "pattern": "**/[Dd]oc*/**"},
]
REVELLE_RULES = [
    {
        "instrument_class": "multibeam",
        "vendor": "Kongsberg",
        "model": "EM124",
        "pattern": "**/[Mm]ultibeam/**",
    },
]


def load(log) -> None:
    manager = User.objects.filter(email="dm@quayside.example").first()
    sio = Organisation.objects.filter(vessels__code="RR").first()
    revelle = Vessel.objects.filter(code="RR").first()
    if manager is None or sio is None or revelle is None:
        return
    template = Profile.objects.filter(
        operator=sio, vessel__isnull=True, name="Scripps fleet standard"
    ).first()
    if template is None:
        template = services.save_profile(
            manager,
            name="Scripps fleet standard",
            operator=sio,
            vessel=None,
            template=None,
            rules=FLEET_RULES,
        )
    profile = Profile.objects.filter(vessel=revelle).first()
    if profile is None:
        profile = services.save_profile(
            manager,
            name="R/V Roger Revelle",
            operator=sio,
            vessel=revelle,
            template=template,
            rules=REVELLE_RULES,
        )
    cruise = Cruise.objects.filter(cruise_id="RR2401", vessel=revelle).first()
    delivery = (
        Delivery.objects.filter(cruise=cruise, state=Delivery.State.INVENTORIED)
        .order_by("created_at")
        .first()
        if cruise
        else None
    )
    if delivery is None:
        log("Distribution profiles loaded; RR2401 has no inventoried delivery to classify.")
        return
    if delivery.datasets.exists():
        return
    preview = services.preview(delivery, profile)
    datasets = services.commit_classification(delivery, profile, manager, expected=preview.fingerprint)
    log(
        f"Classified RR2401 shipment {delivery.shipment}: {len(datasets)} datasets, "
        f"{preview.unmatched_files} files matched no rule."
    )
    from apps.submissions import services as submissions
    from apps.submissions.models import Submission

    for dataset in sorted(datasets, key=lambda d: d.bytes_total)[:2]:
        services.request_packaging(dataset, manager)
        services.package_dataset(dataset.pk, manager.pk)
        dataset.refresh_from_db()
        if dataset.submission_transaction:
            submissions.run_all(Submission.objects.get(transaction=dataset.submission_transaction))
