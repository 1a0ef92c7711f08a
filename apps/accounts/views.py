from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import roles, services
from .forms import ProfileForm, TokenForm
from .models import ApiToken


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
