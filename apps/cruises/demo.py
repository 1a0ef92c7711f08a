"""Demo organisation, operator and vessel (the cruises work adds cruises)."""

from apps.accounts.models import User

from .models import Organisation, OrganisationMember, Port, Vessel


def load(log) -> None:
    sio, _ = Organisation.objects.get_or_create(
        name="Scripps Institution of Oceanography",
        defaults={"short_name": "SIO", "email": "shipops@quayside.example", "url": "https://scripps.ucsd.edu"},
    )
    operator = User.objects.get(email="operator@quayside.example")
    OrganisationMember.objects.get_or_create(organisation=sio, user=operator, role=OrganisationMember.Role.OPERATOR)
    Vessel.objects.get_or_create(
        code="RR", defaults={"name": "Roger Revelle", "call_sign": "KAOU", "imo_number": "8910718", "operator": sio}
    )
    for name, country, code, lat, lon in (
        ("San Diego", "US", "USSAN", 32.7157, -117.1611),
        ("Honolulu", "US", "USHNL", 21.3069, -157.8583),
    ):
        Port.objects.get_or_create(unlocode=code, defaults={"name": name, "country": country, "latitude": lat, "longitude": lon})
    log("cruises: 1 organisation, 1 vessel, 2 ports")
