"""Proprietary holds (owned by the cruises work, issue 5).

Other apps ask which holds cover a revision with ``Hold.objects.covering(revision)`` (apps.holds.models).

Decision (documented in the README): asserting a hold moves the cruise's *archived* revisions to
``held`` and covers every revision archived later while it lasts. A revision that is already
*published* stays published: its DOI is findable, OAI-PMH harvesters and mirrors have its data,
and pulling it back would be a withdrawal, which is a data manager's act, not a hold. So a hold is
asserted only on data it actually hides: a package that was ever published cannot be named
(``why_not_holdable``; the form shows it disabled with that reason). A hold on *all* datasets is
allowed while some are public: it hides the rest and everything linked or revised later.

When a hold ends, this app decides which held revisions are free (no other hold in force covers them)
and sends ``holds.signals.revisions_released``; publishing (an app above this one) publishes them in the
same transaction. Holds never imports publishing.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps import access
from apps.audit.services import record_event
from apps.cruises import mail
from apps.cruises.models import Cruise
from apps.packages.models import Revision
from apps.packages.services import hold_revision
from portal.errors import UserError

from .models import Hold
from .signals import revisions_released


class HoldError(UserError):
    pass


def _today() -> datetime.date:
    return timezone.now().date()


def _recipients(cruise: Cruise) -> list[str]:
    emails = [m.email for m in cruise.members.all() if m.email]
    if cruise.operator.email:
        emails.append(cruise.operator.email)
    return emails


def why_not_holdable(package) -> str | None:
    """Why a hold naming ``package`` would hide nothing, or None when it may be held: its data went public
    when it was first published, and a hold cannot take that back."""
    first = (
        package.revisions.filter(published_at__isnull=False)
        .order_by("published_at")
        .only("published_at")
        .first()
    )
    if first is None:
        return None
    return (
        f"published on {first.published_at.date().isoformat()}: public data cannot be held back; "
        "a data manager can withdraw it"
    )


@transaction.atomic(durable=True)
def assert_hold(
    cruise: Cruise, user, *, ends_on: datetime.date, reason: str, packages=None, request=None
) -> Hold:
    """The chief scientist of ``cruise`` holds its datasets (``packages`` None = all of them). Refuses
    (``HoldError``) a package whose data is already public: a hold must hide what it names."""
    access.require_hold_keeper(user, cruise)
    cruise = Cruise.objects.select_for_update().get(pk=cruise.pk)
    if cruise.state != Cruise.State.APPROVED:
        raise HoldError("A hold can be asserted only after the cruise record has been reviewed and approved.")
    today = _today()
    latest = today + datetime.timedelta(days=settings.HOLD_MAX_DAYS)
    if not today < ends_on <= latest:
        raise HoldError(
            f"The end date must be after today and no later than {latest.isoformat()} ({settings.HOLD_MAX_DAYS} days)."
        )
    if not reason.strip():
        raise HoldError("Give a reason for the hold.")
    packages = list(packages) if packages is not None else None
    if packages is not None:
        if not packages:
            raise HoldError("Choose at least one dataset, or hold all of them.")
        foreign = [p for p in packages if p.cruise_id != cruise.pk]
        if foreign:
            raise HoldError(
                f"{', '.join(p.package_key for p in foreign)} is not a dataset of {cruise.cruise_id}."
            )
        public = [f"{p.package_key} was {why}" for p in packages if (why := why_not_holdable(p))]
        if public:
            raise HoldError(f"Nothing to hide: {'; '.join(public)}.")
    hold = Hold.objects.create(
        cruise=cruise, all_packages=packages is None, ends_on=ends_on, reason=reason.strip(), created_by=user
    )
    if packages is not None:
        hold.packages.set(packages)
    held = []
    archived = hold.covered_revisions().filter(state=Revision.State.ARCHIVED).values_list("pk", flat=True)
    for revision in (
        Revision.objects.filter(pk__in=list(archived)).select_for_update().select_related("package")
    ):
        hold_revision(revision, until=ends_on, user=user, request=request)
        hold.held_packages.add(revision.package_id)
        held.append(revision.package_id_text)
    scope = "all datasets" if packages is None else ", ".join(p.package_key for p in packages)
    record_event(
        service="holds",
        method="assertHold",
        resource_id=cruise.cruise_id,
        user=user,
        request=request,
        text=f"hold on {scope} of {cruise.cruise_id} until {ends_on}: {reason.strip()}"
        + (f"; now held: {', '.join(held)}" if held else ""),
    )
    mail.notify(
        _recipients(cruise),
        f"Hold asserted on {cruise.cruise_id}",
        f"{user.name or user.email} asserted a proprietary hold on {scope} of cruise {cruise.cruise_id} until {ends_on}.\n\nReason: {reason}\n",
    )
    return hold


def hold_if_covered(revision: Revision) -> bool:
    """archived → held when a hold in force covers ``revision`` (the latest-ending one decides its date);
    the hold then follows the package. True when held. Call inside the pipeline's transaction, holding the
    revision's row lock."""
    hold = Hold.objects.covering(revision).first()
    if hold is None:
        return False
    hold_revision(revision, until=hold.ends_on)
    hold.held_packages.add(revision.package_id)
    return True


