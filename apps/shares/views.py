"""The share pages: ``/share/`` (drop files, title, licence, description), the draft (the proposed
attribute lists, then "Preview"), the share's own page (versions, edit history), its metadata edit and
new version, and the referral URI ``/id/<short id>`` with content negotiation."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views.decorators.http import require_http_methods, require_safe

from apps import access
from apps.access import roles
from apps.accounts.views import not_vetted_page
from apps.packages.models import Revision
from apps.publishing.crosswalks import metadata

from . import infer, services
from .forms import MetadataForm, ShareForm

BASKET_TOKEN = re.compile(r"[0-9a-f]{32}")
IRREVERSIBLE = (
    "Publishing makes this data public at once, for everyone, for good: it gets a DOI and cannot be "
    "deleted. You can still correct its description and publish new versions."
)


def _posted(request):
    """The POST data, or None on GET (an empty POST is still a submitted form: 400, not the blank page)."""
    return request.POST if request.method == "POST" else None


def _basket_token(request) -> str:
    """The page's basket for files dropped through the resumable drop zone: kept from the form on a POST
    (the same page), new on a GET."""
    token = request.POST.get("basket", "") if request.method == "POST" else ""
    return token if BASKET_TOKEN.fullmatch(token) else secrets.token_hex(16)


def _drop_zone(request) -> dict:
    token = _basket_token(request)
    return {"basket": token, "drop": {"share": token}}


def _sharer_or_403(request):
    if not roles.can_share(request.user):
        if roles.can_request_submitter(request.user):
            return not_vetted_page(
                request, "Only approved sharers may share data. Ask a data manager to approve you below."
            )
        services.require_sharer(request.user)
    return None


@login_required
@require_http_methods(["GET", "POST"])
def share(request):
    """The one share page: files, title, licence, description."""
    refused = _sharer_or_403(request)
    if refused:
        return refused
    form = ShareForm(_posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        draft = services.start_draft(
            request.user,
            [(f.name, f) for f in form.cleaned_data["files"]],
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            licence=form.cleaned_data["licence"],
            basket=_basket_token(request),
            request=request,
        )
        return redirect("shares:draft", pk=draft.pk)
    shares = request.user.shares.select_related("package")[:20]
    return render(
        request,
        "shares/share.html",
        {"form": form, "shares": shares, "irreversible": IRREVERSIBLE, **_drop_zone(request)},
        status=400 if form.errors else 200,
    )


def _corrections(post) -> dict[tuple[int, int], dict]:
    """``kind-<file>-<column>``, ``unit-…``, ``missing-…`` fields of the draft form."""
    found: dict[tuple[int, int], dict] = {}
    for key, value in post.items():
        field, _, rest = key.partition("-")
        if field not in ("kind", "unit", "missing") or rest.count("-") != 1:
            continue
        fi, ci = rest.split("-")
        if fi.isdigit() and ci.isdigit():
            found.setdefault((int(fi), int(ci)), {})[field] = value
    return found


@login_required
@require_http_methods(["GET", "POST"])
def draft(request, pk: int):
    """The proposed attribute list of every CSV (correct a type, add a unit or missing-value code), the
    metadata again, the warning that publishing is irreversible, and "Preview"."""
    found = services.get_draft_for_user(request.user, pk)
    if found.submission_id:
        return redirect("submissions:status", transaction=found.submission.transaction)
    form = MetadataForm(
        _posted(request),
        initial={"title": found.title, "description": found.description, "licence": found.licence},
    )
    if request.method == "POST" and form.is_valid():
        services.correct_attributes(found, _corrections(request.POST))
        found.title, found.description, found.licence = services.check_metadata(
            form.cleaned_data["title"], form.cleaned_data["description"], form.cleaned_data["licence"]
        )
        found.save(update_fields=["title", "description", "licence"])
        sub = services.submit_draft(found, user=request.user, request=request)
        return redirect("submissions:status", transaction=sub.transaction)
    context = {"draft": found, "form": form, "kinds": infer.KINDS, "irreversible": IRREVERSIBLE}
    return render(request, "shares/draft.html", context, status=400 if form.errors else 200)


@require_safe  # no DELETE, no POST: a share cannot be deleted (405)
def detail(request, short_id: str):
    """The share's page for its sharer: versions, the referral URI, edit history, new version."""
    found = access.get_share_for_user(request.user, short_id)
    editor = access.can_edit_share(request.user, found)
    revisions = access.visible_revisions(request.user, found.package.revisions.all()).order_by("-number")
    context = {
        "share": found,
        "editor": editor,
        "revisions": revisions,
        "edits": found.edits.select_related("user", "revision")[:50] if editor else [],
        "drafts": found.drafts.select_related("submission")[:20] if editor else [],
    }
    return render(request, "shares/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, short_id: str):
    """Edit the public metadata (title, description, licence): each save a revision with history."""
    found = access.get_share_for_user(request.user, short_id, write=True)
    current = services.latest_public(found)
    initial = {}
    if current is not None:
        initial = {"title": current.title, "description": current.abstract, "licence": current.licence}
    form = MetadataForm(_posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        done = services.edit_metadata(found, user=request.user, request=request, **form.cleaned_data)
        messages.success(request, "Saved; the DOI metadata follows." if done else "Nothing changed.")
        return redirect("shares:detail", short_id=found.short_id)
    context = {"share": found, "form": form, "current": current, "edits": found.edits.select_related("user")}
    return render(request, "shares/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def new_version(request, short_id: str):
    """A new version: keep files of the current one by reference, upload new or changed ones."""
    found = access.get_share_for_user(request.user, short_id, write=True)
    current = services.latest_public(found)
    files = services.current_files(found)
    initial = {}
    if current is not None:
        initial = {"title": current.title, "description": current.abstract, "licence": current.licence}
    form = ShareForm(_posted(request), request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        new = services.start_draft(
            request.user,
            [(f.name, f) for f in form.cleaned_data["files"]],
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            licence=form.cleaned_data["licence"],
            share=found,
            keep=request.POST.getlist("keep"),
            basket=_basket_token(request),
            request=request,
        )
        return redirect("shares:draft", pk=new.pk)
    context = {
        "share": found,
        "form": form,
        "files": files,
        "irreversible": IRREVERSIBLE,
        **_drop_zone(request),
    }
    return render(request, "shares/version.html", context, status=400 if form.errors else 200)


# --- the referral URI ---------------------------------------------------------------------------------

HTML = "text/html"
DATACITE = "application/vnd.datacite.datacite+xml"
JSONLD = "application/ld+json"
BIBTEX = "application/x-bibtex"
TORRENT = "application/x-bittorrent"
CSV = "text/csv"
JSON = "application/json"
OFFERED = [HTML, DATACITE, JSONLD, BIBTEX, TORRENT, CSV, JSON]


def _file_list(revision: Revision) -> list[dict]:
    from apps.publishing.landing.views import download_path

    return [
        {
            "name": e.object_name or e.name,
            "size": e.blob.size if e.blob_id else e.declared_size,
            "md5": e.blob.md5 if e.blob_id else e.declared_md5,
            "sha256": e.blob.sha256 if e.blob_id else "",
            "url": metadata.absolute(download_path(e)),
        }
        for e in revision.entities.select_related("blob", "revision__package").order_by("pk")
    ]


def _negotiated(response: HttpResponse) -> HttpResponse:
    response["Vary"] = "Accept"
    return response


@require_safe
def referral(request, short_id: str):
    """``/id/<short id>``: the landing page (303) for a browser; by ``Accept``, DataCite XML, schema.org
    JSON-LD, BibTeX, the torrent (303 to the version's torrent, 406 while the portal has none) or the file
    list (CSV or JSON) of the share's latest public version; 406 for anything else, as DOI content
    negotiation answers."""
    found = access.get_share_for_user(request.user, short_id)
    revisions = access.visible_revisions(request.user, found.package.revisions.all())
    revision = revisions.filter(state__in=Revision.CORRECTABLE).order_by("-number").first()
    if revision is None:  # only withdrawn/tainted (or not yet listed) versions: the tombstone, never data
        revision = revisions.order_by("-number").first()
        if revision is None:
            return _negotiated(HttpResponseRedirect(f"/share/{found.short_id}/"))
        if request.get_preferred_type(OFFERED) in (HTML, None) or not request.headers.get("Accept"):
            return _negotiated(HttpResponseRedirect(metadata.version_path(revision), status=303))
        return _negotiated(HttpResponse("This share was withdrawn.", status=410, content_type="text/plain"))
    accept = request.headers.get("Accept", "")
    chosen = request.get_preferred_type(OFFERED) if accept else HTML
    if chosen is None:
        return _negotiated(
            HttpResponse(
                f"Not acceptable; this URI offers: {', '.join(OFFERED)}.",
                status=406,
                content_type="text/plain",
            )
        )
    if chosen == HTML:
        response = HttpResponseRedirect(metadata.version_path(revision), status=303)
    elif chosen == DATACITE:
        response = HttpResponse(metadata.datacite_xml(revision), content_type=DATACITE)
    elif chosen == JSONLD:
        response = HttpResponse(json.dumps(metadata.jsonld(revision), indent=1), content_type=JSONLD)
    elif chosen == BIBTEX:
        response = HttpResponse(metadata.bibtex(revision), content_type=f"{BIBTEX}; charset=utf-8")
    elif chosen == TORRENT:
        response = _torrent(revision)
    elif chosen == CSV:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["name", "size", "md5", "sha256", "url"])
        writer.writeheader()
        writer.writerows(_file_list(revision))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        response = JsonResponse({"package_id": revision.package_id_text, "files": _file_list(revision)})
    return _negotiated(response)


def _torrent(revision: Revision) -> HttpResponse:
    """303 to ``/dataset/{scope}/{id}/{rev}/torrent`` once the portal serves torrents (the swarm's URL,
    added by its own app); 406 until then, so a client is never sent to a 404."""
    path = f"{metadata.version_path(revision)}torrent"
    try:
        resolve(path)
    except Resolver404:
        return HttpResponse("This portal serves no torrents yet.", status=406, content_type="text/plain")
    return HttpResponseRedirect(path, status=303)
