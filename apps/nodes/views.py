"""Smart nodes over HTTP: the health file, the public nodes page, and the operators' token page."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from apps import access
from apps.packages.models import Revision
from apps.storage.http import local_file_response
from apps.swarm.models import Torrent
from portal.errors import ONLY_NODE_OPERATORS, Forbidden, UserError

from . import health, plot, services
from .models import Node

PARQUET = "application/vnd.apache.parquet"


@require_safe
def health_parquet(request: HttpRequest) -> HttpResponse:
    """``/swarm/health.parquet`` as the last beat run wrote it, served as /catalog/stac.parquet is (ETag,
    Last-Modified, Range, HEAD); 503 while the first one has not been written (one is queued)."""
    response = local_file_response(
        request, health.health_path(), content_type=PARQUET, filename="health.parquet"
    )
    if response is None:
        from portal.tasks import send

        from .tasks import write_health

        send(write_health)
        response = HttpResponse(
            "The swarm health file is being written; try again in a minute.\n",
            status=503,
            content_type="text/plain",
        )
        response["Retry-After"] = "60"
        return response
    response["Cache-Control"] = "public, max-age=60"
    return response


# --- pages -------------------------------------------------------------------------------------------

AT_RISK_PAGE = 25
NODES_SHOWN = 100


class NodeForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="To tell your nodes apart, e.g. “lab rack”.")


def _versions(infohashes: list[str]) -> dict[str, Revision]:
    """infohash → its version (with the package), in one query."""
    if not infohashes:
        return {}
    rows = Torrent.objects.filter(infohash__in=infohashes, state=Torrent.State.BUILT).select_related(
        "revision__package"
    )
    return {t.infohash: t.revision for t in rows}


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    """``/nodes/`` (public): the nodes, healthy copies per version (the plot), the versions fewest
    copies first. Everything about copies is read from the health file (``health.sorted_health``)."""
    threshold = settings.NODES_AT_RISK_COPIES
    table = health.sorted_health()
    rows = table.num_rows if table is not None else 0
    page = Paginator(range(rows), AT_RISK_PAGE).get_page(request.GET.get("page"))
    listed = table.slice(page.start_index() - 1, len(page.object_list)).to_pylist() if rows else []
    plotted = table.column("infohash").to_pylist() if 0 < rows <= plot.MAX_BARS else []
    versions = _versions(sorted({r["infohash"] for r in listed} | set(plotted)))
    for row in listed:
        row["version"] = versions.get(row["infohash"])
        row["at_risk"] = row["copies"] < threshold
    names = {ih: v.package_id_text for ih, v in versions.items()}
    nodes = list(
        Node.objects.active()
        .select_related("operator")
        .order_by(F("last_seen_at").desc(nulls_last=True), "pk")[:NODES_SHOWN]
    )
    return render(
        request,
        "nodes/index.html",
        {
            "nodes": nodes,
            "node_count": Node.objects.active().count() if len(nodes) == NODES_SHOWN else len(nodes),
            "plot": plot.build(table, threshold, names) if table is not None else None,
            "page": page,
            "listed": listed,
            "threshold": threshold,
            "stale_minutes": settings.NODES_STALE_SECONDS // 60,
            "health_written": table is not None,
            "can_manage": access.can_manage_nodes(request.user),
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """``/nodes/mine/``: a node operator's nodes and their tokens (issue one: shown once; revoke); a data
    manager sees every node, to revoke any."""
    if not access.can_manage_nodes(request.user):
        raise Forbidden(ONLY_NODE_OPERATORS)
    can_issue = access.can_issue_node_token(request.user)
    form = NodeForm(request.POST or None)
    if request.method == "POST":
        if not can_issue:
            raise Forbidden(ONLY_NODE_OPERATORS)
        if not form.is_valid():
            raise UserError("Give the node a name (at most 100 characters).")
        node, key = services.issue_node(request.user, form.cleaned_data["name"], request=request)
        # Shown once on the next page, then gone: only its hash is stored.
        request.session["new_node_key"] = key
        messages.success(request, f"Node “{node.name}” created.")
        return redirect("nodes:mine")
    nodes = (
        access.visible_nodes(request.user)
        .select_related("operator")
        .order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk")
    )
    page = Paginator(nodes, 50).get_page(request.GET.get("page"))
    for node in page:
        node.can_revoke = node.revoked_at is None and access.can_revoke_node(request.user, node)
    return render(
        request,
        "nodes/mine.html",
        {
            "page": page,
            "form": form if can_issue else None,
            "new_key": request.session.pop("new_node_key", None),
            "portal_url": request.build_absolute_uri("/"),
        },
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a node's token: its operator, or a data manager (404 for a node you cannot see)."""
    node = services.revoke_node(request.user, pk, request=request)
    messages.success(request, f"The token of “{node.name}” is revoked; its copies no longer count.")
    return redirect("nodes:mine")
