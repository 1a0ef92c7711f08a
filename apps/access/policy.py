"""The access policy: one function decides who may see what.

``can_see(user, obj, part)`` answers for a revision (``part`` = "metadata" or "data"), an entity or a
resource (their revision's data), a cruise (``part`` = "metadata", "eventlog" or "party"), an event log,
a file attached to a cruise, a delivery (its checksums), or a derived artifact (a version's: its data;
a cruise's build manifest: the delivery's checksums; the catalog's: public).

Held revisions (proprietary hold): metadata public, data only for the science party (cruise members),
the operator's staff (members with the role "operator"), the package owner and data managers — the people
``party_revisions`` names. Every download path, search, API and feed asks it (or filters with
``visible_revisions``).

Withdrawn revisions: metadata public (the tombstone), data kept for the record and served to data managers
only — not to the owner, the cruise's people or the operator's staff. Tainted data is gone for everyone.

Models are looked up by label (``apps.get_model``) and objects dispatched on ``_meta.label_lower``: the
domain apps' views import this module, so a static import of their models here would close an import
circle between apps (access → cruises → access).
"""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q, QuerySet

from . import roles
from .people import is_cruise_party


def _revision_model():
    return apps.get_model("packages", "Revision")


def _can_see_cruise_part(user, obj, label: str, part: str) -> bool:
    EventLog = apps.get_model("eventlogs", "EventLog")
    if label == "cruises.cruise":
        if part == "metadata":
            return True  # cruise records (sailing orders) are public, as in R2R's catalogue
        if part == "eventlog":
            log = EventLog.objects.filter(cruise=obj).only("state").first()
            return (log is not None and log.state == EventLog.State.CLOSED) or is_cruise_party(user, obj)
        return is_cruise_party(user, obj)  # "party": e-mail addresses and other people-only details
    if label == "eventlogs.eventlog":
        # A log is public once closed (its final copy); while at sea only the cruise's people read it.
        return obj.state == EventLog.State.CLOSED or is_cruise_party(user, obj.cruise)
    # cruises.cruisefile
    if obj.kind in (obj.Kind.EVENTLOG_CSV, obj.Kind.EVENTLOG_JSON):
        return True  # written only when the log is closed
    return is_cruise_party(user, obj.cruise)  # received sailing orders carry e-mail addresses


def cruise_under_hold(cruise_id: int) -> bool:
    """A proprietary hold is in force on the cruise (the same holds that keep its packages' data back)."""
    return apps.get_model("holds", "Hold").objects.active().filter(cruise_id=cruise_id).exists()


def _can_see_delivery(user, delivery, part: str) -> bool:
    """A cruise's inventory is public (paths, sizes, dates); its checksums (and exports carrying them)
    only once no hold is in force on the cruise — or for the cruise's people and data managers."""
    if part in ("metadata", "paths"):
        return True
    return _can_see_checksums(user, delivery.cruise_id, lambda: delivery.cruise)


def _can_see_checksums(user, cruise_id: int, cruise) -> bool:
    """The SHA-256 (and other checksums) of a cruise's delivered files: public once no hold is in force
    on the cruise, else the cruise's people's. ``cruise`` is a callable giving the cruise (read only
    when needed)."""
    return not cruise_under_hold(cruise_id) or is_cruise_party(user, cruise())


def can_see(user, obj, part: str = "data") -> bool:
    label = obj._meta.label_lower
    if label == "cruises.cruise" and part == "checksums":  # of its delivered files, wherever they appear
        return _can_see_checksums(user, obj.pk, lambda: obj)
    if label == "deliveries.delivery":
        return _can_see_delivery(user, obj, part)
    if label in ("cruises.cruise", "eventlogs.eventlog", "cruises.cruisefile"):
        return _can_see_cruise_part(user, obj, label, part)
    if label == "packages.resource":
        if obj.resource_type != obj.Type.DATA:
            return can_see(user, obj.revision, "metadata")
        return can_see(user, obj.revision, "data")
    if label == "packages.entity":
        return can_see(user, obj.revision, "data")
    if label == "artifacts.artifact":
        # A derived file of a version (its Parquet alternates, their manifests) is that version's data:
        # the same rule, and nobody's once tainted. A cruise's navigation products follow its track
        # (public, as the cruise record), but their manifests name the SHA-256 of the delivery's files:
        # the delivery's checksum rule. One tied to neither (the catalog) is public.
        if obj.revision_id is None:
            if obj.cruise_id is not None and obj.kind == "manifest":
                return _can_see_checksums(user, obj.cruise_id, lambda: obj.cruise)
            return True
        return obj.revision.state != obj.revision.State.TAINTED and can_see(user, obj.revision, "data")
    if label == "packages.revision":
        if roles.is_data_manager(user):
            return True
        state = obj.state
        if part == "metadata" and state in obj.METADATA_PUBLIC:
            return True
        if state == obj.State.PUBLISHED:
            return True
        if state in obj.TOMBSTONED:
            return False  # withdrawn: kept for the record, for data managers only; tainted: gone
        return party_revisions(user).filter(pk=obj.pk).exists()
    raise TypeError(f"can_see does not know {type(obj).__name__}")


def party_revisions(user) -> QuerySet:
    """The revisions ``user`` sees as their people (owner, science party, the operator's staff) whatever
    their state, withdrawn and tainted ones excepted (their data is for data managers only, their metadata
    public anyway) — the part of ``visible_revisions`` beyond what everyone sees.

    "Operator" means a member of the cruise's operating organisation with the role operator (the same
    rule as ``people.is_operator_of``), not any member of the organisation."""
    Revision = _revision_model()
    if not getattr(user, "is_authenticated", False):
        return Revision.objects.none()
    people = (
        Q(package__owner=user)
        | Q(package__cruise__members__user=user)
        | Q(
            package__cruise__operator__members__user=user, package__cruise__operator__members__role="operator"
        )
    )
    return Revision.objects.filter(people).exclude(state__in=Revision.TOMBSTONED)


def public_states(part: str = "metadata") -> tuple[str, ...]:
    """The revision states everyone may see: metadata of held, published, withdrawn and tainted
    revisions ("held until …", tombstones); data of published ones only."""
    Revision = _revision_model()
    return tuple(Revision.METADATA_PUBLIC) if part == "metadata" else (Revision.State.PUBLISHED,)


def visible_revisions(user, qs: QuerySet | None = None, part: str = "metadata") -> QuerySet:
    """Filter revisions to those ``user`` may see (metadata by default) — for lists, search and feeds."""
    qs = _revision_model().objects.all() if qs is None else qs
    if roles.is_data_manager(user):
        return qs
    condition = Q(state__in=public_states(part))
    if getattr(user, "is_authenticated", False):
        condition |= Q(pk__in=party_revisions(user).values("pk"))
    return qs.filter(condition)
