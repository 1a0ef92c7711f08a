"""Demo hold: one RR2401 dataset held by its chief scientist for a year.

Holds a package already linked to RR2401, or links an archived package of the packages demo (as the
data manager would), or — when there is none — creates a minimal archived package (quay.2401) with
one small CSV and its EML document (so the held dataset's "eml.xml" export works for the people who see
it) so the hold has something to hold. It skips the pipeline, so it has no quality report.
"""

import datetime

from django.utils import timezone

from apps.accounts.models import User
from apps.cruises.models import Cruise
from apps.cruises.services import link_package
from apps.packages.eml.build import Column, Table, build_eml
from apps.packages.models import Entity, Package, Revision
from apps.storage.services import store_bytes

from . import services
from .models import Hold

TITLE = "CTD profiles from R/V Roger Revelle cruise RR2401, California Current, January 2025"
ABSTRACT = "Temperature and salinity profiles from three CTD stations."
CSV = b"station,cast,depth_m,temperature_c,salinity_psu\nS01,1,10,15.21,33.41\nS01,1,50,12.80,33.52\nS02,1,10,15.02,33.39\n"


def load(log) -> None:
    cruise = Cruise.objects.filter(cruise_id="RR2401", vessel__code="RR").first()
    if cruise is None or cruise.state != Cruise.State.APPROVED or Hold.objects.filter(cruise=cruise).exists():
        return
    chief = User.objects.get(email="chief@quayside.example")
    package = Package.objects.filter(cruise=cruise, revisions__state=Revision.State.ARCHIVED).first()
    if package is None:
        package = (
            Package.objects.filter(cruise__isnull=True, revisions__state=Revision.State.ARCHIVED)
            .order_by("-identifier")
            .first()
        )
        if package is not None:
            link_package(cruise, package, User.objects.get(email="dm@quayside.example"))
            package.refresh_from_db()
    if package is None:
        package, created = Package.objects.get_or_create(
            scope="quay", identifier=2401, defaults={"owner": chief, "cruise": cruise}
        )
        if created:
            columns = [
                Column("station"),
                Column("cast", "natural"),
                Column("depth_m", "real", unit="meter", minimum=0),
                Column("temperature_c", "real", unit="celsius"),
                Column("salinity_psu", "real", unit="dimensionless"),
            ]
            table = Table(
                "rr2401-ctd", "RR2401 CTD profiles", columns, object_name="rr2401_ctd.csv", size=len(CSV)
            )
            eml = build_eml(
                "quay.2401.1",
                [table],
                title=TITLE,
                abstract=ABSTRACT,
                keywords=("CTD", "California Current"),
                cruise_id="RR2401",
                creator={
                    "given": "Chidi",
                    "family": "Okafor",
                    "org": "Institute of Marine Science",
                    "email": "chief@quayside.example",
                },
                bbox=(-118.9, 32.3, -117.9, 32.85),
                begin="2025-01-10",
                end="2025-02-02",
            )
            revision = Revision.objects.create(
                package=package,
                number=1,
                state=Revision.State.ARCHIVED,
                archived_at=timezone.now(),
                submitted_by=chief,
                title=TITLE,
                abstract=ABSTRACT,
                eml_version="2.2.0",
                eml_blob=store_bytes(eml),
                keywords=["CTD", "California Current"],
                creators=[{"name": chief.name, "orcid": chief.orcid, "affiliation": chief.affiliation}],
                licence="CC-BY-4.0",
                coverage={"bbox": [-118.9, 32.3, -117.9, 32.85], "begin": "2025-01-10", "end": "2025-02-02"},
            )
            blob = store_bytes(CSV)
            Entity.objects.create(
                revision=revision,
                entity_id="rr2401-ctd",
                name="RR2401 CTD profiles",
                object_name="rr2401_ctd.csv",
                declared_size=blob.size,
                declared_md5=blob.md5,
                format_name="text/csv",
                mime_type="text/csv",
                blob=blob,
            )
    services.assert_hold(
        cruise,
        chief,
        ends_on=timezone.now().date() + datetime.timedelta(days=365),
        reason="Thesis work of the science party; release after the first publication.",
        packages=[package],
    )
    log(f"holds: {package.package_key} of RR2401 held for a year")
