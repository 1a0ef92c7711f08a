import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header

from apps import access
from apps.access import can_see, roles, visible_revisions
from apps.storage.http import blob_response

from . import extensions, kept, sailing_orders, services
from .forms import CruiseCreateForm, CruiseEditForm, DesignateForm, LinkPackageForm, SailingOrdersUploadForm
from .models import Cruise, Vessel

logger = logging.getLogger(__name__)


def cruise_list(request):
    # Index: Cruise.Meta ordering (-departure_date, cruise_id); filter by vessel uses the FK index.
    qs = Cruise.objects.select_related("vessel", "operator", "departure_port", "arrival_port")
    vessel = request.GET.get("vessel", "")
    state = request.GET.get("state", "")
    q = request.GET.get("q", "").strip()
    if vessel:
        qs = qs.filter(vessel__code=vessel)
    if state in Cruise.State.values:
        qs = qs.filter(state=state)
    if q:
        qs = qs.filter(cruise_id__icontains=q) | qs.filter(mission_summary__icontains=q)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cruises/cruise_list.html",
        {
            "page": page,
            "query": query.urlencode(),
            "vessels": Vessel.objects.all(),
            "states": Cruise.State.choices,
            "vessel": vessel,
            "state": state,
            "q": q,
            "can_create": access.can_file_sailing_orders(request.user),
        },
    )


def vessel_list(request):
    vessels = Vessel.objects.select_related("operator").order_by("name")
    return render(request, "cruises/vessel_list.html", {"vessels": vessels})


@login_required
def cruise_create(request):
    vessels = services.vessels_filable_by(request.user)
    if not vessels.exists():
        raise PermissionDenied("Only a vessel operator's staff may create cruise records.")
    form = CruiseCreateForm(request.POST or None, vessels=vessels)
    if request.method == "POST" and form.is_valid():
        awards = []
        if form.cleaned_data.get("award_funder"):
            awards.append(
                {"funder": form.cleaned_data["award_funder"], "number": form.cleaned_data["award_number"]}
            )
        cruise = services.create_cruise(
            request.user,
            fields=form.cruise_fields(),
            chief_name=form.cleaned_data["chief_name"],
            chief_email=form.cleaned_data["chief_email"],
            awards=awards,
            request=request,
        )
        messages.success(request, f"Cruise {cruise.cruise_id} created.")
        return redirect("cruises:detail", pk=cruise.pk)
    return render(request, "cruises/cruise_form.html", {"form": form, "title": "New cruise record"})


@login_required
def cruise_import(request):
    """Upload sailing orders. A refused document is kept (``kept``) and offered again with every problem
    listed, so the person fixes what is wrong without choosing the file again."""
    if not access.can_file_sailing_orders(request.user):
        raise PermissionDenied(services.ONLY_OPERATORS_FILE)
    form = SailingOrdersUploadForm(
        request.POST or None, request.FILES or None, kept_name=kept.kept_name(request)
    )
    errors = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["document"]
        if upload:
            name, data = upload.name, upload.read(sailing_orders.MAX_BYTES + 1)
        else:
            name, data = kept.load(request)
        try:
            cruise = services.ingest_sailing_orders(data, request.user, source="upload", request=request)
        except sailing_orders.SailingOrdersError as exc:
            errors = exc.errors
            kept.keep(request, name, data)
            form = SailingOrdersUploadForm(kept_name=name)
        else:
            kept.drop(request)
            messages.success(request, f"Cruise {cruise.cruise_id} created from the sailing orders.")
            return redirect("cruises:detail", pk=cruise.pk)
    return render(
        request,
        "cruises/cruise_import.html",
        {"form": form, "errors": errors},
        status=400 if errors or form.errors else 200,
    )


