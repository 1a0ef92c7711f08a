"""The catalog over HTTP: ``stac.parquet`` (Range, ETag, Last-Modified), the STAC API-lite JSON, and the
data managers' mirror pages."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from apps import access
from apps.access.decorators import data_manager_required
from apps.packages.models import Revision
from apps.storage.http import blob_response, local_file_response
from portal.errors import UserError

from . import catalog_json, items, services
from .models import Deposit, Mirror

PARQUET = "application/vnd.apache.parquet"


def _json(document: dict, *, status: int = 200, content_type: str = "application/json") -> JsonResponse:
    response = JsonResponse(
        document, status=status, content_type=content_type, json_dumps_params={"ensure_ascii": False}
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def stac_parquet(request: HttpRequest) -> HttpResponse:
    """The catalog file as the last build left it; 503 while the first build has not finished."""
    response = local_file_response(
        request, services.catalog_path(), content_type=PARQUET, filename="stac.parquet"
    )
    if response is None:
        from portal.tasks import send

        from .tasks import refresh_catalog

        send(refresh_catalog)
        response = HttpResponse(
            "The catalog is being built; try again in a minute.\n", status=503, content_type="text/plain"
        )
        response["Retry-After"] = "60"
        return response
    response["Cache-Control"] = "public, max-age=60"
    return response


@require_safe
def manifest(request: HttpRequest, path: str) -> HttpResponse:
    """The build manifest of ``stac.parquet`` (``/catalog/manifests/stac.parquet.json``): the inputs it
    was made from, the configuration and the libraries; 404 before the first build."""
    artifact = access.get_catalog_manifest_for_user(request.user, path)
    response = blob_response(
        request, artifact.blob, filename=artifact.filename, content_type=artifact.media_type, inline=True
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_safe
def local_mirror(request: HttpRequest, path: str) -> HttpResponse:
    """A second local storage folder (``CATALOG_LOCAL_MIRROR_DIR``) served as a plain HTTP mirror: the
    demo's mirror, and a stand-in for a bucket on one machine. Anything it holds is public."""
    root = Path(settings.CATALOG_LOCAL_MIRROR_DIR).resolve()
    target = (root / path).resolve()
    if root not in target.parents:
        raise Http404("No such file.")
    response = local_file_response(
        request, target, content_type="application/octet-stream", filename=target.name
    )
    if response is None:
        raise Http404("No such file.")
    return response


@require_safe
def root(request: HttpRequest) -> JsonResponse:
    return _json(catalog_json.root_document())


@require_safe
def collections(request: HttpRequest) -> JsonResponse:
    documents = catalog_json.collection_documents()
    return _json(
        {
            "collections": documents,
            "links": [
                {"rel": "root", "href": items.catalog_url(), "type": "application/json"},
                {"rel": "self", "href": items.catalog_url("collections"), "type": "application/json"},
            ],
        }
    )


def _scope_exists(scope: str) -> None:
    if not Revision.objects.filter(package__scope=scope, state=Revision.State.PUBLISHED).exists():
        raise Http404("No such collection.")


@require_safe
def collection(request: HttpRequest, scope: str) -> JsonResponse:
    _scope_exists(scope)
    documents = [c for c in catalog_json.collection_documents() if c["id"] == scope]
    return _json(documents[0])


def _int(value: str | None, default: int, high: int) -> int:
    try:
        return max(0, min(int(value), high)) if value is not None else default
    except ValueError as exc:
        raise UserError(f"{value!r} is not a number.") from exc


@require_safe
def collection_items(request: HttpRequest, scope: str) -> JsonResponse:
    """The published versions of the scope as a FeatureCollection, ``limit`` (≤ 1000) from ``offset``."""
    _scope_exists(scope)
    limit = _int(request.GET.get("limit"), 100, 1000) or 1
    offset = _int(request.GET.get("offset"), 0, 10**9)
    qs = items.queryset().filter(package__scope=scope, state=Revision.State.PUBLISHED)
    page_pks = list(qs.values_list("pk", flat=True)[offset : offset + limit + 1])
    more = len(page_pks) > limit
    page_pks = page_pks[:limit]
    package_ids = set(Revision.objects.filter(pk__in=page_pks).values_list("package_id", flat=True))
    records = {
        r.pk: r
        for batch in items.iter_records(qs=items.queryset().filter(package_id__in=package_ids))
        for r in batch
    }
    base = items.collection_url(scope) + "/items"
    links = [
        {"rel": "root", "href": items.catalog_url(), "type": "application/json"},
        {"rel": "self", "href": f"{base}?limit={limit}&offset={offset}", "type": "application/geo+json"},
        {"rel": "collection", "href": items.collection_url(scope), "type": "application/json"},
    ]
    if more:
        links.append(
            {
                "rel": "next",
                "href": f"{base}?limit={limit}&offset={offset + limit}",
                "type": "application/geo+json",
            }
        )
    return _json(
        {
            "type": "FeatureCollection",
            "features": [items.to_item(records[pk]) for pk in page_pks if pk in records],
            "links": links,
            "numberReturned": len(page_pks),
        },
        content_type="application/geo+json",
    )


