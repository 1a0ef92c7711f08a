"""Verb functions for cruises: each owns its transaction and writes the audit event."""

from __future__ import annotations

from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps import access
from apps.access import roles
from apps.accounts.models import User
from apps.audit.services import record_event
from apps.storage.services import store_bytes
from portal.errors import Forbidden

from . import extensions, mail, sailing_orders
from .models import Award, Cruise, CruiseFile, CruiseMember, OrganisationMember, Port, Vessel
from .sailing_orders import SailingOrdersError

INVITE_SALT = "quayside.cruises.invitation"
INVITE_MAX_AGE = 60 * 60 * 24 * 60  # 60 days: invitations go out before the ship sails


def _find_port(name: str, unlocode: str = "", country: str = "") -> Port:
    if unlocode:
        port = Port.objects.filter(unlocode=unlocode).first()
        if port:
            return port
    port = Port.objects.filter(name__iexact=name).first()
    return port or Port.objects.create(name=name, unlocode=unlocode, country=country)


def _user_for_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first() if email else None


ONLY_OPERATORS_FILE = "Only a vessel operator's staff may file sailing orders."


def vessels_filable_by(user):
    """The vessels ``user`` may file sailing orders for: those of the organisations they are an operator
    of (every vessel for a data manager)."""
    if roles.is_data_manager(user):
        return Vessel.objects.all()
    if not access.can_file_sailing_orders(user):
        return Vessel.objects.none()
    return Vessel.objects.filter(
        operator__members__user=user, operator__members__role=OrganisationMember.Role.OPERATOR
    ).distinct()


