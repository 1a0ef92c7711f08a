"""Landing pages, exports, downloads, the local DOI resolver, and a data manager's withdrawal and correction."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from lxml import etree

from apps import access
from apps.access import can_see, roles
from apps.access.decorators import data_manager_required
from apps.artifacts.services import artifacts_for
from apps.artifacts.services import download_path as artifact_path
from apps.holds.models import Hold
from apps.packages.models import Resource, Revision
from portal.errors import Gone

from .. import extensions, services
from ..crosswalks import metadata
from ..files import VersionFile, latest_path, named_path, version_files
from ..models import Doi, concept_doi_name, version_doi_name
from . import zipstream

EXPORTS = {
    "datacite.xml": "application/vnd.datacite.datacite+xml",
    "eml.xml": "application/xml",
    "oai_dc.xml": "application/xml",
    "jsonld": "application/ld+json",
    "bibtex": "application/x-bibtex",
}

# The export links on the landing page, by the name people know them by.
EXPORTS_SHOWN = [
    ("datacite.xml", "DataCite XML"),
    ("eml.xml", "EML 2.2"),
    ("oai_dc.xml", "Dublin Core"),
    ("jsonld", "schema.org JSON-LD"),
    ("bibtex", "BibTeX"),
]


# --- landing pages ------------------------------------------------------------------------------


def download_path(entity) -> str:
    revision = entity.revision
    return f"{metadata.version_path(revision)}files/{entity.pk}"


def _alternates(revision: Revision, files: list[VersionFile], see_data: bool) -> dict[int, dict]:
    """Each table's Parquet alternate and its build manifest, by entity: shown beside the file.
    ``files`` is the version's ``version_files``."""
    if not see_data:
        return {}
    package = revision.package
    named = {
        f.artifact_pk: named_path(package.scope, package.identifier, revision.number, f.path) for f in files
    }
    latest = {f.artifact_pk: latest_path(package.scope, package.identifier, f.path) for f in files}
    return {
        a.entity_id: {
            "url": named.get(a.pk) or artifact_path(a),
            "latest_url": latest.get(a.pk, ""),
            "size": a.blob.size,
            "sha256": a.blob.sha256,
            "manifest_url": (named.get(a.manifest_id) or artifact_path(a.manifest)) if a.manifest_id else "",
        }
        for a in artifacts_for(revision)
        if a.kind == "parquet" and a.entity_id
    }


def _with_alternates(entities: list[tuple], alternates: dict[int, dict]) -> list[tuple]:
    for entity, *_ in entities:
        entity.alternate = alternates.get(entity.pk)
    return entities


def _signposting(revision: Revision, files: list[VersionFile], *, concept: bool) -> str:
    """The signposting ``Link`` header; ``files`` is the version's ``version_files``."""
    export_base = metadata.absolute(metadata.version_path(revision)) + "export/"
    cite = metadata.doi_url(concept_doi_name(revision.package) if concept else version_doi_name(revision))
    links = [
        f'<{cite}>; rel="cite-as"',
        '<https://schema.org/Dataset>; rel="type"',
        f'<{export_base}datacite.xml>; rel="describedby"; type="application/vnd.datacite.datacite+xml"',
        f'<{export_base}jsonld>; rel="describedby"; type="application/ld+json"',
    ]
    if revision.state == Revision.State.PUBLISHED:
        for entity in revision.entities.all():
            links.append(
                f'<{metadata.absolute(download_path(entity))}>; rel="item"; type="{entity.mime_type or "application/octet-stream"}"'
            )
        # Each table's Parquet alternate is an item too (FAIR signposting: the content of this landing page),
        # by its name in the version's tree.
        package = revision.package
        for f in files:
            if f.alternate_of:
                url = named_path(package.scope, package.identifier, revision.number, f.path)
                links.append(f'<{metadata.absolute(url)}>; rel="item"; type="{f.media_type}"')
    return ", ".join(links)


def _r(v: float) -> float:
    # Two decimals are far below a pixel on the map, and keep 90 - 41.3 from printing as 48.699999999999996.
    return round(v, 2)


