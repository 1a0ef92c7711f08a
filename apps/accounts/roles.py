"""Role management: the site-wide groups (granted here, asked through ``apps.access.roles``) and the
labels of every role a person holds.

Site-wide roles are Django groups. Per-thing roles (operator of an organisation, chief scientist or
shipboard staff of a cruise) are rows in the cruises app; what they allow is decided in ``apps.access``.
This module must not import the cruises app (it imports this one); of ``apps.access`` it imports only
the group names, which import nothing.
"""

from django.apps import apps
from django.contrib.auth.models import Group

from apps.access.roles import ARCHIVE, DATA_MANAGER, NODE_OPERATOR, VETTED

SITE_GROUPS = (VETTED, DATA_MANAGER, NODE_OPERATOR, ARCHIVE)

ROLE_LABELS = {
    VETTED: "Vetted submitter",
    DATA_MANAGER: "Data manager",
    NODE_OPERATOR: "Node operator",
    ARCHIVE: "National archive",
    "operator": "Operator",
    "chief_scientist": "Chief scientist",
    "shipboard_staff": "Shipboard staff",
}


def ensure_groups() -> None:
    for name in SITE_GROUPS:
        Group.objects.get_or_create(name=name)


def grant(user, name: str) -> None:
    """Put a user in a site-wide role group. Data managers also get the admin site (is_staff, set by
    the ``m2m_changed`` hook in ``apps.accounts.apps`` whichever way someone joins the group)."""
    group, _ = Group.objects.get_or_create(name=name)
    user.groups.add(group)
    user.__dict__.pop("_group_names", None)


def roles_of(user) -> list[str]:
    """Human labels of every role a user holds, site-wide and per thing."""
    if not getattr(user, "is_authenticated", False):
        return []
    labels = [ROLE_LABELS[g] for g in user.group_names if g in ROLE_LABELS]
    # By label, not by import: the cruises app imports this module (an import would close a circle).
    # "Operator" is the role operator, the one definition apps.access.people uses.
    if apps.get_model("cruises", "OrganisationMember").objects.filter(user=user, role="operator").exists():
        labels.append(ROLE_LABELS["operator"])
    members = apps.get_model("cruises", "CruiseMember").objects
    for role in members.filter(user=user).values_list("role", flat=True).distinct():
        if role in ROLE_LABELS:
            labels.append(ROLE_LABELS[role])
    return sorted(set(labels))
