"""Distribution pages: profiles (data managers), classification preview and commit, packaging, deep
copies, restores, the accession form and the streamed BagIt download. Access rules are apps.access's."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps import access
from apps.access.decorators import data_manager_required
from apps.cruises.models import Cruise
from apps.publishing.landing import zipstream
from portal.errors import Conflict, Forbidden, QuaysideError, UserError
from portal.tasks import dispatch

from . import bag, deep, services, tasks
from .forms import AccessionForm, ProfileForm, RestoreForm, rules_to_text, text_to_rules
from .models import Dataset, Profile, RestoreRequest


@data_manager_required
def profile_list(request):
    profiles = Profile.objects.select_related("operator", "vessel", "template").prefetch_related("rules")
    return render(request, "distributions/profile_list.html", {"profiles": profiles})


@data_manager_required
def profile_edit(request, pk: int | None = None):
    profile = get_object_or_404(Profile, pk=pk) if pk else None
    initial = {}
    if profile is not None:
        initial = {
            "name": profile.name,
            "operator": profile.operator_id,
            "vessel": profile.vessel_id,
            "template": profile.template_id,
            "rules": rules_to_text(profile),
        }
    form = ProfileForm(request.POST or None, initial=initial)

    def save(data) -> str:
        fields = {**data, "rules": text_to_rules(data["rules"])}
        saved = services.save_profile(request.user, **fields, profile=profile, request=request)
        return f"Profile {saved.name!r} saved."

    context = {"profile": profile, "effective": profile.effective_rules() if profile else []}
    return _form_page(
        request,
        form,
        "distributions/profile_form.html",
        context,
        save,
        done=reverse("distributions:profiles"),
    )


@data_manager_required
def classify(request, delivery_pk: int):
    """GET: the preview (files per dataset, what matched nothing); POST: commit what was previewed."""
    delivery = services.get_delivery(delivery_pk)
    chosen = request.POST.get("profile") or request.GET.get("profile") or ""
    if chosen and not chosen.isdigit():
        raise UserError("Choose a profile from the list.")
    profile = get_object_or_404(Profile, pk=int(chosen)) if chosen else services.profile_for(delivery)
    if request.method == "POST":
        if profile is None:
            raise UserError("Choose a profile.")
        datasets = services.commit_classification(
            delivery, profile, request.user, expected=request.POST.get("fingerprint", ""), request=request
        )
        messages.success(request, f"Classified: {len(datasets)} datasets.")
        return redirect(f"{request.path}?profile={profile.pk}")
    result = services.preview(delivery, profile) if profile else None
    context = {
        "delivery": delivery,
        "profile": profile,
        "profiles": Profile.objects.filter(operator_id=delivery.cruise.operator_id),
        "result": result,
        "datasets": delivery.datasets.select_related("package"),
    }
    return render(request, "distributions/classify.html", context)


@require_POST
@data_manager_required
def package(request, pk: int):
    dataset = get_object_or_404(Dataset.objects.select_related("delivery"), pk=pk)
    services.request_packaging(dataset, request.user, request=request)
    messages.success(request, f"{dataset.label}: packaging queued; the worker submits it to the pipeline.")
    return redirect("distributions:classify", delivery_pk=dataset.delivery_id)


@require_POST
@data_manager_required
def deep_copy(request, delivery_pk: int):
    delivery = services.get_delivery(delivery_pk)
    deep.request_copy(delivery, user=request.user, request=request)
    messages.success(request, "Deep copy queued.")
    return redirect("cruises:detail", pk=delivery.cruise_id)


@require_POST
@data_manager_required
def deep_verify(request, delivery_pk: int):
    delivery = services.get_delivery(delivery_pk)
    if deep.deep_state(delivery) is None:
        raise Conflict("This delivery has no deep copy yet.")
    dispatch(tasks.verify_deep_copy, delivery.pk, request.user.pk)
    messages.success(request, "Verification of the deep copy queued.")
    return redirect("cruises:detail", pk=delivery.cruise_id)


@login_required
def restore_request(request, delivery_pk: int):
    delivery = services.get_delivery(delivery_pk)
    access.require_restore_requester(request.user, delivery.cruise)
    form = RestoreForm(request.POST or None)

    def save(data) -> str:
        deep.request_restore(delivery, request.user, **data, request=request)
        return "Restore requested; a data manager will carry it out."

    return _form_page(
        request,
        form,
        "distributions/restore_form.html",
        {"delivery": delivery},
        save,
        done=reverse("cruises:detail", kwargs={"pk": delivery.cruise_id}),
        errors=(UserError,),
    )


@require_POST
@data_manager_required
def restore_decide(request, pk: int):
    restore = get_object_or_404(RestoreRequest.objects.select_related("delivery"), pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("approve", "decline"):
        raise UserError("Approve or decline the restore.")
    deep.approve_restore(restore, request.user, approve=decision == "approve", request=request)
    messages.success(request, f"Restore {decision}d.")
    return redirect("cruises:detail", pk=restore.delivery.cruise_id)


@login_required
def accession(request, pk: int):
    """A data manager (or the archive's account) records the accession of a released dataset."""
    access.require_accession_reporter(request.user)
    dataset = get_object_or_404(Dataset.objects.select_related("package", "delivery__cruise"), pk=pk)
    form = AccessionForm(request.POST or None)

    def save(data) -> str:
        services.report_accession(dataset, request.user, **data, request=request)
        return "Accession recorded."

    return _form_page(
        request,
        form,
        "distributions/accession_form.html",
        {"dataset": dataset},
        save,
        done=reverse("cruises:detail", kwargs={"pk": dataset.delivery.cruise_id}),
    )


@require_POST
@data_manager_required
def cruise_doi(request, cruise_pk: int):
    cruise = access.get_cruise_for_user(request.user, cruise_pk)
    services.set_cruise_doi(cruise, request.user, doi=request.POST.get("doi", ""), request=request)
    messages.success(request, "Cruise DOI saved.")
    return redirect("cruises:detail", pk=cruise.pk)


@login_required
def bag_download(request, cruise_pk: int):
    """The cruise's distribution as a BagIt bag in a zip, streamed (no copy of the whole on disk or in
    memory). Only once marked for final migration (everything released: no held data in it)."""
    if not access.can_report_accession(request.user):
        raise Forbidden("Only a data manager or the national archive may download the distribution bag.")
    cruise = get_object_or_404(Cruise, pk=cruise_pk)
    distribution = services.distribution_of(cruise)
    if distribution.final_migration_at is None:
        reasons = services.pending_release(cruise)
        raise Conflict("Not ready for final migration: " + "; ".join(reasons) + ".")
    response = StreamingHttpResponse(
        zipstream.stream_zip(bag.zip_members(cruise)), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{services.bag_dir_name(cruise)}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-transform"
    return response


def _form_page(
    request,
    form,
    template: str,
    context: dict,
    save: Callable[[dict], str],
    *,
    done: str,
    errors: tuple[type[QuaysideError], ...] = (UserError, Conflict),
) -> HttpResponse:
    """The shape of this app's form pages: GET shows ``form``; a valid POST calls ``save(cleaned_data)``,
    which returns the success message, and redirects to ``done``. An invalid form answers 400; one of
    ``errors`` raised by ``save`` is shown on the form with its status (others reach the error pages).
    The forms' field names are the keyword arguments of the service verbs their ``save`` calls."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message = save(form.cleaned_data)
            except errors as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, message)
                return redirect(done)
        else:
            status = 400
    return render(request, template, {**context, "form": form}, status=status)