def coverage_map(revision: Revision) -> dict | None:
    """The coverage map's geometry in the equirectangular viewBox 0 0 360 180 (x = lon + 180, y = 90 - lat),
    drawn over the inline Natural Earth land path; no tiles, works offline.

    ``boxes`` holds one rect, or two when the box crosses the antimeridian (west > east); a point
    (west == east and south == north) has no box, only ``point`` set and the marker at ``cx``/``cy``."""
    bbox = metadata.bbox_of(revision)
    if not bbox:
        return None
    w, s, e, n = bbox

    point = w == e and s == n
    # A box too thin to see is widened to 1.5 units (a few pixels) from its west/north edge.
    height = max(n - s, 1.5)
    if point:
        spans = []
    elif w <= e:
        spans = [(w + 180, max(e - w, 1.5))]
    else:
        # Across the antimeridian: from the west edge to the map's right side, and from its left side to the
        # east edge. A zero-width piece (an edge on ±180) is left out.
        spans = [(x, wd) for x, wd in ((w + 180, 180 - w), (0, e + 180)) if wd > 0]
    width = (e - w) if e >= w else (e - w + 360)
    return {
        "sites": _map_sites(revision.coverage or {}),
        "boxes": [{"x": _r(x), "y": _r(90 - n), "width": _r(wd), "height": _r(height)} for x, wd in spans],
        "point": point,
        "w": w,
        "s": s,
        "e": e,
        "n": n,
        "cx": _r((w + 180 + width / 2) % 360),
        "cy": _r(90 - (n + s) / 2),
        "meridians": range(0, 361, 30),
        "parallels": range(0, 181, 30),
    }


# Sites the map marks one by one (beyond that the union box says enough).
MAP_SITES = 200


def _map_sites(coverage: dict) -> list[dict]:
    """A coverage's EML sites on the map: a marker for a station (``x``/``y``), an outline for an area (its
    G-ring, or its box, as SVG ``points``); an area across the antimeridian is left to the union box."""
    out = []
    for site in (coverage.get("sites") or [])[:MAP_SITES]:
        box = metadata.coverage_bbox(site)
        if box is None:
            continue
        w, s, e, n = box
        label = site.get("description") or ""
        if w == e and s == n:
            out.append({"x": _r(w + 180), "y": _r(90 - s), "label": label})
            continue
        ring = site.get("polygon") or ([[w, s], [e, s], [e, n], [w, n]] if w <= e else None)
        if ring and max(x for x, _ in ring) - min(x for x, _ in ring) <= 180:
            points = " ".join(f"{_r(float(x) + 180)},{_r(90 - float(y))}" for x, y in ring)
            out.append({"points": points, "label": label})
    return out


_map = coverage_map  # the name tests/publishing/test_map.py knows


def _dataset_version(request: HttpRequest, scope: str, identifier: int, number: int | None):
    """The version the visitor may see (apps.access decides), with everything the record builders read."""
    return access.get_dataset_version_for_user(
        request.user, scope, identifier, number, queryset=metadata.with_record_relations(Revision.objects)
    )


def _quality_report_url(revision: Revision) -> str:
    """The readable (HTML) quality report, or "" when the revision has none (it did not come through the
    pipeline): the landing page then shows no link rather than one that answers 404."""
    if not revision.resources.filter(resource_type=Resource.Type.REPORT, blob__isnull=False).exists():
        return ""
    return reverse(
        "packages:report", args=[revision.package.scope, revision.package.identifier, revision.number]
    )


def _file_rows(revision: Revision, files: list[VersionFile]) -> list[tuple]:
    """(entity, size, entity-id URL, named URL, latest URL) per entity: the named paths come from the one
    file listing (``files``, the version's ``version_files``); an entity without bytes has neither."""
    package = revision.package
    by_entity = {f.entity_pk: f for f in files}
    rows = []
    for e in revision.entities.all():
        f = by_entity.get(e.pk)
        named = named_path(package.scope, package.identifier, revision.number, f.path) if f else ""
        latest = latest_path(package.scope, package.identifier, f.path) if f else ""
        rows.append((e, metadata.entity_size(e), download_path(e), named, latest))
    return rows


def _mirrors(revision: Revision) -> list:
    """Registered mirrors of this version (apps.catalog sits above publishing: looked up by name)."""
    from django.apps import apps as django_apps

    if not django_apps.is_installed("apps.catalog") or revision.state != Revision.State.PUBLISHED:
        return []
    Mirror = django_apps.get_model("catalog", "Mirror")
    return list(Mirror.objects.filter(revision=revision).order_by("pk"))


