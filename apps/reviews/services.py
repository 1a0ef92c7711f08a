"""Review verbs: request, amend, comment, approve, return, resubmit, reopen. Each owns its
transaction (the review row locked), records the audit event and mails the other reviewers."""

from __future__ import annotations

import datetime
import json

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from apps.audit.services import record_event
from apps.cruises import mail
from portal.errors import Forbidden, UserError

from . import targets
from .models import FieldChange, Review, ReviewDecision


class ReviewError(UserError):
    """The review cannot do this now; the message says why (a page message or a 400 answer)."""


def _ct(target) -> ContentType:
    return ContentType.objects.get_for_model(target)


def review_for(target) -> Review | None:
    return (
        Review.objects.filter(content_type=_ct(target), object_id=target.pk).order_by("-created_at").first()
    )


def _locked(review: Review) -> Review:
    return Review.objects.select_for_update().get(pk=review.pk)


def _notify(review: Review, target, subject: str, body: str, *, exclude=None) -> None:
    kind = targets.kind_for(target)
    addresses = [a for role in review.required_roles for a in kind.emails(target, role)]
    if exclude is not None:
        addresses = [a for a in addresses if a.lower() != exclude.email.lower()]
    link = mail.absolute(f"/reviews/{review.pk}/")
    mail.notify(addresses, f"{subject}: {kind.label(target)}", f"{body}\n\nReview: {link}\n")


def _actor_role(user, target, review: Review) -> str:
    held = targets.roles_of(user, target)
    if held:
        return held[0]
    if targets.is_data_manager(user):
        return "data_manager"
    raise Forbidden("Only the reviewers of this record (or a data manager) may do this.")


@transaction.atomic(durable=True)
def request_review(target, user, request=None) -> Review:
    kind = targets.kind_for(target)
    if not (targets.roles_of(user, target) or targets.is_data_manager(user)):
        raise Forbidden("Only the operator, the chief scientist or a data manager may ask for a review.")
    existing = review_for(target)
    if existing is not None:
        raise ReviewError("This record already has a review; open it from the inbox.")
    review = Review.objects.create(
        content_type=_ct(target),
        object_id=target.pk,
        required_roles=list(kind.required_roles),
        requested_by=user,
    )
    kind.on_requested(target)
    record_event(
        service="reviews",
        method="requestReview",
        resource_id=f"review/{review.pk}",
        user=user,
        request=request,
        text=f"review of {kind.label(target)} requested",
    )
    _notify(
        review,
        target,
        "Review requested",
        f"{user.name or user.email} asks you to review {kind.label(target)}.",
        exclude=user,
    )
    return review


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def apply_changes(
    target, changes: dict, user, *, role: str = "", review: Review | None = None
) -> list[FieldChange]:
    """Save changed fields of ``target`` and record one FieldChange per field (caller owns the
    transaction). Unchanged fields are skipped."""
    recorded = []
    ct = _ct(target)
    fields = []
    for name, new in changes.items():
        old = getattr(target, name)
        if old == new or (_display(old) == _display(new)):
            continue
        recorded.append(
            FieldChange(
                review=review,
                content_type=ct,
                object_id=target.pk,
                field=name,
                old_value=_display(old),
                new_value=_display(new),
                user=user,
                role=role,
            )
        )
        setattr(target, name, new)
        fields.append(name)
    if fields:
        target.save(update_fields=fields + (["updated_at"] if hasattr(target, "updated_at") else []))
        FieldChange.objects.bulk_create(recorded)
    return recorded


@transaction.atomic(durable=True)
def amend(review: Review, user, changes: dict, request=None) -> list[FieldChange]:
    review = _locked(review)
    target = review.target
    kind = targets.kind_for(target)
    if review.state == Review.State.APPROVED:
        raise ReviewError("The record is approved and locked; a data manager must reopen the review first.")
    role = _actor_role(user, target, review)
    unknown = set(changes) - set(kind.amendable)
    if unknown:
        raise ReviewError(f"These fields cannot be amended: {', '.join(sorted(unknown))}")
    recorded = apply_changes(target, changes, user, role=role, review=review)
    if recorded:
        # A change after an approval invalidates it: every reviewer approves what is now there.
        review.decisions.filter(decision=ReviewDecision.Decision.APPROVE, current=True).exclude(
            user=user
        ).update(current=False)
        review.updated_at = timezone.now()
        review.save(update_fields=["updated_at"])
        names = ", ".join(c.field for c in recorded)
        record_event(
            service="reviews",
            method="amend",
            resource_id=f"review/{review.pk}",
            user=user,
            request=request,
            text=f"{kind.label(target)} amended: {names}",
        )
        _notify(
            review,
            target,
            "Record amended",
            f"{user.name or user.email} ({role}) changed: {names}.",
            exclude=user,
        )
    return recorded


