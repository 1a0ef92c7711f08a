"""Role checks. Every "may this person do X" question about roles is answered here.

Site-wide roles are Django groups. Per-thing roles (operator of an organisation, chief scientist or
shipboard staff of a cruise) are rows in the cruises app and are asked through it.
"""

from django.contrib.auth.models import AnonymousUser, Group

VETTED = "vetted"  # the Gatekeeper's group: may create and update data packages
DATA_MANAGER = "data_manager"  # curators
NODE_OPERATOR = "node_operator"
SITE_GROUPS = (VETTED, DATA_MANAGER, NODE_OPERATOR)

ROLE_LABELS = {
    VETTED: "Vetted submitter",
    DATA_MANAGER: "Data manager",
    NODE_OPERATOR: "Node operator",
    "operator": "Operator",
    "chief_scientist": "Chief scientist",
    "shipboard_staff": "Shipboard staff",
}


def ensure_groups() -> None:
    for name in SITE_GROUPS:
        Group.objects.get_or_create(name=name)


def in_group(user, name: str) -> bool:
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated:
        return False
    return name in user.group_names


def is_vetted(user) -> bool:
    return in_group(user, VETTED) or is_data_manager(user)


def is_data_manager(user) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or in_group(user, DATA_MANAGER)


def is_node_operator(user) -> bool:
    return in_group(user, NODE_OPERATOR)


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
    from apps.cruises.models import CruiseMember, OrganisationMember

    if OrganisationMember.objects.filter(user=user, role=OrganisationMember.Role.OPERATOR).exists():
        labels.append(ROLE_LABELS["operator"])
    for role in CruiseMember.objects.filter(user=user).values_list("role", flat=True).distinct():
        if role in ROLE_LABELS:
            labels.append(ROLE_LABELS[role])
    return sorted(set(labels))
