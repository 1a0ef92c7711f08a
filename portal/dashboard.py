"""The personal dashboard (``/me/``): what waits for this person, role by role, with counts and links.

Each panel asks the app that owns the thing (reviews, DOIs, holds, submissions, submitter requests) and
costs a fixed number of queries whatever the amount of data, so the page stays quick for a data
manager of a large repository (``tests/portal/test_dashboard.py`` counts them). There is no "flags"
panel: Quayside has no flags yet (R2R's "flag missing data" belongs to the planned distributions app).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from apps import access
from apps.access import roles
from apps.accounts.models import SubmitterRequest
from apps.cruises.models import CruiseMember
from apps.holds.models import Hold
from apps.publishing.models import Doi
from apps.reviews import services as reviews
from apps.submissions.models import Submission

ENDING_SOON_DAYS = 30  # a hold ending within this many days is called out
LISTED = 5  # items shown per panel; the count and the link give the rest


@dataclass
class Item:
    text: str
    url: str = ""
    note: str = ""


@dataclass
class Panel:
    key: str
    title: str
    count: int
    url: str
    link_text: str
    items: list[Item] = field(default_factory=list)
    extra: list[tuple[str, int]] = field(default_factory=list)  # secondary counts: (label, number)
    attention: bool = False  # something needs acting on now (errors, failures)
    empty: str = "Nothing waits here."


def panels_for(user) -> list[Panel]:
    """The panels ``user`` has, in the order of the page."""
    chief_of = list(
        CruiseMember.objects.filter(user=user, role=CruiseMember.Role.CHIEF_SCIENTIST).values_list(
            "cruise_id", flat=True
        )
    )
    found = [_reviews(user, reviewer=bool(chief_of) or access.is_any_operator(user))]
    is_manager = roles.is_data_manager(user)
    if is_manager:
        found += [_dois(), _submitter_requests()]
    if is_manager or chief_of:
        found.append(_holds(None if is_manager else chief_of))
    if roles.is_vetted(user) or Submission.objects.filter(user=user).exists():
        found.append(_submissions(user))
    if roles.can_request_submitter(user):
        found.append(_become_submitter(user))
    return [p for p in found if p is not None]


def _reviews(user, *, reviewer: bool) -> Panel | None:
    """Reviews waiting for ``user``; no panel for someone who reviews nothing (``reviewer``: operator or
    chief scientist somewhere)."""
    waiting = reviews.waiting_for(user) if reviewer else []
    if not waiting and not reviewer:
        return None
    return Panel(
        key="reviews",
        title="Reviews to do",
        count=len(waiting),
        url=reverse("reviews:inbox"),
        link_text="All reviews waiting for you",
        items=[
            Item(str(r.target), reverse("reviews:detail", args=[r.pk]), r.get_state_display())
            for r in waiting[:LISTED]
        ],
        empty="No review waits for you.",
    )


def _dois() -> Panel:
    open_ = Q(~Q(state=F("target_state")) | Q(needs_update=True))
    counts = Doi.objects.aggregate(
        queued=Count("pk", filter=open_), failing=Count("pk", filter=open_ & ~Q(last_error=""))
    )
    # The failing ones first (what needs a look), else the oldest waiting ones.
    shown = Doi.objects.filter(open_)
    if counts["failing"]:
        shown = shown.exclude(last_error="").order_by("-last_attempt_at", "-pk")
    else:
        shown = shown.order_by("created_at", "pk")
    return Panel(
        key="dois",
        title="DOI queue",
        count=counts["queued"],
        url=reverse("publishing:doi-queue"),
        link_text="Open the DOI queue",
        extra=[("failing", counts["failing"])],
        attention=counts["failing"] > 0,
        items=[
            Item(d.doi, reverse("publishing:doi-detail", args=[d.pk]), d.last_error[:120] or d.label)
            for d in shown[:LISTED]
        ],
        empty="Every DOI is in step with DataCite.",
    )


def _submitter_requests() -> Panel:
    pending = SubmitterRequest.objects.filter(state=SubmitterRequest.State.PENDING)
    first = list(pending.select_related("user").order_by("created_at")[:LISTED])
    return Panel(
        key="submitter-requests",
        title="Requests to become a submitter",
        count=pending.count(),
        url=reverse("accounts:submitter-requests"),
        link_text="Approve or decline",
        items=[Item(r.user.name or r.user.email, note=r.created_at.strftime("%Y-%m-%d")) for r in first],
        empty="No requests wait.",
    )


def _holds(cruise_ids: list[int] | None) -> Panel:
    """Active holds: every one for a data manager (``cruise_ids`` None), else those of these cruises."""
    today = timezone.now().date()
    soon = today + datetime.timedelta(days=ENDING_SOON_DAYS)
    active = Hold.objects.active(today)
    if cruise_ids is not None:
        active = active.filter(cruise_id__in=cruise_ids)
    counts = active.aggregate(active=Count("pk"), ending=Count("pk", filter=Q(ends_on__lte=soon)))
    first = active.select_related("cruise").order_by("ends_on")[:LISTED]
    return Panel(
        key="holds",
        title="Proprietary holds",
        count=counts["active"],
        url=reverse("holds:list"),
        link_text="All holds",
        extra=[(f"ending within {ENDING_SOON_DAYS} days", counts["ending"])],
        items=[
            Item(
                h.cruise.cruise_id,
                reverse("cruises:detail", args=[h.cruise_id]),
                f"until {h.ends_on:%Y-%m-%d}" + (" — ending soon" if h.ends_on <= soon else ""),
            )
            for h in first
        ],
        empty="No hold is in force.",
    )


def _submissions(user) -> Panel:
    mine = Submission.objects.filter(user=user)
    by_state = dict(mine.order_by().values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    latest = mine.select_related("revision").order_by("-created_at", "-pk")[:LISTED]
    running = by_state.get(Submission.State.PENDING, 0) + by_state.get(Submission.State.RUNNING, 0)
    return Panel(
        key="submissions",
        title="My submissions",
        count=sum(by_state.values()),
        url=reverse("submissions:submit"),
        link_text="Submit a data package",
        extra=[
            ("in progress", running),
            ("succeeded", by_state.get(Submission.State.SUCCEEDED, 0)),
            ("failed", by_state.get(Submission.State.FAILED, 0)),
        ],
        items=[
            Item(
                s.package_id_text or s.transaction,
                reverse("submissions:status", args=[s.transaction]),
                s.state + (f" · {s.revision.state}" if s.revision_id else ""),
            )
            for s in latest
        ],
        empty="You have not submitted anything yet.",
    )


def _become_submitter(user) -> Panel:
    pending = SubmitterRequest.objects.filter(user=user, state=SubmitterRequest.State.PENDING).first()
    return Panel(
        key="become-submitter",
        title="Submit data packages",
        count=0,
        url=reverse("accounts:submitter-request"),
        link_text="Your request is waiting" if pending else "Request to become a submitter",
        empty=(
            f"You asked on {pending.created_at:%Y-%m-%d}; a data manager will answer by e-mail."
            if pending
            else "Data packages are submitted by vetted submitters; ask the data managers to add you."
        ),
    )
