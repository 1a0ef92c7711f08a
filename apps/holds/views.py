from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps import access

from . import services
from .forms import HoldForm
from .models import Hold


def hold_list(request):
    """Public: which cruises' datasets are held and until when (metadata only)."""
    holds = (
        Hold.objects.filter(state=Hold.State.ACTIVE)
        .select_related("cruise", "cruise__vessel")
        .prefetch_related("packages")
        .order_by("ends_on")
    )
    return render(request, "holds/hold_list.html", {"holds": holds})


@login_required
def assert_hold(request, cruise_pk: int):
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    access.require_hold_keeper(request.user, cruise)
    form = HoldForm(request.POST or None, cruise=cruise)
    status = 200
    if request.method == "POST" and form.is_valid():
        packages = None if form.cleaned_data["scope"] == "all" else form.cleaned_data["packages"]
        try:
            hold = services.assert_hold(
                cruise,
                request.user,
                ends_on=form.cleaned_data["ends_on"],
                reason=form.cleaned_data["reason"],
                packages=packages,
                request=request,
            )
        except services.HoldError as exc:
            form.add_error(None, str(exc))
            status = 400
        else:
            messages.success(request, _asserted_message(hold, form.refusals))
            return redirect("cruises:detail", pk=cruise.pk)
    return render(request, "holds/hold_form.html", {"cruise": cruise, "form": form}, status=status)


def _asserted_message(hold: Hold, refusals: dict) -> str:
    """Say what the hold hides now, and what it does not (already public), so no one reads "asserted" as
    "the data is back"."""
    now_held = sorted(p.package_key for p in hold.packages_with_held_revisions())
    text = f"Hold asserted until {hold.ends_on}; data held now: {', '.join(now_held) or 'none yet'}."
    if hold.all_packages:
        text += " Datasets linked or revised later are held too."
        if refusals:
            public = sorted(p.package_key for p in hold.cruise.packages.filter(pk__in=refusals))
            text += f" Already public, not affected: {', '.join(public)}."
    return text


@login_required
@require_POST
def lift_hold(request, pk: int):
    hold = get_object_or_404(Hold.objects.select_related("cruise"), pk=pk)
    released = services.lift_hold(hold, request.user, request=request)
    messages.success(request, f"Hold lifted; released: {', '.join(released) or 'nothing'}.")
    return redirect("cruises:detail", pk=hold.cruise_id)