def ingest_sailing_orders(data: bytes, user, *, source: str = "upload", request=None) -> Cruise:
    """Create a cruise from a sailing-orders document.

    Who may file it is settled before anything about the document's validity is said: someone who may
    file for no vessel gets ``Forbidden`` before the document is read, someone naming another
    operator's vessel gets ``Forbidden`` once the vessel is read. Everyone else gets every problem at
    once (``SailingOrdersError``, line-numbered); an unknown vessel code names only the vessels this
    person may file for.
    """
    if not access.can_file_sailing_orders(user):
        raise Forbidden(ONLY_OPERATORS_FILE)
    root = sailing_orders.parse_xml(data)
    code, line = sailing_orders.vessel_code(root)
    vessel = Vessel.objects.select_related("operator").filter(code__iexact=code).first() if code else None
    if vessel is not None and not (
        access.is_operator_of(user, vessel.operator_id) or roles.is_data_manager(user)
    ):
        raise Forbidden(f"Only operators of {vessel.operator} may file sailing orders for {vessel.name}.")
    problems = []
    if vessel is None and code:
        mine = ", ".join(vessels_filable_by(user).order_by("code").values_list("code", flat=True))
        problems.append(
            (line, f"unknown vessel code '{code}'; the vessels you may file for: {mine or 'none'}")
        )
    operator_name = (root.findtext("cruise/operator") or "").strip()
    if (
        vessel is not None
        and operator_name
        and operator_name.lower()
        not in (
            vessel.operator.name.lower(),
            vessel.operator.short_name.lower(),
        )
    ):
        problems.append(
            (line, f"vessel {vessel.code} is operated by {vessel.operator.name}, not '{operator_name}'")
        )
    sailing_orders.check(root, problems)
    parsed = sailing_orders.extract(root)
    try:
        with transaction.atomic(durable=True):
            if Cruise.objects.filter(vessel=vessel, cruise_id__iexact=parsed.cruise_id).exists():
                raise SailingOrdersError(
                    [
                        f"line {parsed.line}: cruise '{parsed.cruise_id}' already exists for vessel {vessel.name}"
                    ]
                )
            cruise = Cruise.objects.create(
                cruise_id=parsed.cruise_id,
                vessel=vessel,
                operator=vessel.operator,
                departure_port=_find_port(
                    name=parsed.departure["port"],
                    unlocode=parsed.departure["unlocode"],
                    country=parsed.departure["country"],
                ),
                arrival_port=_find_port(
                    name=parsed.arrival["port"],
                    unlocode=parsed.arrival["unlocode"],
                    country=parsed.arrival["country"],
                ),
                departure_date=parsed.departure["date"],
                arrival_date=parsed.arrival["date"],
                mission_summary=parsed.mission_summary,
                survey_targets=parsed.survey_targets,
                instruments=parsed.instruments,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
            for m in parsed.members:
                _add_member(
                    cruise,
                    name=m.name,
                    email=m.email,
                    role=m.role,
                    orcid=m.orcid,
                    affiliation=m.affiliation,
                    by=user,
                )
            for a in parsed.awards:
                Award.objects.create(cruise=cruise, **a)
            blob = store_bytes(data)
            CruiseFile.objects.create(
                cruise=cruise,
                kind=CruiseFile.Kind.SAILING_ORDERS,
                filename=f"{cruise.cruise_id}-sailing-orders-received.xml",
                content_type="application/xml",
                blob=blob,
                sha256=blob.sha256,
                size=blob.size,
                created_by=cruise.created_by,
            )
            record_event(
                service="cruises",
                method="ingestSailingOrders",
                resource_id=cruise.cruise_id,
                user=user,
                request=request,
                text=f"cruise {cruise.cruise_id} on {vessel.name} created from sailing orders ({source})",
                status=201,
            )
    except IntegrityError as exc:  # a concurrent ingest of the same cruise id won the race
        raise SailingOrdersError(
            [f"line {parsed.line}: cruise '{parsed.cruise_id}' already exists for vessel {vessel.name}"]
        ) from exc
    return cruise


@transaction.atomic(durable=True)
def create_cruise(
    user, *, fields: dict, chief_name: str, chief_email: str, awards: list[dict] = (), request=None
) -> Cruise:
    """Create a cruise from the web form (the caller checked the operator right for the vessel)."""
    vessel = fields["vessel"]
    cruise = Cruise.objects.create(operator=vessel.operator, created_by=user, **fields)
    _add_member(cruise, name=chief_name, email=chief_email, role=CruiseMember.Role.CHIEF_SCIENTIST, by=user)
    for a in awards:
        Award.objects.create(cruise=cruise, **a)
    record_event(
        service="cruises",
        method="createCruise",
        resource_id=cruise.cruise_id,
        user=user,
        request=request,
        text=f"cruise {cruise.cruise_id} on {vessel.name} created",
        status=201,
    )
    return cruise


def invitation_token(member: CruiseMember) -> str:
    return signing.dumps({"m": member.pk, "e": member.email.lower()}, salt=INVITE_SALT)


def _add_member(
    cruise: Cruise, *, name: str, email: str, role: str, by=None, orcid: str = "", affiliation: str = ""
) -> CruiseMember:
    """Add a person; link their account at once if the address belongs to a user, else invite them."""
    user = _user_for_email(email)
    member = CruiseMember.objects.create(
        cruise=cruise,
        user=user,
        name=name or (user.name if user else email),
        email=email,
        role=role,
        orcid=orcid,
        affiliation=affiliation,
    )
    label = member.get_role_display().lower()
    if user is not None:
        mail.notify(
            [email],
            f"You are {label} of cruise {cruise.cruise_id}",
            f"{getattr(by, 'name', '') or 'The cruise team'} added you as {label} of cruise {cruise.cruise_id} "
            f"on {cruise.vessel.name}.\n\n{mail.absolute(reverse('cruises:detail', args=[cruise.pk]))}\n",
        )
    elif member.invited:
        link = mail.absolute(reverse("cruises:accept-invitation", args=[invitation_token(member)]))
        mail.notify(
            [email],
            f"Invitation: {label} of cruise {cruise.cruise_id}",
            f"You have been designated {label} of cruise {cruise.cruise_id} on {cruise.vessel.name}.\n\n"
            f"Sign up or sign in with this address, then open this link to accept:\n{link}\n",
        )
    return member


@transaction.atomic(durable=True)
def designate_member(
    cruise: Cruise,
    by,
    *,
    email: str,
    name: str = "",
    role: str = CruiseMember.Role.SHIPBOARD_STAFF,
    request=None,
) -> CruiseMember:
    """The chief scientist (or operator) designates shipboard staff or science party by e-mail."""
    access.require_staff_designator(by, cruise)
    if role not in (CruiseMember.Role.SHIPBOARD_STAFF, CruiseMember.Role.SCIENCE_PARTY):
        raise ValueError("Only shipboard staff and science party can be designated here.")
    if CruiseMember.objects.filter(cruise=cruise, email__iexact=email, role=role).exists():
        raise ValueError(f"{email} is already {role.replace('_', ' ')} of this cruise.")
    member = _add_member(cruise, name=name, email=email, role=role, by=by)
    record_event(
        service="cruises",
        method="designateMember",
        resource_id=cruise.cruise_id,
        user=by,
        request=request,
        text=f"{email} designated {role} of {cruise.cruise_id}" + ("" if member.user_id else " (invited)"),
    )
    return member


@transaction.atomic(durable=True)
def accept_invitation(token: str, user, request=None) -> CruiseMember:
    """Link the invited CruiseMember to the signed-in user (whose address must match)."""
    try:
        payload = signing.loads(token, salt=INVITE_SALT, max_age=INVITE_MAX_AGE)
    except signing.BadSignature as exc:
        raise ValueError(
            "This invitation link is invalid or has expired; ask the chief scientist for a new one."
        ) from exc
    member = CruiseMember.objects.select_for_update().select_related("cruise").filter(pk=payload["m"]).first()
    if member is None or member.email.lower() != payload["e"]:
        raise ValueError("This invitation was withdrawn.")
    if payload["e"] != user.email.lower():
        raise ValueError(f"This invitation is for {payload['e']}; sign in with that address to accept it.")
    if member.user_id not in (None, user.pk):
        raise ValueError("This invitation was already accepted by another account.")
    member.user = user
    member.save(update_fields=["user"])
    record_event(
        service="cruises",
        method="acceptInvitation",
        resource_id=member.cruise.cruise_id,
        user=user,
        request=request,
        text=f"{user.email} accepted {member.role} of {member.cruise.cruise_id}",
    )
    return member


@transaction.atomic(durable=True)
def edit_cruise(cruise: Cruise, changes: dict, user, request=None) -> list[str]:
    """An operator or data manager edits the record (the caller checked write access). Amended fields
    get their history through ``extensions.record_changes`` (the reviews app). Returns the names of the
    fields that changed."""
    locked = Cruise.objects.select_for_update().get(pk=cruise.pk)
    if locked.is_locked:
        raise Forbidden("This cruise record was approved meanwhile and is locked.")
    role = "operator" if access.is_operator_of(user, locked.operator_id) else "data_manager"
    changed = extensions.record_changes(locked, changes, user, role)
    record_event(
        service="cruises",
        method="editCruise",
        resource_id=cruise.cruise_id,
        user=user,
        request=request,
        text=f"edited: {', '.join(changed) or 'nothing changed'}",
    )
    return changed


@transaction.atomic(durable=True)
def link_package(cruise: Cruise, package, by, request=None) -> None:
    """A data manager links a data package to a cruise (it becomes one of the cruise's datasets)."""
    access.require_data_manager(by)
    from apps.packages.models import Package

    Package.objects.filter(pk=package.pk).update(cruise=cruise)
    record_event(
        service="cruises",
        method="linkPackage",
        resource_id=cruise.cruise_id,
        user=by,
        request=request,
        text=f"package {package.package_key} linked to cruise {cruise.cruise_id}",
    )


def attach_file(
    cruise: Cruise, *, kind: str, filename: str, data: bytes, content_type: str, by=None
) -> CruiseFile:
    """Store bytes immutably and attach them to the cruise (caller owns the transaction)."""
    blob = store_bytes(data)
    return CruiseFile.objects.create(
        cruise=cruise,
        kind=kind,
        filename=filename,
        content_type=content_type,
        blob=blob,
        sha256=blob.sha256,
        size=blob.size,
        created_by=by,
    )