def _newer_version(revision: Revision, versions: list[Revision]) -> Revision | None:
    """The newest published version when it is newer than ``revision`` (as Zenodo says "A newer version
    of this record is available"); ``versions`` are the visible ones, newest first."""
    newest = next((v for v in versions if v.state == Revision.State.PUBLISHED), None)
    if newest is None or newest.number <= revision.number:
        return None
    return newest


def _landing(request: HttpRequest, scope: str, identifier: int, number: int | None) -> HttpResponse:
    revision, versions = _dataset_version(request, scope, identifier, number)
    concept = number is None
    package = revision.package
    see_data = can_see(request.user, revision, "data")
    hold = None
    if revision.state == Revision.State.HELD:
        hold = Hold.objects.covering(revision).first()
    version_doi = Doi.objects.filter(revision=revision).first()
    concept_doi = Doi.objects.filter(package=package, kind=Doi.Kind.CONCEPT).first()
    gone = revision.state in metadata.GONE_STATES
    page_url = metadata.absolute(
        metadata.dataset_path(package) if concept else metadata.version_path(revision)
    )
    cited_doi = "" if revision.state == Revision.State.HELD else version_doi_name(revision)
    # The version's file listing, built once: the file rows, the Parquet alternates and the signposting
    # header all name files by their path in it.
    files = version_files(revision)
    context = {
        "newer_version": None if concept else _newer_version(revision, versions),
        "revision": revision,
        "package": package,
        "versions": versions,
        "concept": concept,
        "gone": gone,
        "see_data": see_data and revision.state != Revision.State.TAINTED,
        "hold": hold,
        "entities": _with_alternates(
            _file_rows(revision, files),
            _alternates(revision, files, see_data and revision.state != Revision.State.TAINTED),
        ),
        "mirrors": _mirrors(revision),
        "creators": metadata.creators_of(revision),
        "citations": metadata.citations(revision),
        "bibtex": metadata.bibtex(revision),
        "map": coverage_map(revision),
        "version_doi_name": version_doi_name(revision),
        "concept_doi_name": concept_doi_name(package),
        "version_doi": version_doi,
        "concept_doi": concept_doi,
        "jsonld": metadata.jsonld_script(revision, download_url=download_path),
        "latest_url": metadata.dataset_path(package),
        "version_url": metadata.version_path(revision),
        "is_data_manager": roles.is_data_manager(request.user),
        "quality_report_url": _quality_report_url(revision),
        "exports": [(f, label) for f, label in EXPORTS_SHOWN if f != "eml.xml" or revision.eml_blob_id],
        "coverage": revision.coverage or {},
        "licence_url": metadata.licence_url(revision),
        "total_size": metadata.total_size(revision),
        "download_all_url": f"{metadata.version_path(revision)}files.zip",
        "scholar_meta": metadata.scholar_meta(revision, doi=cited_doi),
        "open_graph": metadata.open_graph(revision, url=page_url),
        "extra_links": [link for links in extensions.landing_links for link in links(revision)],
    }
    template = "publishing/tombstone.html" if gone else "publishing/landing.html"
    # A tombstone is "410 Gone" with its page: the version existed and is withdrawn for good.
    response = render(request, template, context, status=410 if gone else 200)
    response["Link"] = _signposting(revision, files, concept=concept)
    return response


def dataset_latest(request: HttpRequest, scope: str, identifier: int) -> HttpResponse:
    return _landing(request, scope, identifier, None)


