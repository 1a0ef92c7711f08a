"""Changes to accounts: profile edits and API tokens. Each writes an audit event."""

from django.db import transaction
from django.utils import timezone

from apps.audit.services import record_event

from .models import ApiToken, User


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
