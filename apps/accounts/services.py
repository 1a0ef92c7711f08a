"""Changes to accounts: profile edits, API tokens and requests to become a submitter. Each writes an
audit event."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps import access
from apps.access.roles import DATA_MANAGER, VETTED
from apps.audit.services import record_event
from portal.errors import Conflict, UserError

from . import roles
from .models import ApiToken, SubmitterRequest, User

log = logging.getLogger(__name__)


@transaction.atomic
def update_profile(user: User, *, name: str, affiliation: str, orcid: str, request=None) -> User:
    changed = [
        f
        for f, v in (("name", name), ("affiliation", affiliation), ("orcid", orcid))
        if getattr(user, f) != v
    ]
    user.name, user.affiliation, user.orcid = name, affiliation, orcid
    user.save(update_fields=["name", "affiliation", "orcid"])
    record_event(
        service="accounts",
        method="update_profile",
        text=f"changed: {', '.join(changed) or 'nothing'}",
        resource_id=f"user/{user.pk}",
        user=user,
        request=request,
    )
    return user


@transaction.atomic
def create_token(user: User, name: str, request=None) -> tuple[ApiToken, str]:
    """Issue a token; the returned key is shown to the user once and never stored."""
    token, key = ApiToken.issue(user, name.strip() or "API token")
    record_event(
        service="accounts",
        method="create_token",
        text=f"token {token.name!r} ({token.hint}…) created",
        resource_id=f"token/{token.pk}",
        user=user,
        request=request,
    )
    return token, key


@transaction.atomic
def revoke_token(user: User, token_id: int, request=None) -> ApiToken:
    """Revoke one of the user's own tokens. Raises ApiToken.DoesNotExist for anyone else's."""
    token = ApiToken.objects.select_for_update().get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(
            service="accounts",
            method="revoke_token",
            text=f"token {token.name!r} ({token.hint}…) revoked",
            resource_id=f"token/{token.pk}",
            user=user,
            request=request,
        )
    return token


# --- becoming a submitter ---------------------------------------------------------------------------


def _send_after_commit(recipients: list[str], subject: str, body: str) -> None:
    """One message to each address once the change is committed; a mail outage is logged, never undoes
    it (the same contract as ``apps.cruises.mail.notify``, which this app may not import)."""

    def send(address: str) -> None:
        try:
            send_mail(f"[{settings.SITE_NAME}] {subject}", body, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:
            log.exception("could not send %r to %s", subject, address)

    for address in sorted({r.lower() for r in recipients if r}):
        transaction.on_commit(lambda a=address: send(a))


def _data_manager_emails() -> list[str]:
    managers = User.objects.filter(Q(groups__name=DATA_MANAGER) | Q(is_superuser=True), is_active=True)
    return list(managers.values_list("email", flat=True).distinct())


def _absolute(name: str) -> str:
    return settings.SITE_BASE_URL + reverse(name)


@transaction.atomic(durable=True)
def request_submitter(user: User, *, reason: str, request=None) -> SubmitterRequest:
    """``user`` asks to join the vetted group. Forbidden for someone already vetted, UserError without a
    reason, Conflict while an earlier request waits. Mails the person and every data manager."""
    access.require_submitter_candidate(user)
    reason = reason.strip()
    if not reason:
        raise UserError("Say in a sentence or two what you would like to submit.")
    try:
        with transaction.atomic():
            asked = SubmitterRequest.objects.create(user=user, reason=reason)
    except IntegrityError as exc:  # one pending request per person (a constraint, so races are safe too)
        raise Conflict("Your earlier request is still waiting for a data manager.") from exc
    record_event(
        service="accounts",
        method="requestSubmitter",
        resource_id=f"user/{user.pk}",
        user=user,
        request=request,
        text=f"{user.email} asked to become a submitter (request {asked.pk})",
    )
    _send_after_commit(
        [user.email],
        "Your request to submit data packages",
        "We have your request to become a submitter. A data manager will look at it and you will get an "
        f"e-mail with the answer.\n\nWhat you wrote:\n{reason}\n",
    )
    _send_after_commit(
        _data_manager_emails(),
        f"{user.name or user.email} asks to become a submitter",
        f"{user.name or user.email} <{user.email}>{f' ({user.affiliation})' if user.affiliation else ''} "
        f"asks to join the vetted submitters:\n\n{reason}\n\nApprove or decline: "
        f"{_absolute('accounts:submitter-requests')}\n",
    )
    return asked


@transaction.atomic(durable=True)
def decide_submitter_request(
    asked: SubmitterRequest, by: User, *, approve: bool, request=None
) -> SubmitterRequest:
    """A data manager approves (the person joins the vetted group) or declines a pending request.
    Conflict when it was decided already. Mails the person."""
    access.require_data_manager(by)
    asked = SubmitterRequest.objects.select_for_update().select_related("user").get(pk=asked.pk)
    if asked.state != SubmitterRequest.State.PENDING:
        raise Conflict(f"This request was {asked.state} already.")
    asked.state = SubmitterRequest.State.APPROVED if approve else SubmitterRequest.State.DECLINED
    asked.decided_by = by
    asked.decided_at = timezone.now()
    asked.save(update_fields=["state", "decided_by", "decided_at"])
    person = asked.user
    if approve:
        roles.grant(person, VETTED)
    record_event(
        service="accounts",
        method="approveSubmitter" if approve else "declineSubmitter",
        resource_id=f"user/{person.pk}",
        user=by,
        request=request,
        text=f"{person.email}'s request {asked.pk} to become a submitter {asked.state}",
    )
    if approve:
        body = (
            "A data manager approved your request: you may now submit data packages, on the web or with an "
            f"API token, and share data from one page.\n\n{_absolute('submissions:submit')}\n"
            f"{_absolute('shares:share')}\n"
        )
    else:
        body = (
            "A data manager declined your request to become a submitter. Reply to this message or write to "
            "the data managers if you would like to know more.\n"
        )
    _send_after_commit([person.email], f"Your request to submit data packages: {asked.state}", body)
    return asked
