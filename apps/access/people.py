"""Who holds which role on a cruise or an organisation, and what each role may do there.

One definition of "operator": a member of the organisation with the role operator
(``OrganisationMember.Role.OPERATOR``) — for edit rights, held data and the event log alike.

Models are looked up by label (``apps.get_model``): the cruises, event-log, review and hold apps import
this module, so a static import of their models would close an import circle between apps.
"""

from __future__ import annotations

import functools

from django.apps import apps
from django.db import connection

from portal import sqlrows
from portal.errors import ONLY_DATA_MANAGERS, ONLY_NODE_OPERATORS, Forbidden

from . import roles

OPERATOR = "operator"
DATA_MANAGER = "data_manager"
CHIEF_SCIENTIST = "chief_scientist"
SHIPBOARD_STAFF = "shipboard_staff"


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _organisation_members():
    return apps.get_model("cruises", "OrganisationMember").objects


def _cruise_members():
    return apps.get_model("cruises", "CruiseMember").objects


def is_operator_of(user, organisation_id: int | None) -> bool:
    if not _signed_in(user) or organisation_id is None:
        return False
    return _organisation_members().filter(organisation_id=organisation_id, user=user, role=OPERATOR).exists()


def is_any_operator(user) -> bool:
    if not _signed_in(user):
        return False
    return _organisation_members().filter(user=user, role=OPERATOR).exists()


def cruise_roles(user, cruise) -> set[str]:
    """The roles ``user`` holds on ``cruise``: CruiseMember roles, "operator", "data_manager"."""
    if not _signed_in(user):
        return set()
    found = set(_cruise_members().filter(cruise=cruise, user=user).values_list("role", flat=True))
    if is_operator_of(user, cruise.operator_id):
        found.add(OPERATOR)
    if roles.is_data_manager(user):
        found.add(DATA_MANAGER)
    return found


def is_cruise_party(user, cruise) -> bool:
    """The cruise's people: any cruise member, the operator's staff, data managers."""
    if not _signed_in(user):
        return False
    if roles.is_data_manager(user):
        return True
    if _cruise_members().filter(cruise_id=cruise.pk, user=user).exists():
        return True
    return is_operator_of(user, cruise.operator_id)


def can_link_package_to_cruise(user, cruise) -> bool:
    """Link a data package to a cruise (an EML keyword with the thesaurus "R2R cruise"): the cruise's people
    (any member, the operator's staff) and data managers. Anyone else's keyword is reported, not followed:
    a link puts the package on the cruise's page, report, OAI set and DataCite record."""
    return is_cruise_party(user, cruise)


def is_chief_scientist(user, cruise) -> bool:
    return CHIEF_SCIENTIST in cruise_roles(user, cruise)


def can_edit_cruise(user, cruise) -> bool:
    """The operator (or a data manager) edits the sailing orders until approval locks them."""
    return not cruise.is_locked and bool({OPERATOR, DATA_MANAGER} & cruise_roles(user, cruise))


def can_manage_eventlog(user, cruise) -> bool:
    """Open and close the log: the operator or the chief scientist."""
    return bool({OPERATOR, CHIEF_SCIENTIST} & cruise_roles(user, cruise))


