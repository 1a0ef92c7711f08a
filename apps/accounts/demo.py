"""Demo users, one or more per role. Password for all: quayside-demo."""

from allauth.account.models import EmailAddress

from . import roles
from .models import User

PASSWORD = "quayside-demo"

DEMO_USERS = [
    # email, name, affiliation, orcid, site roles
    ("dm@quayside.example", "Dana Moreau", "Quayside Data Centre", "", [roles.DATA_MANAGER]),
    ("vetted@quayside.example", "Vikram Patel", "Coastal Ecology Lab", "0000-0002-1825-0097", [roles.VETTED]),
    ("scientist@quayside.example", "Sofia Lindqvist", "Institute of Marine Science", "", []),
    (
        "chief@quayside.example",
        "Chidi Okafor",
        "Institute of Marine Science",
        "0000-0001-5109-3700",
        [roles.VETTED],
    ),
    ("staff@quayside.example", "Sam Tanaka", "R/V Roger Revelle", "", []),
    ("operator@quayside.example", "Olivia Brandt", "Scripps Institution of Oceanography", "", []),
    ("node@quayside.example", "Noor Haddad", "Volunteer node", "", [roles.NODE_OPERATOR]),
]


def load(log) -> None:
    roles.ensure_groups()
    for email, name, affiliation, orcid, groups in DEMO_USERS:
        user, created = User.objects.get_or_create(
            email=email, defaults={"name": name, "affiliation": affiliation, "orcid": orcid}
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        for group in groups:
            roles.grant(user, group)
    if not User.objects.filter(email="admin@quayside.example").exists():
        admin = User.objects.create_superuser("admin@quayside.example", PASSWORD, name="Quayside Admin")
        EmailAddress.objects.create(user=admin, email=admin.email, verified=True, primary=True)
    log(f"accounts: {len(DEMO_USERS) + 1} demo users")
