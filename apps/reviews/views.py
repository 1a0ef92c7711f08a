from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps import access
from apps.access import roles
from apps.cruises.forms import CruiseEditForm
from portal.errors import Forbidden

from . import services, targets
from .models import Review


@login_required
def inbox(request):
    return render(request, "reviews/inbox.html", {"waiting": services.waiting_for(request.user)})


def _review_for_user(user, pk: int) -> tuple[Review, object, list[str]]:
    """The review (apps.access decides who may open it), its target and the review roles ``user`` holds."""
    review = access.get_review_for_user(user, pk)
    target = review.target
    return review, target, targets.roles_of(user, target)


@login_required
def review_detail(request, pk: int, form=None, status=200):
    review, target, my_roles = _review_for_user(request.user, pk)
    kind = targets.kind_for(target)
    can_act = bool(my_roles) or roles.is_data_manager(request.user)
    if form is None and can_act and review.state != Review.State.APPROVED:
        form = CruiseEditForm(instance=target, prefix="amend")
    decisions = review.decisions.select_related("user")
    approved = {d.role for d in decisions if d.decision == "approve" and d.current}
    return render(
        request,
        "reviews/review_detail.html",
        {
            "review": review,
            "target": target,
            "label": kind.label(target),
            "target_url": kind.url(target),
            "my_roles": my_roles,
            "can_act": can_act,
            "form": form if can_act else None,
            "decisions": decisions,
            "required": [(r, r in approved) for r in review.required_roles],
            "changes": services.history(target),
            "is_data_manager": roles.is_data_manager(request.user),
        },
        status=status,
    )


@login_required
@require_POST
def amend(request, pk: int):
    review, target, my_roles = _review_for_user(request.user, pk)
    if not (my_roles or roles.is_data_manager(request.user)):
        # Before the form: someone who may not amend learns that, not what the form lacks.
        raise Forbidden("Only the reviewers of this record (or a data manager) may amend it.")
    form = CruiseEditForm(request.POST, instance=type(target).objects.get(pk=target.pk), prefix="amend")
    if not form.is_valid():
        return review_detail(request, pk, form=form, status=400)
    changed = services.amend(review, request.user, form.changes(), request=request)
    messages.success(
        request, f"Amended: {', '.join(c.field for c in changed)}." if changed else "Nothing changed."
    )
    return redirect("reviews:detail", pk=review.pk)


@login_required
@require_POST
def decide(request, pk: int):
    review, target, my_roles = _review_for_user(request.user, pk)
    review = services.decide(
        review,
        request.user,
        request.POST.get("decision", ""),
        request.POST.get("comment", ""),
        request=request,
    )
    messages.success(
        request,
        "Approved by everyone: the record is locked."
        if review.state == Review.State.APPROVED
        else "Recorded.",
    )
    return redirect("reviews:detail", pk=review.pk)


@login_required
@require_POST
def reopen(request, pk: int):
    review = access.get_review_for_user(request.user, pk)
    services.reopen(
        review, request.user, request.POST.get("reason", "").strip() or "reopened", request=request
    )
    return redirect("reviews:detail", pk=review.pk)


@login_required
@require_POST
def request_cruise_review(request, cruise_pk: int):
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    review = services.request_review(cruise, request.user, request=request)
    messages.success(request, "Review requested; the operator and the chief scientist have been notified.")
    return redirect("reviews:detail", pk=review.pk)