@transaction.atomic(durable=True)
def decide(review: Review, user, decision: str, comment: str = "", request=None) -> Review:
    """approve, return, comment, or resubmit (after a return)."""
    review = _locked(review)
    target = review.target
    kind = targets.kind_for(target)
    role = _actor_role(user, target, review)
    D = ReviewDecision.Decision
    if decision not in (D.APPROVE, D.RETURN, D.COMMENT, D.RESUBMIT):
        raise ReviewError(f"Unknown decision '{decision}'.")
    if review.state == Review.State.APPROVED and decision != D.COMMENT:
        raise ReviewError("The record is already approved and locked; a data manager can reopen it.")
    if decision == D.APPROVE:
        if role not in review.required_roles:
            raise Forbidden("Only the required reviewers approve.")
        if review.state == Review.State.RETURNED:
            raise ReviewError("The record was returned for changes; resubmit it before approving.")
        review.decisions.filter(role=role, decision=D.APPROVE, current=True).update(current=False)
    if decision == D.RETURN:
        if not comment.strip():
            raise ReviewError("Say what needs to change when you return a record.")
        review.decisions.filter(decision=D.APPROVE, current=True).update(current=False)
        review.state = Review.State.RETURNED
    if decision == D.RESUBMIT:
        if review.state != Review.State.RETURNED:
            raise ReviewError("Only a returned record can be resubmitted.")
        review.state = Review.State.OPEN
    ReviewDecision.objects.create(review=review, user=user, role=role, decision=decision, comment=comment)
    approved_roles = set(
        review.decisions.filter(decision=D.APPROVE, current=True).values_list("role", flat=True)
    )
    now = timezone.now()
    if review.state == Review.State.OPEN and set(review.required_roles) <= approved_roles:
        review.state = Review.State.APPROVED
        review.approved_at = now
        kind.on_approved(target)
    review.updated_at = now
    review.save(update_fields=["state", "approved_at", "updated_at"])
    label = dict(D.choices)[decision].lower()
    record_event(
        service="reviews",
        method=decision,
        resource_id=f"review/{review.pk}",
        user=user,
        request=request,
        text=f"{kind.label(target)} {label} by {role}" + (f": {comment}" if comment else ""),
    )
    who = user.name or user.email
    if review.state == Review.State.APPROVED and decision == D.APPROVE:
        _notify(
            review,
            target,
            "Approved",
            f"All reviewers approved {kind.label(target)}; the record is now locked.",
        )
    else:
        _notify(
            review,
            target,
            label.capitalize(),
            f"{who} ({role}) {label} {kind.label(target)}." + (f"\n\n{comment}" if comment else ""),
            exclude=user,
        )
    return review


@transaction.atomic(durable=True)
def reopen(review: Review, user, reason: str, request=None) -> Review:
    if not targets.is_data_manager(user):
        raise Forbidden("Only a data manager may reopen an approved record.")
    review = _locked(review)
    if review.state != Review.State.APPROVED:
        raise ReviewError("Only an approved review can be reopened.")
    target = review.target
    kind = targets.kind_for(target)
    review.decisions.filter(current=True, decision=ReviewDecision.Decision.APPROVE).update(current=False)
    ReviewDecision.objects.create(
        review=review, user=user, role="data_manager", decision=ReviewDecision.Decision.REOPEN, comment=reason
    )
    review.state = Review.State.OPEN
    review.approved_at = None
    review.updated_at = timezone.now()
    review.save(update_fields=["state", "approved_at", "updated_at"])
    kind.on_reopened(target)
    record_event(
        service="reviews",
        method="reopen",
        resource_id=f"review/{review.pk}",
        user=user,
        request=request,
        text=f"{kind.label(target)} reopened: {reason}",
    )
    _notify(review, target, "Reopened", f"A data manager reopened {kind.label(target)} for changes: {reason}")
    return review


def waiting_for(user) -> list[Review]:
    """Reviews in which ``user`` holds a required role and has no current approval ("waiting for you"),
    newest first. A fixed number of queries whatever the number of reviews (inbox, dashboard)."""
    if not getattr(user, "is_authenticated", False):
        return []
    waiting = []
    for model, kind in targets.kinds():
        held = kind.held_by(user)
        if not held:
            continue
        reviews = (
            Review.objects.exclude(state=Review.State.APPROVED)
            .filter(content_type=ContentType.objects.get_for_model(model), object_id__in=list(held))
            .prefetch_related("decisions", "target")
        )
        for review in reviews:
            if review.target is None:
                continue
            mine = held[review.object_id] & set(review.required_roles)
            if not mine:
                continue
            approved = {d.role for d in review.decisions.all() if d.decision == "approve" and d.current}
            if review.state == Review.State.RETURNED or mine - approved:
                waiting.append(review)
    return sorted(waiting, key=lambda r: r.updated_at, reverse=True)


def history(target) -> list[FieldChange]:
    return list(
        FieldChange.objects.filter(content_type=_ct(target), object_id=target.pk).select_related("user")
    )
