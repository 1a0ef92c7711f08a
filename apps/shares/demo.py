"""Demo quick shares: a sharer approved through the submitter request (the curation of sharers); one share
with two versions — version 2 keeps the README by reference and changes the CSV — and one edit of its
description; and one share a data manager tainted (its landing page a tombstone, a deleted record in
OAI-PMH, its bytes removed). Idempotent: each is made once."""

from __future__ import annotations

import io

from allauth.account.models import EmailAddress

from apps.accounts import services as accounts
from apps.accounts.demo import PASSWORD
from apps.accounts.models import SubmitterRequest, User
from apps.submissions import services as submissions

from . import services
from .models import Share

SHARER = ("sharer@quayside.example", "Mara Quinn", "Harbour Plankton Group")
COUNTS = "sample,date,depth_m,copepods_per_m3\n" + "".join(
    f"P{i:02d},2024-05-{1 + i % 28:02d},{5 * (1 + i % 4)},{120 + 17 * i}\n" for i in range(40)
)
COUNTS_V2 = COUNTS + "P40,2024-05-29,10,871.5\n"  # one more sample, and a count that is not whole
README = "Zooplankton net tows in the harbour, May 2024. Counts per cubic metre of filtered water.\n"
TAINTED_TITLE = "Harbour camera stills, March 2024"
FRAMES = "time,frame\n2024-03-01T00:00Z,0001.jpg\n2024-03-01T00:10Z,0002.jpg\n"


def _sharer() -> User:
    email, name, affiliation = SHARER
    user, created = User.objects.get_or_create(
        email=email, defaults={"name": name, "affiliation": affiliation}
    )
    if created:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    if not user.submitter_requests.exists():
        asked = accounts.request_submitter(user, reason="Quick shares of plankton net tows.")
        manager = User.objects.get(email="dm@quayside.example")
        accounts.decide_submitter_request(asked, manager, approve=True)
    return User.objects.get(pk=user.pk)  # fresh group cache


def _publish(draft, user) -> None:
    sub = submissions.run_all(services.submit_draft(draft, user=user))
    submissions.publish_preview(sub, user=user)
    sub = submissions.run_all(sub)
    if sub.state != sub.State.SUCCEEDED:
        raise RuntimeError(f"demo share {sub.package_id_text} failed: {sub.error}")


def load(log) -> None:
    user = _sharer()
    if not Share.objects.filter(sharer=user).exclude(package__revisions__title=TAINTED_TITLE).exists():
        _two_versions(user, log)
    if not Share.objects.filter(sharer=user, package__revisions__title=TAINTED_TITLE).exists():
        _tainted(user, log)


def _two_versions(user, log) -> None:
    first = services.start_draft(
        user,
        [("plankton_counts.csv", io.BytesIO(COUNTS.encode())), ("README.txt", io.BytesIO(README.encode()))],
        title="Harbour zooplankton net tows, May 2024",
        description="Copepod counts from 40 vertical net tows at four depths.",
        licence="CC-BY-4.0",
    )
    _publish(first, user)
    first.refresh_from_db()
    share = first.share
    services.edit_metadata(
        share,
        user=user,
        title=first.title,
        description="Copepod counts from 40 vertical net tows at four depths (5–20 m).",
        licence="CC-BY-4.0",
    )
    second = services.start_draft(
        user,
        [("plankton_counts.csv", io.BytesIO(COUNTS_V2.encode()))],
        title=first.title,
        description="Copepod counts from 41 vertical net tows at four depths (5–20 m).",
        licence="CC-BY-4.0",
        share=share,
        keep=["README.txt"],
    )
    _publish(second, user)
    approved = SubmitterRequest.objects.filter(user=user, state=SubmitterRequest.State.APPROVED).exists()
    log(
        f"shares: {SHARER[0]} (approved: {approved}) shared {share.package} as /id/{share.short_id}, "
        "two versions (one changed file)"
    )


def _tainted(user, log) -> None:
    """A share published by mistake and tainted by a data manager (the reason stays in the audit log)."""
    from apps.publishing import services as publishing
    from apps.publishing.taint import remove_tainted_data

    draft = services.start_draft(
        user,
        [("frames.csv", io.BytesIO(FRAMES.encode()))],
        title=TAINTED_TITLE,
        description="Frame list of the harbour camera.",
        licence="CC-BY-4.0",
    )
    _publish(draft, user)
    draft.refresh_from_db()
    version = draft.share.package.revisions.get(number=1)
    manager = User.objects.get(email="dm@quayside.example")
    publishing.taint(
        version, reason="Demo: the stills show identifiable people (audit log only).", user=manager
    )
    remove_tainted_data(version.pk)  # the worker does this after the commit; the demo may run without one
    log(
        f"shares: {draft.share.package} tainted by {manager.email}: /id/{draft.share.short_id} is a tombstone"
    )