def _end(hold: Hold, state: str, user=None, request=None) -> list[str]:
    """End a hold and release what no other hold in force still covers. Call inside a transaction,
    holding the hold's row lock."""
    hold.state = state
    hold.ended_at = timezone.now()
    hold.ended_by = user
    hold.save(update_fields=["state", "ended_at", "ended_by"])
    free = []
    ids = list(hold.covered_revisions().filter(state=Revision.State.HELD).values_list("pk", flat=True))
    for pk in ids:
        revision = Revision.objects.select_for_update().select_related("package").get(pk=pk)
        if revision.state != Revision.State.HELD or Hold.objects.covering(revision).exists():
            continue  # released meanwhile, or another hold still covers it
        free.append(revision)
    if free and not revisions_released.send(sender=Hold, hold=hold, revisions=free):
        # Held revisions must never be reported released while nothing publishes them.
        raise RuntimeError("No receiver publishes released revisions (is apps.publishing installed?).")
    released = [revision.package_id_text for revision in free]
    verb = "lifted" if state == Hold.State.LIFTED else "expired"
    record_event(
        service="holds",
        method="liftHold" if state == Hold.State.LIFTED else "expireHold",
        resource_id=hold.cruise.cruise_id,
        user=user,
        request=request,
        auth_system="" if user else "worker",
        text=f"hold {hold.pk} on {hold.cruise.cruise_id} {verb}; released: {', '.join(released) or 'nothing'}",
    )
    mail.notify(
        _recipients(hold.cruise),
        f"Hold on {hold.cruise.cruise_id} {verb}",
        f"The proprietary hold on cruise {hold.cruise.cruise_id} has {'been lifted' if user else 'ended'}; "
        f"released: {', '.join(released) or 'nothing'}.\n",
    )
    return released


@transaction.atomic(durable=True)
def lift_hold(hold: Hold, user, request=None) -> list[str]:
    hold = Hold.objects.select_for_update().select_related("cruise").get(pk=hold.pk)
    access.require_hold_keeper(user, hold.cruise)
    if hold.state != Hold.State.ACTIVE:
        raise HoldError("This hold has already ended.")
    return _end(hold, Hold.State.LIFTED, user, request)


def expire_due(today: datetime.date | None = None) -> int:
    """End every active hold whose date has come; each in its own (durable) transaction. Safe to run twice."""
    today = today or _today()
    count = 0
    for pk in Hold.objects.filter(state=Hold.State.ACTIVE, ends_on__lte=today).values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            hold = (
                Hold.objects.select_for_update(skip_locked=True)
                .select_related("cruise")
                .filter(pk=pk, state=Hold.State.ACTIVE)
                .first()
            )
            if hold is None:
                continue  # someone else ended it
            _end(hold, Hold.State.EXPIRED)
            count += 1
    return count