@require_safe
def item(request: HttpRequest, scope: str, item_id: str) -> JsonResponse:
    """One published version's item; a withdrawn or tainted one answers 410 Gone (it stays a tombstone row
    in stac.parquet), a held or unknown one 404."""
    try:
        _, identifier, number = item_id.rsplit(".", 2)
        revision = Revision.objects.select_related("package").get(
            package__scope=scope, package__identifier=int(identifier), number=int(number)
        )
    except (ValueError, Revision.DoesNotExist) as exc:
        raise Http404("No such item.") from exc
    if revision.state in Revision.TOMBSTONED:
        return _json({"id": item_id, "quayside:status": revision.state}, status=410)
    if revision.state != Revision.State.PUBLISHED:
        raise Http404("No such item.")
    record = next(r for r in items.records_of_package(revision.package_id) if r.pk == revision.pk)
    return _json(items.to_item(record), content_type="application/geo+json")


# --- data managers: mirrors and deposits -----------------------------------------------------------


class MirrorForm(forms.Form):
    kind = forms.ChoiceField(choices=Mirror.Kind.choices)
    base_url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="Base URL (the folder holding the version's files by their paths)",
    )
    file_path = forms.CharField(required=False, max_length=500, label="…or one file: its path in the tree")
    file_url = forms.URLField(
        required=False, max_length=1000, assume_scheme="https", label="and its URL on the mirror"
    )
    record_url = forms.URLField(
        required=False, max_length=1000, assume_scheme="https", label="Record page (optional)"
    )
    label = forms.CharField(required=False, max_length=200)


def _version(request, scope: str, identifier: int, number: int) -> Revision:
    revision, _ = access.get_dataset_version_for_user(request.user, scope, identifier, number)
    return revision


@data_manager_required
def version_mirrors(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    revision = _version(request, scope, identifier, number)
    form = MirrorForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            file_urls = (
                {data["file_path"]: data["file_url"]} if data["file_path"] and data["file_url"] else {}
            )
            try:
                services.register_mirror(
                    revision,
                    kind=data["kind"],
                    base_url=data["base_url"],
                    file_urls=file_urls,
                    record_url=data["record_url"],
                    label=data["label"],
                    user=request.user,
                    request=request,
                )
            except UserError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Mirror registered; its first check is queued.")
                return redirect(request.path)
        status = 400
    context = {
        "revision": revision,
        "form": form,
        "mirrors": Mirror.objects.filter(revision=revision).prefetch_related("checks"),
        "deposits": Deposit.objects.filter(revision=revision),
    }
    return render(request, "catalog/mirrors.html", context, status=status)


@require_POST
@data_manager_required
def deposit(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    revision = _version(request, scope, identifier, number)
    try:
        services.request_deposit(revision, user=request.user, request=request)
    except UserError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Deposit queued.")
    return redirect("catalog:version-mirrors", scope=scope, identifier=identifier, number=number)


@data_manager_required
def mirror_detail(request: HttpRequest, pk: int) -> HttpResponse:
    mirror = get_object_or_404(Mirror.objects.select_related("revision__package"), pk=pk)
    return render(request, "catalog/mirror.html", {"mirror": mirror, "checks": mirror.checks.all()[:50]})


@require_POST
@data_manager_required
def mirror_check(request: HttpRequest, pk: int) -> HttpResponse:
    from portal.tasks import send

    from .tasks import verify_mirror

    mirror = get_object_or_404(Mirror, pk=pk)
    send(verify_mirror, mirror.pk, request.POST.get("full") == "1")
    messages.success(request, "Check queued.")
    return redirect("catalog:mirror", pk=mirror.pk)
