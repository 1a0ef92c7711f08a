"""The access policy: one function decides who may see what.

``can_see(user, obj, part)`` answers for a revision (``part`` = "metadata" or "data"), an entity or a
resource (their revision's data), a cruise (``part`` = "metadata" or "eventlog"), an event log, or a
file attached to a cruise.

Held revisions (proprietary hold): metadata public, data only for the science party (cruise members),
the operator's staff, the package owner and data managers — the same people ``_is_party`` names. Every download path, search, API and feed asks it (or
filters with ``visible_revisions``). The holds work (issue 5) extends it for proprietary holds.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from apps.accounts import roles


def _is_party(user, revision) -> bool:
    """Science party, operator and owner of a revision's package see its held data."""
    if not getattr(user, "is_authenticated", False):
        return False
    package = revision.package
    if package.owner_id == user.pk:
        return True
    if package.cruise_id is None:
        return False
    from apps.cruises.models import CruiseMember, OrganisationMember

    if CruiseMember.objects.filter(cruise_id=package.cruise_id, user=user).exists():
        return True
    return OrganisationMember.objects.filter(organisation_id=package.cruise.operator_id, user=user).exists()


def _is_cruise_party(user, cruise) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if roles.is_data_manager(user):
        return True
    from apps.cruises.models import CruiseMember, OrganisationMember

    if CruiseMember.objects.filter(cruise_id=cruise.pk, user=user).exists():
        return True
    return OrganisationMember.objects.filter(organisation_id=cruise.operator_id, user=user).exists()


def _can_see_cruise_part(user, obj, part: str) -> bool | None:
    from apps.cruises.models import Cruise, CruiseFile
    from apps.eventlogs.models import EventLog

    if isinstance(obj, Cruise):
        if part == "metadata":
            return True  # cruise records (sailing orders) are public, as in R2R's catalogue
        if part == "eventlog":
            log = EventLog.objects.filter(cruise=obj).only("state").first()
            return (log is not None and log.state == EventLog.State.CLOSED) or _is_cruise_party(user, obj)
        return _is_cruise_party(user, obj)  # "party": e-mail addresses and other people-only details
    if isinstance(obj, EventLog):
        # A log is public once closed (its final copy); while at sea only the cruise's people read it.
        return obj.state == EventLog.State.CLOSED or _is_cruise_party(user, obj.cruise)
    if isinstance(obj, CruiseFile):
        if obj.kind in (CruiseFile.Kind.EVENTLOG_CSV, CruiseFile.Kind.EVENTLOG_JSON):
            return True  # written only when the log is closed
        return _is_cruise_party(user, obj.cruise)  # received sailing orders carry e-mail addresses
    return None


def can_see(user, obj, part: str = "data") -> bool:
    from apps.packages.models import Entity, Resource, Revision

    answer = _can_see_cruise_part(user, obj, part)
    if answer is not None:
        return answer

    if isinstance(obj, (Entity, Resource)):
        if isinstance(obj, Resource) and obj.resource_type != Resource.Type.DATA:
            return can_see(user, obj.revision, "metadata")
        return can_see(user, obj.revision, "data")
    if isinstance(obj, Revision):
        if roles.is_data_manager(user):
            return True
        state = obj.state
        if part == "metadata" and state in Revision.METADATA_PUBLIC:
            return True
        if state == Revision.State.PUBLISHED:
            return True
        if state == Revision.State.TAINTED:
            return False  # the data is gone for everyone
        return _is_party(user, obj)
    raise TypeError(f"can_see does not know {type(obj).__name__}")


def party_revisions(user) -> QuerySet:
    """The revisions ``user`` sees as their people (owner, science party, operator) whatever their
    state, tainted ones excepted — the part of ``visible_revisions`` beyond what everyone sees."""
    from apps.packages.models import Revision

    if not getattr(user, "is_authenticated", False):
        return Revision.objects.none()
    people = (
        Q(package__owner=user)
        | Q(package__cruise__members__user=user)
        | Q(package__cruise__operator__members__user=user)
    )
    return Revision.objects.filter(people).exclude(state=Revision.State.TAINTED)


def public_states(part: str = "metadata") -> tuple[str, ...]:
    """The revision states everyone may see: metadata of held, published, withdrawn and tainted
    revisions ("held until …", tombstones); data of published ones only."""
    from apps.packages.models import Revision

    return tuple(Revision.METADATA_PUBLIC) if part == "metadata" else (Revision.State.PUBLISHED,)


def visible_revisions(user, qs: QuerySet | None = None, part: str = "metadata") -> QuerySet:
    """Filter revisions to those ``user`` may see (metadata by default) — for lists, search and feeds."""
    from apps.packages.models import Revision

    qs = Revision.objects.all() if qs is None else qs
    if roles.is_data_manager(user):
        return qs
    condition = Q(state__in=public_states(part))
    if getattr(user, "is_authenticated", False):
        condition |= Q(pk__in=party_revisions(user).values("pk"))
    return qs.filter(condition)
