"""Demo organisation, operator, vessel and two cruises: RR2401 (done; the event-log, review and hold
demos close, approve and hold it) and RR2402 (at sea)."""

import datetime

from django.utils import timezone

from apps.accounts.models import User

from .models import Award, Cruise, CruiseMember, Organisation, OrganisationMember, Port, Vessel


def load(log) -> None:
    sio, _ = Organisation.objects.get_or_create(
        name="Scripps Institution of Oceanography",
        defaults={
            "short_name": "SIO",
            "email": "shipops@quayside.example",
            "url": "https://scripps.ucsd.edu",
        },
    )
    operator = User.objects.get(email="operator@quayside.example")
    OrganisationMember.objects.get_or_create(
        organisation=sio, user=operator, role=OrganisationMember.Role.OPERATOR
    )
    Vessel.objects.get_or_create(
        code="RR",
        defaults={"name": "Roger Revelle", "call_sign": "KAOU", "imo_number": "8910718", "operator": sio},
    )
    for name, country, code, lat, lon in (
        ("San Diego", "US", "USSAN", 32.7157, -117.1611),
        ("Honolulu", "US", "USHNL", 21.3069, -157.8583),
    ):
        Port.objects.get_or_create(
            unlocode=code, defaults={"name": name, "country": country, "latitude": lat, "longitude": lon}
        )
    _cruises(sio)
    log("cruises: 1 organisation, 1 vessel, 2 ports, 2 cruises")


PARTY = [
    ("chief@quayside.example", CruiseMember.Role.CHIEF_SCIENTIST),
    ("scientist@quayside.example", CruiseMember.Role.SCIENCE_PARTY),
    ("staff@quayside.example", CruiseMember.Role.SHIPBOARD_STAFF),
]


def _cruises(sio) -> None:
    revelle = Vessel.objects.get(code="RR")
    san_diego, honolulu = Port.objects.get(unlocode="USSAN"), Port.objects.get(unlocode="USHNL")
    today = timezone.now().date()
    specs = [
        (
            "RR2401",
            datetime.date(2025, 1, 10),
            datetime.date(2025, 2, 2),
            san_diego,
            honolulu,
            "CTD and multibeam survey of the California Current System along CalCOFI lines 80 to 93.",
            "CalCOFI lines 80-93; Patton Escarpment",
            ["CTD", "MBES", "ADCP"],
            ("National Science Foundation", "OCE-2401234"),
        ),
        (
            "RR2402",
            today - datetime.timedelta(days=5),
            today + datetime.timedelta(days=15),
            honolulu,
            san_diego,
            "Mooring turnaround at Station ALOHA and plankton net tows on the transit home.",
            "Station ALOHA; transit sections",
            ["CTD", "MOORING", "NET"],
            ("NOAA Ocean Exploration", "NA25OAR0110042"),
        ),
    ]
    operator = User.objects.get(email="operator@quayside.example")
    for cruise_id, dep, arr, dep_port, arr_port, mission, targets, instruments, (funder, number) in specs:
        cruise, created = Cruise.objects.get_or_create(
            vessel=revelle,
            cruise_id=cruise_id,
            defaults={
                "operator": sio,
                "departure_port": dep_port,
                "arrival_port": arr_port,
                "departure_date": dep,
                "arrival_date": arr,
                "mission_summary": mission,
                "survey_targets": targets,
                "instruments": instruments,
                "created_by": operator,
            },
        )
        if not created:
            continue
        for email, role in PARTY:
            user = User.objects.get(email=email)
            CruiseMember.objects.create(
                cruise=cruise,
                user=user,
                name=user.name,
                email=email,
                affiliation=user.affiliation,
                orcid=user.orcid,
                role=role,
            )
        Award.objects.create(cruise=cruise, funder=funder, number=number)