def sailing_orders_example(request):
    """A valid sailing-orders document to start from; for someone who files sailing orders, it names a
    vessel they operate, so it imports as it is once the cruise id is new."""
    vessel = services.vessels_filable_by(request.user).select_related("operator").order_by("code").first()
    response = HttpResponse(
        sailing_orders.example_document(vessel), content_type="application/xml; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, "sailing-orders-example.xml")
    return response


def cruise_detail(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk)
    my_roles = access.cruise_roles(request.user, cruise)
    party = cruise.members.select_related("user")
    revisions = []
    listed = access.listed_states()  # the revisions that have a landing page
    for package in cruise.packages.all():
        latest = visible_revisions(request.user, package.revisions.all()).order_by("-number").first()
        if latest is not None:
            revisions.append({"revision": latest, "hold": None, "landing": latest.state in listed})
    files = [f for f in cruise.files.all() if can_see(request.user, f)]
    context = {
        "cruise": cruise,
        "party": party,
        "awards": cruise.awards.all(),
        "files": files,
        "datasets": revisions,
        "my_roles": my_roles,
        "is_party": bool(my_roles),
        "can_edit": access.can_edit_cruise(request.user, cruise),
        "can_designate": access.can_designate_staff(request.user, cruise),
        "is_chief": access.is_chief_scientist(request.user, cruise),
        "is_data_manager": roles.is_data_manager(request.user),
        "can_review": bool({"operator", "chief_scientist", "data_manager"} & my_roles),
        "can_see_log": can_see(request.user, cruise, "eventlog"),
    }
    # Event logs, reviews and holds add their parts (apps.cruises.extensions).
    for add_context in extensions.page_context:
        add_context(request, cruise, context)
    return render(request, "cruises/cruise_detail.html", context)


@login_required
def cruise_edit(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk, write=True)
    form = CruiseEditForm(request.POST or None, instance=Cruise.objects.get(pk=cruise.pk))
    if request.method == "POST" and form.is_valid():
        changed = services.edit_cruise(cruise, form.changes(), request.user, request=request)
        messages.success(request, "Saved." if changed else "Nothing changed.")
        return redirect("cruises:detail", pk=cruise.pk)
    return render(
        request,
        "cruises/cruise_form.html",
        {"form": form, "cruise": cruise, "title": f"Edit {cruise.cruise_id}"},
    )


def sailing_orders_xml(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk)
    response = HttpResponse(
        sailing_orders.build(cruise, with_emails=can_see(request.user, cruise, "party")),
        content_type="application/xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'inline; filename="{cruise.cruise_id}-sailing-orders.xml"'
    return response


def operations_report(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk)
    pdf_url = reverse("cruises:report_pdf", args=[cruise.pk]) if sailing_orders.pdf_available() else ""
    html = sailing_orders.operations_report(
        cruise, pdf_url=pdf_url, with_open_log=can_see(request.user, cruise, "eventlog")
    )
    return HttpResponse(html, content_type="text/html; charset=utf-8")


def operations_report_pdf(request, pk: int):
    # The same rule as the HTML report: cruise records are public.
    cruise = access.get_cruise_for_user(request.user, pk)
    try:
        pdf = sailing_orders.operations_report_pdf(
            cruise, with_open_log=can_see(request.user, cruise, "eventlog")
        )
    except sailing_orders.PdfUnavailable as exc:
        logger.warning("Operations report PDF unavailable: %s", exc)
        html_url = reverse("cruises:report", args=[cruise.pk])
        return HttpResponse(
            "The PDF version of the Operations Report needs the Pango library (Debian packages libpango-1.0-0 and "
            "libpangoft2-1.0-0) and WeasyPrint, which this server does not have.\n"
            f"The HTML report at {html_url} prints fine: use your browser's Print or Save as PDF.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    # cruise_id is free text: let Django quote (or RFC 5987-encode) the filename.
    response["Content-Disposition"] = content_disposition_header(
        False, f"{cruise.cruise_id}-operations-report.pdf"
    )
    return response


@login_required
def designate(request, pk: int):
    cruise = access.get_cruise_for_user(request.user, pk)
    access.require_staff_designator(request.user, cruise)
    form = DesignateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.designate_member(cruise, request.user, request=request, **form.cleaned_data)
        except ValueError as exc:
            form.add_error("email", str(exc))
        else:
            messages.success(
                request,
                f"{member.email} designated" + ("." if member.user_id else "; an invitation was sent."),
            )
            return redirect("cruises:designate", pk=cruise.pk)
    return render(
        request,
        "cruises/designate.html",
        {"cruise": cruise, "form": form, "members": cruise.members.select_related("user")},
    )


@login_required
def accept_invitation(request, token: str):
    if request.method == "POST":
        try:
            member = services.accept_invitation(token, request.user, request=request)
        except ValueError as exc:
            return render(request, "cruises/invitation.html", {"error": str(exc)}, status=400)
        messages.success(
            request, f"You are now {member.get_role_display().lower()} of {member.cruise.cruise_id}."
        )
        return redirect("cruises:detail", pk=member.cruise_id)
    return render(request, "cruises/invitation.html", {"token": token})


@login_required
def link_package(request, pk: int):
    from apps.packages.models import Package

    access.require_data_manager(request.user)
    cruise = access.get_cruise_for_user(request.user, pk)
    form = LinkPackageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        scope, _, ident = form.cleaned_data["package_id"].strip().rpartition(".")
        package = Package.objects.filter(
            scope=scope, identifier=int(ident) if ident.isdigit() else -1
        ).first()
        if package is None:
            form.add_error("package_id", "No package with this id (scope.identifier).")
        else:
            services.link_package(cruise, package, request.user, request=request)
            messages.success(request, f"{package.package_key} linked to {cruise.cruise_id}.")
            return redirect("cruises:detail", pk=cruise.pk)
    return render(
        request,
        "cruises/link_package.html",
        {"cruise": cruise, "form": form, "linked": cruise.packages.all()},
    )


def file_download(request, pk: int, file_pk: int, filename: str):
    f = access.get_cruise_file_for_user(request.user, pk, file_pk, filename)
    return blob_response(request, f.blob, filename=f.filename, content_type=f.content_type)


def schema(request):
    return HttpResponse(
        sailing_orders.SCHEMA_PATH.read_bytes(), content_type="application/xml; charset=utf-8"
    )
