"""Site-wide roles: Django groups, asked of the user object alone.

The group names and the predicates live here, at the bottom of the app graph (this module imports no
app), so that every app may ask them — audit included, which ``apps.accounts`` imports for its events.
Managing the groups (``grant``, ``ensure_groups``) and the role labels stay in ``apps.accounts.roles``.
"""

from __future__ import annotations

VETTED = "vetted"  # the Gatekeeper's group: may create and update data packages
DATA_MANAGER = "data_manager"  # curators
NODE_OPERATOR = "node_operator"
# The national archive's service account: reports accessions of released datasets (API token).
ARCHIVE = "archive"


def in_group(user, name: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
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


def can_request_submitter(user) -> bool:
    """A signed-in person who is not vetted may ask to become a submitter (a data manager decides)."""
    return bool(getattr(user, "is_authenticated", False)) and not is_vetted(user)


def is_archive(user) -> bool:
    return in_group(user, ARCHIVE)


def can_share(user) -> bool:
    """May ``user`` publish a quick share (``/share/``)? Sharers are the vetted submitters: one curation
    (a request, a data manager's approval, ``accounts.SubmitterRequest``) for both, since a share is an
    ordinary data package and goes through the same Gatekeeper."""
    return is_vetted(user)
