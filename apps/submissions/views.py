"""Submission pages: the submit form, a live status page (JSON polled by a small script; meta refresh
without JS) and the quality report of a submission."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps import access
from apps.access import roles
from apps.access.decorators import data_manager_required
from apps.accounts.views import not_vetted_page
from apps.packages import quality

from . import services
from .forms import SubmitForm
from .models import Step, Submission
from .status import status_payload


def submit(request):
    # The Gatekeeper records an audit event for every refusal; the web answers with the sign-in page
    # for anonymous visitors (where the API answers 401) and 403 for users who are not vetted.
    try:
        services.gatekeeper(request.user, method="submitPage", request=request)
    except services.NotAllowed as exc:
        if exc.status == 401:
            return redirect_to_login(request.get_full_path())
        if roles.can_request_submitter(request.user):  # 403 with a way forward: ask to be vetted
            return not_vetted_page(request, str(exc))
        raise PermissionDenied(str(exc)) from exc
    form = SubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        eml = form.cleaned_data["eml"]
        kind = form.cleaned_data["kind"]
        scope = identifier = None
        if kind == Submission.Kind.UPDATE:
            peek = services._peek_package_id(eml.read())
            eml.seek(0)
            try:
                ref = services.parse_package_id(peek)
                scope, identifier = ref.scope, ref.identifier
            except services.PolicyError:
                pass  # the validate step reports the bad packageId
        sub = services.submit(
            request.user,
            eml.read(),
            kind=kind,
            files=[(f.name, f) for f in form.cleaned_data["data"]],
            scope=scope,
            identifier=identifier,
            request=request,
            filename=eml.name,
        )
        return redirect("submissions:status", transaction=sub.transaction)
    recent = Submission.objects.filter(user=request.user).select_related("revision")[:20]
    return render(request, "submissions/submit.html", {"form": form, "recent": recent})


@never_cache
def status(request, transaction: str):
    sub = access.get_submission_for_user(request.user, transaction)
    can_retry = sub.state == Submission.State.FAILED and roles.is_data_manager(request.user)
    # Once archived, the revision has its public landing page (held ones too: their metadata is public).
    revision = sub.revision if sub.kind != Submission.Kind.EVALUATE else None
    landing = revision is not None and revision.state in access.listed_states()
    context = {"sub": sub, "steps": sub.steps.all(), "can_retry": can_retry, "landing": landing}
    return render(request, "submissions/status.html", context)


@require_POST
@data_manager_required
def retry(request, transaction: str):
    """A data manager's "retry from the failed step" (audited by the service)."""
    sub = access.get_submission_for_user(request.user, transaction)
    try:
        services.retry_from_failed_step(sub, user=request.user, request=request)
        messages.success(request, "The submission runs again from its failed step.")
    except services.PolicyError as exc:
        messages.error(request, str(exc))
    return redirect("submissions:status", transaction=sub.transaction)


@never_cache
@data_manager_required
def pipeline(request):
    """The data manager's view of background work: queue lag, steps in progress, failed submissions,
    archived blobs still without their deep copy."""
    from apps.storage.services import deep_backlog

    active = (
        Step.objects.filter(state__in=services.ACTIVE_STEP_STATES, due_at__isnull=False)
        .select_related("submission")
        .order_by("due_at")[:100]
    )
    failed = Submission.objects.filter(state=Submission.State.FAILED).select_related("user")[:50]
    context = {
        "queue": services.queue_lag(),
        "active": active,
        "failed": failed,
        "deep_backlog": deep_backlog().count(),
    }
    return render(request, "submissions/pipeline.html", context)


@never_cache
def status_json(request, transaction: str):
    return JsonResponse(status_payload(access.get_submission_for_user(request.user, transaction)))


def report(request, transaction: str):
    sub = access.get_submission_for_user(request.user, transaction)
    if not sub.report_xml:
        raise Http404("This submission has no report yet.")
    return render(request, "packages/report.html", {"report": quality.from_xml(sub.report_xml), "sub": sub})
