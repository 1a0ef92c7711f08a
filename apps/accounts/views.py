from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps import access
from apps.access import roles as access_roles
from apps.access.decorators import data_manager_required
from portal.errors import UserError

from . import roles, services
from .forms import ProfileForm, SubmitterRequestForm, TokenForm
from .models import ApiToken, SubmitterRequest


@login_required
def profile(request):
    if request.method == "POST":
        form = ProfileForm(request.POST, instance=request.user)
        if form.is_valid():
            services.update_profile(request.user, request=request, **form.cleaned_data)
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile")
    else:
        form = ProfileForm(instance=request.user)
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "token_form": TokenForm(),
            "tokens": request.user.api_tokens.all(),
            "roles": roles.roles_of(request.user),
            "new_key": request.session.pop("new_token_key", None),
        },
    )


@login_required
@require_POST
def token_create(request):
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the token a name.")
        return redirect("accounts:profile")
    _, key = services.create_token(request.user, form.cleaned_data["name"], request=request)
    # Shown once on the next page, then gone: only its hash is stored.
    request.session["new_token_key"] = key
    return redirect("accounts:profile")


@login_required
@require_POST
def token_revoke(request, token_id: int):
    try:
        services.revoke_token(request.user, token_id, request=request)
    except ApiToken.DoesNotExist as exc:
        raise Http404("No such token.") from exc
    messages.success(request, "Token revoked.")
    return redirect("accounts:profile")


# --- becoming a submitter ---------------------------------------------------------------------------


def _submitter_context(user, form=None) -> dict:
    return {
        "form": form or SubmitterRequestForm(),
        "can_request": access_roles.can_request_submitter(user),
        "pending": SubmitterRequest.objects.filter(user=user, state=SubmitterRequest.State.PENDING).first(),
        "latest": SubmitterRequest.objects.filter(user=user).first(),
    }


def not_vetted_page(request, message: str) -> HttpResponse:
    """The 403 a signed-in person who is not vetted gets where submitting starts: the reason, and the
    request form (or the state of the request they sent), not a bare "not allowed"."""
    context = {**_submitter_context(request.user), "message": message}
    return render(request, "accounts/submitter_request.html", context, status=403)


@login_required
def submitter_request(request):
    """Ask to become a submitter (GET shows the form and any earlier request; POST sends it)."""
    form = SubmitterRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        access.require_submitter_candidate(request.user)
        if form.is_valid():
            services.request_submitter(request.user, reason=form.cleaned_data["reason"], request=request)
            messages.success(request, "Request sent. A data manager will answer by e-mail.")
            return redirect("accounts:submitter-request")
        status = 400
    context = _submitter_context(request.user, form)
    return render(request, "accounts/submitter_request.html", context, status=status)


@data_manager_required
def submitter_requests(request):
    """Data managers: pending requests to become a submitter, with approve/decline, and recent decisions."""
    requests = SubmitterRequest.objects.select_related("user", "decided_by")
    return render(
        request,
        "accounts/submitter_requests.html",
        {
            "pending": requests.filter(state=SubmitterRequest.State.PENDING).order_by("created_at"),
            "decided": requests.exclude(state=SubmitterRequest.State.PENDING).order_by("-decided_at")[:20],
        },
    )


@require_POST
@data_manager_required
def submitter_request_decide(request, pk: int):
    asked = get_object_or_404(SubmitterRequest, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("approve", "decline"):
        raise UserError("Choose approve or decline.")
    asked = services.decide_submitter_request(
        asked, request.user, approve=decision == "approve", request=request
    )
    messages.success(request, f"{asked.user.email}: {asked.get_state_display().lower()}.")
    return redirect("accounts:submitter-requests")
