"""Who may do what with a cruise. Every cruise, event-log, review and hold view asks these helpers."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.accounts import roles

from .models import Cruise, CruiseMember, OrganisationMember

OPERATOR = "operator"
DATA_MANAGER = "data_manager"


def is_operator_of(user, organisation_id: int | None) -> bool:
    if not getattr(user, "is_authenticated", False) or organisation_id is None:
        return False
    return OrganisationMember.objects.filter(
        organisation_id=organisation_id, user=user, role=OrganisationMember.Role.OPERATOR
    ).exists()


def is_any_operator(user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return OrganisationMember.objects.filter(user=user, role=OrganisationMember.Role.OPERATOR).exists()


def cruise_roles(user, cruise: Cruise) -> set[str]:
    """The roles ``user`` holds on ``cruise``: CruiseMember roles, "operator", "data_manager"."""
    if not getattr(user, "is_authenticated", False):
        return set()
    found = set(CruiseMember.objects.filter(cruise=cruise, user=user).values_list("role", flat=True))
    if is_operator_of(user, cruise.operator_id):
        found.add(OPERATOR)
    if roles.is_data_manager(user):
        found.add(DATA_MANAGER)
    return found


def is_chief_scientist(user, cruise: Cruise) -> bool:
    return CruiseMember.Role.CHIEF_SCIENTIST in cruise_roles(user, cruise)


def can_edit_cruise(user, cruise: Cruise) -> bool:
    """The operator (or a data manager) edits the sailing orders until approval locks them."""
    return not cruise.is_locked and bool({OPERATOR, DATA_MANAGER} & cruise_roles(user, cruise))


def can_manage_eventlog(user, cruise: Cruise) -> bool:
    """Open and close the log: the operator or the chief scientist."""
    return bool({OPERATOR, CruiseMember.Role.CHIEF_SCIENTIST} & cruise_roles(user, cruise))


def can_write_eventlog(user, cruise: Cruise) -> bool:
    """Write entries: designated shipboard staff, the chief scientist and the operator."""
    if not getattr(user, "is_authenticated", False):
        return False
    # The busiest check in Quayside (every event-log POST): one query for staff and chief scientists.
    writers = (CruiseMember.Role.CHIEF_SCIENTIST, CruiseMember.Role.SHIPBOARD_STAFF)
    if CruiseMember.objects.filter(cruise=cruise, user=user, role__in=writers).exists():
        return True
    return is_operator_of(user, cruise.operator_id)


def can_designate_staff(user, cruise: Cruise) -> bool:
    return bool({CruiseMember.Role.CHIEF_SCIENTIST, OPERATOR} & cruise_roles(user, cruise))


def get_cruise_for_user(user, pk: int, *, write: bool = False) -> Cruise:
    """A cruise for a page. Cruise records are public; ``write`` needs the edit right."""
    try:
        cruise = Cruise.objects.select_related("vessel", "operator", "departure_port", "arrival_port").get(
            pk=pk
        )
    except Cruise.DoesNotExist as exc:
        raise Http404("No such cruise.") from exc
    if write and not can_edit_cruise(user, cruise):
        if cruise.is_locked:
            raise PermissionDenied("This cruise record is approved and locked; a data manager can reopen it.")
        raise PermissionDenied("Only the vessel's operator may edit this cruise record.")
    return cruise
