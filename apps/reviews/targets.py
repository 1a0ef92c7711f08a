"""What reviews mean for each kind of target. A target kind registers: who holds each role, which
fields may be amended, and what approval/reopening does to it. Cruises are the first kind; data
packages can register theirs the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.access import roles


@dataclass
class TargetKind:
    required_roles: list[str]
    holders: Callable[[Any, str], list]  # (target, role) -> users holding it
    emails: Callable[[Any, str], list[str]]  # (target, role) -> addresses to notify
    amendable: tuple[str, ...]
    on_approved: Callable[[Any], None]
    on_reopened: Callable[[Any], None]
    on_requested: Callable[[Any], None]
    url: Callable[[Any], str]
    label: Callable[[Any], str]
    # user -> {target pk: the required roles user holds on it}, in a fixed number of queries (the inbox
    # and the dashboard ask it on every visit).
    held_by: Callable[[Any], dict[int, set[str]]]


def _cruise_kind() -> TargetKind:
    from django.urls import reverse

    from apps.cruises.models import Cruise, CruiseMember, OrganisationMember

    def holders(cruise, role):
        if role == "operator":
            return [
                m.user
                for m in OrganisationMember.objects.filter(
                    organisation_id=cruise.operator_id, role="operator"
                ).select_related("user")
            ]
        return [
            m.user
            for m in CruiseMember.objects.filter(cruise=cruise, role=role, user__isnull=False).select_related(
                "user"
            )
        ]

    def emails(cruise, role):
        found = [u.email for u in holders(cruise, role)]
        if role == "operator" and cruise.operator.email:
            found.append(cruise.operator.email)
        if role != "operator":
            found += [m.email for m in CruiseMember.objects.filter(cruise=cruise, role=role) if m.email]
        return found

    def held_by(user):
        found: dict[int, set[str]] = {}
        operated = Cruise.objects.filter(
            operator__members__user=user, operator__members__role="operator"
        ).values_list("pk", flat=True)
        for pk in operated:
            found.setdefault(pk, set()).add("operator")
        chief = CruiseMember.Role.CHIEF_SCIENTIST
        for pk in CruiseMember.objects.filter(user=user, role=chief).values_list("cruise_id", flat=True):
            found.setdefault(pk, set()).add(chief)
        return found

    return TargetKind(
        required_roles=["operator", CruiseMember.Role.CHIEF_SCIENTIST],
        holders=holders,
        emails=emails,
        amendable=Cruise.AMENDABLE_FIELDS,
        on_approved=Cruise.mark_approved,
        on_reopened=Cruise.mark_in_review,
        on_requested=Cruise.mark_in_review,
        url=lambda c: reverse("cruises:detail", args=[c.pk]),
        label=lambda c: f"cruise record {c.cruise_id}",
        held_by=held_by,
    )


def kinds() -> list[tuple[type, TargetKind]]:
    """Every target kind with its model."""
    from apps.cruises.models import Cruise

    return [(Cruise, _cruise_kind())]


def kind_for(target) -> TargetKind:
    from apps.cruises.models import Cruise

    if isinstance(target, Cruise):
        return _cruise_kind()
    raise TypeError(f"reviews do not know {type(target).__name__}")


def roles_of(user, target) -> list[str]:
    """The review roles ``user`` holds on ``target``."""
    if not getattr(user, "is_authenticated", False):
        return []
    kind = kind_for(target)
    return [r for r in kind.required_roles if any(u.pk == user.pk for u in kind.holders(target, r))]


def is_data_manager(user) -> bool:
    return roles.is_data_manager(user)