def dataset_version(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    return _landing(request, scope, identifier, number)


def export(request: HttpRequest, scope: str, identifier: int, number: int, fmt: str) -> HttpResponse:
    if fmt not in EXPORTS:
        raise Http404("Unknown export format; try " + ", ".join(EXPORTS))
    revision, _ = _dataset_version(request, scope, identifier, number)
    if fmt == "datacite.xml":
        body = metadata.datacite_xml(revision)
    elif fmt == "eml.xml":
        body = metadata.eml_bytes(revision)
        if body is None:
            raise Http404("No EML document is stored for this version.")
    elif fmt == "oai_dc.xml":
        body = etree.tostring(
            metadata.oai_dc_element(revision), xml_declaration=True, encoding="UTF-8", pretty_print=True
        )
    elif fmt == "jsonld":
        return JsonResponse(
            metadata.jsonld(revision, download_url=download_path),
            content_type=EXPORTS[fmt],
            json_dumps_params={"indent": 2, "ensure_ascii": False},
        )
    else:
        body = metadata.bibtex(revision).encode()
    response = HttpResponse(body, content_type=f"{EXPORTS[fmt]}; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{revision.package_id_text}.{fmt}"'
    return response


def _gone_if_removed(blob) -> None:
    """Bytes removed on purpose (a tainted version's) answer 410 whoever asks: the tombstone already
    says publicly that they were removed, and 410 tells mirrors and web-seed clients to stop retrying."""
    if blob is not None and blob.removed_at:
        raise Gone("This file was removed.")


def download(request: HttpRequest, scope: str, identifier: int, number: int, entity_id: int) -> HttpResponse:
    from apps.storage.http import blob_response

    revision, _ = _dataset_version(request, scope, identifier, number)
    entity = next((e for e in revision.entities.all() if e.pk == entity_id), None)
    if entity is None:
        raise Http404("No such file in this version.")
    _gone_if_removed(entity.blob)
    if not can_see(request.user, entity, "data") or entity.blob_id is None:
        raise PermissionDenied("This file is not available to you (held, withdrawn or removed).")
    return blob_response(
        request,
        entity.blob,
        filename=entity.object_name or entity.name,
        content_type=entity.mime_type or None,
    )


def named_file(request: HttpRequest, scope: str, identifier: int, number: int, tree: str, path: str):
    """A file by its path in the version's tree (``apps.publishing.files``), the URL BitTorrent web seeds
    use: ``/dataset/{scope}/{id}/{n}/{scope}.{id}.{n}/{path}``. The same access rule as ``download``;
    Range, ETag (the SHA-256), Last-Modified; HEAD answers the headers only."""
    from django.utils.http import http_date

    from apps.storage.http import blob_response

    from ..files import find_file, tree_name

    if tree != tree_name(scope, identifier, number):
        raise Http404("No such file tree; it is named scope.identifier.revision.")
    revision, _ = _dataset_version(request, scope, identifier, number)
    found = find_file(revision, path)
    if found is None:
        raise Http404("No such file in this version.")
    if found.artifact_pk is not None:
        # A derived file: the artifact's own rule (403 for held, withdrawn and tainted versions' data).
        found = found._replace(
            blob=access.get_artifact_for_user(request.user, scope, identifier, number, found.artifact_pk).blob
        )
    else:
        entity = next((e for e in revision.entities.all() if e.pk == found.entity_pk), None)
        subject = entity if entity is not None else revision
        _gone_if_removed(found.blob)
        if not can_see(request.user, subject, "data") or found.blob is None:
            raise PermissionDenied("This file is not available to you (held, withdrawn or removed).")
    response = blob_response(
        request, found.blob, filename=path.rsplit("/", 1)[-1], content_type=found.media_type
    )
    modified = revision.published_at or revision.archived_at or found.blob.created_at
    response["Last-Modified"] = http_date(modified.timestamp())
    if request.method == "HEAD":
        head = HttpResponse(status=response.status_code)
        for name, value in response.items():
            head[name] = value
        # The body's generator was never started, so nothing is open; ``response.close()`` would send
        # request_finished (closing the database connection mid-request), so it is not called.
        return head
    return response


def latest_file(request: HttpRequest, scope: str, identifier: int, path: str) -> HttpResponse:
    """302 to the newest *public* version's file of this name (Data for Canada's "the endpoint serves the
    latest version"); 404 when that version has no such file — never an older version's."""
    from ..files import find_file, named_path

    newest = (
        Revision.objects.filter(
            package__scope=scope, package__identifier=identifier, state=Revision.State.PUBLISHED
        )
        .select_related("package")
        .prefetch_related("entities__blob")
        .order_by("-number")
        .first()
    )
    if newest is None:
        raise Http404("This dataset has no public version.")
    if find_file(newest, path) is None:
        raise Http404(f"The latest version ({newest.number}) has no file named {path}.")
    response = redirect(named_path(scope, identifier, newest.number, path))
    response["Cache-Control"] = "no-cache"
    return response


def download_all(request: HttpRequest, scope: str, identifier: int, number: int) -> StreamingHttpResponse:
    """Every file of the version in one zip, streamed (see ``zipstream``): the same access rule as each
    file's own download, no Range (a client that must resume fetches the files one by one)."""
    from apps.storage.services import iter_range

    revision, _ = _dataset_version(request, scope, identifier, number)
    entities = list(revision.entities.all())
    if not entities:
        raise Http404("This version has no files.")
    for e in entities:
        _gone_if_removed(e.blob)
    if not all(can_see(request.user, e, "data") and e.blob_id for e in entities):
        raise PermissionDenied("These files are not available to you (held, withdrawn or removed).")
    names = zipstream.unique_names(
        (e.object_name or e.name for e in entities), folder=revision.package_id_text
    )
    members = [
        zipstream.Member(
            name=name,
            size=e.blob.size,
            chunks=(lambda blob=e.blob: iter_range(blob, 0, blob.size - 1) if blob.size else ()),
            modified=revision.published_at or revision.archived_at,
        )
        for name, e in zip(names, entities, strict=True)
    ]
    response = StreamingHttpResponse(zipstream.stream_zip(members), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{revision.package_id_text}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-transform"
    return response


def resolve_doi(request: HttpRequest, doi: str) -> HttpResponse:
    """A local resolver (what doi.org does once DataCite has the URL): DOI → landing page, never 404 for
    a withdrawn version — that one answers with its tombstone."""
    row = Doi.objects.select_related("package", "revision__package").filter(doi=doi.lower()).first()
    if row is None:
        raise Http404("This DOI is not one of ours.")
    if row.revision_id:
        return redirect(metadata.version_path(row.revision))
    return redirect(metadata.dataset_path(row.package))


# --- data managers ------------------------------------------------------------------------------


class WithdrawForm(forms.Form):
    category = forms.ChoiceField(
        label="Reason",
        choices=[("", "Choose a reason…"), *Revision.WithdrawalCategory.choices],
    )
    reason = forms.CharField(
        label="Explanation (public, shown on the tombstone page)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


@data_manager_required
def withdraw(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    """A confirmation page (as Dataverse's deaccession): the reason's category and a public explanation;
    only its POST withdraws."""
    revision, _ = _dataset_version(request, scope, identifier, number)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw(
                revision,
                reason=form.cleaned_data["reason"],
                category=form.cleaned_data["category"],
                user=request.user,
                request=request,
            )
        except services.PublishingError as exc:  # not published (any more): say so on the landing page
            messages.error(request, str(exc))
        else:
            messages.success(
                request, f"{revision.package_id_text} is withdrawn; its DOI now shows the tombstone page."
            )
        return redirect(metadata.version_path(revision))
    context = {"revision": revision, "form": form, "version_url": metadata.version_path(revision)}
    status = 400 if request.method == "POST" else 200
    return render(request, "publishing/withdraw_confirm.html", context, status=status)


class TaintForm(forms.Form):
    reason = forms.CharField(
        label="Reason (audit log only, never shown publicly)",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    whole_dataset = forms.BooleanField(
        label="Taint every version of this dataset, not only this one", required=False
    )


@data_manager_required
def taint(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    """A confirmation page: the reason (audited, never public) and "this version or every version";
    only its POST taints. The bytes are removed by the worker after the commit."""
    revision, _ = _dataset_version(request, scope, identifier, number)
    form = TaintForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"]
        try:
            if form.cleaned_data["whole_dataset"]:
                done = services.taint_package(
                    revision.package, reason=reason, user=request.user, request=request
                )
            else:
                done = [services.taint(revision, reason=reason, user=request.user, request=request)]
        except services.PublishingError as exc:
            messages.error(request, str(exc))
        else:
            numbers = ", ".join(str(r.number) for r in done)
            messages.success(
                request,
                f"{revision.package_id_text}: version(s) {numbers} tainted; their files are being removed.",
            )
        return redirect(metadata.version_path(revision))
    context = {"revision": revision, "form": form, "version_url": metadata.version_path(revision)}
    status = 400 if request.method == "POST" else 200
    return render(request, "publishing/taint_confirm.html", context, status=status)


@require_POST
@data_manager_required
def correct(request: HttpRequest, scope: str, identifier: int, number: int) -> HttpResponse:
    revision, _ = _dataset_version(request, scope, identifier, number)
    try:
        services.correct_metadata(
            revision,
            title=request.POST.get("title", ""),
            abstract=request.POST.get("abstract", revision.abstract),
            user=request.user,
            request=request,
        )
    except services.PublishingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{revision.package_id_text}: metadata corrected; the DOI update is queued."
        )
    return redirect(metadata.version_path(revision))
