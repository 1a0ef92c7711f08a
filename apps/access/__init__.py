"""Who may see and do what: the access policy, the role predicates and the ``get_<noun>_for_user``
look-ups — one definition each. Views and services ``from apps import access`` and call
``access.get_cruise_for_user(...)``, ``access.can_see(...)`` and so on.

This app sits above the domain apps' models and reaches them by label (``apps.get_model``) only, so
the domain apps can import it without an import circle; it imports ``apps.accounts.roles`` (site-wide
groups), which must never import it back.
"""

from .lookups import (
    get_cruise_file_for_user,
    get_cruise_for_user,
    get_dataset_version_for_user,
    get_entity_for_user,
    get_eventlog_for_user,
    get_package_for_user,
    get_remote_record_for_user,
    get_resource,
    get_review_for_user,
    get_revision_for_user,
    get_submission_for_user,
    listed_states,
    newest_revisions,
    visible_qs,
    visible_submissions,
)
from .people import (
    can_designate_staff,
    can_edit_cruise,
    can_file_sailing_orders,
    can_link_package_to_cruise,
    can_manage_eventlog,
    can_write_eventlog,
    cruise_roles,
    is_any_operator,
    is_chief_scientist,
    is_cruise_party,
    is_operator_of,
    require_data_manager,
    require_eventlog_manager,
    require_eventlog_writer,
    require_hold_keeper,
    require_preview_publisher,
    require_staff_designator,
    require_submitter_candidate,
)
from .policy import can_see, party_revisions, public_states, visible_revisions

__all__ = [
    "can_designate_staff",
    "can_link_package_to_cruise",
    "can_edit_cruise",
    "can_file_sailing_orders",
    "can_manage_eventlog",
    "can_see",
    "can_write_eventlog",
    "cruise_roles",
    "get_cruise_file_for_user",
    "get_cruise_for_user",
    "get_dataset_version_for_user",
    "get_entity_for_user",
    "get_eventlog_for_user",
    "get_package_for_user",
    "get_resource",
    "get_remote_record_for_user",
    "get_review_for_user",
    "get_revision_for_user",
    "get_submission_for_user",
    "is_any_operator",
    "is_chief_scientist",
    "is_cruise_party",
    "is_operator_of",
    "listed_states",
    "newest_revisions",
    "party_revisions",
    "public_states",
    "require_data_manager",
    "require_eventlog_manager",
    "require_eventlog_writer",
    "require_hold_keeper",
    "require_preview_publisher",
    "require_staff_designator",
    "require_submitter_candidate",
    "visible_qs",
    "visible_revisions",
    "visible_submissions",
]