def can_write_eventlog(user, cruise) -> bool:
    """Write entries: designated shipboard staff, the chief scientist and the operator."""
    if not _signed_in(user):
        return False
    answered = getattr(cruise, "_eventlog_writers", None)  # set by get_cruise_for_user(eventlog_writer=True)
    if answered is not None and user.pk in answered:
        return answered[user.pk]
    # The busiest check in Quayside (every event-log POST): one statement for staff, chief scientists and
    # the operator's people, its SQL written once (portal.sqlrows: building the ORM's two EXISTS queries
    # cost more CPU than the database spends on them).
    with sqlrows.cursor() as cursor:
        cursor.execute(
            f"SELECT {eventlog_writer_sql(connection.vendor)} FROM {_cruise_table()} c WHERE c.id = %s",
            [*eventlog_writer_params(user), cruise.pk],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def remember_eventlog_writer(cruise, user, answer) -> None:
    """Keep ``can_write_eventlog``'s answer for ``user`` on this ``cruise`` instance (read in the same
    statement as the cruise): the service's own check then costs no statement."""
    if not hasattr(cruise, "_eventlog_writers"):
        cruise._eventlog_writers = {}
    cruise._eventlog_writers[user.pk] = bool(answer)


def eventlog_writer_params(user) -> list:
    return [user.pk, CHIEF_SCIENTIST, SHIPBOARD_STAFF, user.pk, OPERATOR]


@functools.cache
def _cruise_table() -> str:
    return connection.ops.quote_name(apps.get_model("cruises", "Cruise")._meta.db_table)


@functools.cache
def eventlog_writer_sql(vendor: str) -> str:
    """The event-log write rule as one SQL boolean over the cruise row aliased ``c`` (its parameters:
    ``eventlog_writer_params``): the one definition, used alone and inside the cruise look-up."""
    q = connection.ops.quote_name
    members = q(apps.get_model("cruises", "CruiseMember")._meta.db_table)
    staff = q(apps.get_model("cruises", "OrganisationMember")._meta.db_table)
    return (
        f"(EXISTS (SELECT 1 FROM {members} WHERE {q('cruise_id')} = c.{q('id')} AND {q('user_id')} = %s "
        f"AND {q('role')} IN (%s, %s)) "
        f"OR EXISTS (SELECT 1 FROM {staff} WHERE {q('organisation_id')} = c.{q('operator_id')} "
        f"AND {q('user_id')} = %s AND {q('role')} = %s))"
    )


def can_designate_staff(user, cruise) -> bool:
    return bool({CHIEF_SCIENTIST, OPERATOR} & cruise_roles(user, cruise))


def can_file_sailing_orders(user) -> bool:
    """Create cruise records (form or sailing-orders upload): any operator's staff, or a data manager."""
    return is_any_operator(user) or roles.is_data_manager(user)


def can_upload_blob(user) -> bool:
    """Upload a file with no target (it becomes a content-addressed blob): vetted submitters and data
    managers, the people who put data into the repository."""
    return roles.is_vetted(user) or roles.is_data_manager(user)


def can_register_delivery(user, cruise) -> bool:
    """Register a shipment of a cruise (drop folder, S3 prefix, upload) and upload files into it (tus,
    apps.deliveries.uploads): its operator or a data manager."""
    return bool({OPERATOR, DATA_MANAGER} & cruise_roles(user, cruise))


def can_flag_delivery(user, cruise) -> bool:
    """Flag missing or wrong data in a cruise's inventory: its operator, its chief scientist, a data manager."""
    return bool({OPERATOR, CHIEF_SCIENTIST, DATA_MANAGER} & cruise_roles(user, cruise))


def can_request_restore(user, cruise) -> bool:
    """Ask for a restore from deep storage: the operator, the chief scientist, or a data manager."""
    return bool({OPERATOR, CHIEF_SCIENTIST, DATA_MANAGER} & cruise_roles(user, cruise))


def can_report_accession(user) -> bool:
    """Report a national-archive accession: a data manager or the archive's own account."""
    return roles.is_data_manager(user) or roles.is_archive(user)


def can_issue_node_token(user) -> bool:
    """Issue a token for a new smart node (docs/nodes.md): node operators, for their own nodes."""
    return roles.is_node_operator(user)


def can_manage_nodes(user) -> bool:
    """Open ``/nodes/mine/``: node operators (their nodes) and data managers (every node, to revoke)."""
    return roles.is_node_operator(user) or roles.is_data_manager(user)


def can_revoke_node(user, node) -> bool:
    """Revoke a node's token: its operator while a node operator, or any data manager."""
    if roles.is_data_manager(user):
        return True
    return roles.is_node_operator(user) and node.operator_id == user.pk


# --- the same rules as refusals: one message each, for the services and the views that ask first ---


def require_data_manager(user) -> None:
    if not roles.is_data_manager(user):
        raise Forbidden(ONLY_DATA_MANAGERS)


def require_eventlog_manager(user, cruise) -> None:
    if not can_manage_eventlog(user, cruise):
        raise Forbidden("Only the operator or the chief scientist may open or close the event log.")


def require_eventlog_writer(user, cruise) -> None:
    if not can_write_eventlog(user, cruise):
        raise Forbidden(
            "Only designated shipboard staff, the chief scientist and the operator may write to this event log."
        )


def require_hold_keeper(user, cruise) -> None:
    """Asserting and lifting a cruise's proprietary hold: its chief scientist."""
    if not is_chief_scientist(user, cruise):
        raise Forbidden("Only the chief scientist of this cruise may assert or lift a hold on its datasets.")


def require_staff_designator(user, cruise) -> None:
    if not can_designate_staff(user, cruise):
        raise Forbidden("Only the chief scientist or the operator may designate people for this cruise.")


def require_submitter_candidate(user) -> None:
    """Asking to become a submitter: signed in and not vetted yet."""
    if not roles.can_request_submitter(user):
        raise Forbidden("You may submit data packages already; there is nothing to request.")


def require_preview_publisher(user, submission) -> None:
    """Publishing or discarding a previewed submission: its submitter, or a data manager."""
    if not (_signed_in(user) and (submission.user_id == user.pk or roles.is_data_manager(user))):
        raise Forbidden("Only the person who submitted this package, or a data manager, may publish it.")


def require_blob_uploader(user) -> None:
    if not can_upload_blob(user):
        raise Forbidden(
            "Only vetted submitters and data managers may upload files without a target; "
            "upload to a delivery (or a share) instead."
        )


def require_delivery_registrar(user, cruise) -> None:
    if not can_register_delivery(user, cruise):
        raise Forbidden("Only the cruise's operator or a data manager may register a delivery.")


def require_delivery_reviewer(user, cruise) -> None:
    if not can_flag_delivery(user, cruise):
        raise Forbidden(
            "Only the cruise's operator, its chief scientist or a data manager may flag its inventory."
        )


def require_restore_requester(user, cruise) -> None:
    if not can_request_restore(user, cruise):
        raise Forbidden("Only the operator, the chief scientist or a data manager may ask for a restore.")


def require_accession_reporter(user) -> None:
    if not can_report_accession(user):
        raise Forbidden("Only a data manager or the national archive may report an accession.")


def require_node_operator(user) -> None:
    """Issuing node tokens and the node API (a node's token counts only while its operator holds the role)."""
    if not can_issue_node_token(user):
        raise Forbidden(ONLY_NODE_OPERATORS)


def require_node_revoker(user, node) -> None:
    if not can_revoke_node(user, node):
        raise Forbidden("Only the node's operator or a data manager may revoke its token.")


def can_edit_share(user, share) -> bool:
    """The sharer edits a share's metadata and publishes its new versions; data managers may too. Nobody
    deletes one (withdrawal stays a data manager's act, in apps.publishing)."""
    if not _signed_in(user):
        return False
    return share.sharer_id == user.pk or roles.is_data_manager(user)
