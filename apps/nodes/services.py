"""Smart nodes' verbs: issuing and revoking node tokens, a node registering, a node reporting.

Each owns its transaction and writes its audit event (a report is not audited one by one: the audit
middleware records the request, and there is one every few minutes per node). The node API's requests are
validated here by hand, not with DRF serializers: a report carries up to NODES_REPORT_MAX_HOLDINGS
holdings, and one loop over plain dicts is what a 100,000-item body needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from apps import access
from apps.audit.services import record_event
from portal.errors import UserError

from .health import public_torrents
from .models import Node, NodeHolding

INFOHASH = re.compile(r"^[0-9a-f]{40}$")
MAX_NAME = 100
# Infohashes (or torrent ids) per query when a report is matched and written: PostgreSQL answers an IN list
# this long with one hashed scan of the torrents, so fewer, larger queries are faster (under the 65,535
# bind parameters a server-side-bound query may have).
LOOKUP_CHUNK = 50_000


# --- tokens ------------------------------------------------------------------------------------------


@transaction.atomic
def issue_node(user, name: str, request=None) -> tuple[Node, str]:
    """A new node of ``user`` (a node operator) and its token; the key is shown once and never stored."""
    access.require_node_operator(user)
    name = (name or "").strip()[:MAX_NAME] or "Smart node"
    node, key = Node.issue(user, name)
    record_event(
        service="nodes",
        method="issue_node_token",
        text=f"node {node.name!r}: token {node.hint}… issued",
        resource_id=f"node/{node.pk}",
        user=user,
        request=request,
    )
    return node, key


@transaction.atomic
def revoke_node(user, node_id: int, request=None) -> Node:
    """Revoke a node's token (its operator, or a data manager); its holdings stop counting at once."""
    node = access.get_node_for_user(user, node_id, write=True)
    if node.revoked_at is None:
        node.revoked_at = timezone.now()
        node.save(update_fields=["revoked_at"])
        NodeHolding.objects.filter(node=node).delete()
        Node.objects.filter(pk=node.pk).update(bytes_held=0, torrents_held=0)
        record_event(
            service="nodes",
            method="revoke_node_token",
            text=f"node {node.name!r} of {node.operator.email}: token {node.hint}… revoked",
            resource_id=f"node/{node.pk}",
            user=user,
            request=request,
        )
    return node


# --- validation --------------------------------------------------------------------------------------


def _count(data: dict, key: str, *, where: str = "", required: bool = True, default: int = 0) -> int:
    if key not in data:
        if required:
            raise UserError(f"{where}{key}: required (a whole number ≥ 0).")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"{where}{key}: must be a whole number ≥ 0, not {value!r}.")
    if value >= 2**63:
        raise UserError(f"{where}{key}: too large.")
    return value


def _strings(data: dict, key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{key}: must be a list of strings.")
    if len(value) > 100 or any(len(v) > 200 for v in value):
        raise UserError(f"{key}: at most 100 strings of at most 200 characters.")
    return [v.strip() for v in value if v.strip()]


def _string(data: dict, key: str, limit: int) -> str | None:
    if key not in data or data[key] is None:
        return None
    value = data[key]
    if not isinstance(value, str):
        raise UserError(f"{key}: must be a string.")
    if len(value) > limit:
        raise UserError(f"{key}: at most {limit} characters.")
    return value.strip()


# --- the node API ------------------------------------------------------------------------------------


@transaction.atomic
def register(node: Node, data: dict, request=None) -> Node:
    """Record what the node says of itself (budget, subjects, scopes, limits, client; a new name if
    given). Raises UserError naming the field for a bad value."""
    name = _string(data, "name", MAX_NAME)
    fields = {
        "budget_bytes": _count(data, "budget_bytes"),
        "subjects": _strings(data, "subjects"),
        "scopes": _strings(data, "scopes"),
        "upload_limit": _count(data, "upload_limit", required=False),
        "download_limit": _count(data, "download_limit", required=False),
        "client": _string(data, "client", 100) or "",
    }
    if name:
        fields["name"] = name
    now = timezone.now()
    Node.objects.filter(pk=node.pk).update(registered_at=now, last_seen_at=now, **fields)
    for key, value in fields.items():
        setattr(node, key, value)
    node.registered_at = node.last_seen_at = now
    record_event(
        service="nodes",
        method="register_node",
        text=(
            f"node {node.name!r} registered: budget {node.budget_bytes} bytes, subjects {node.subjects}, "
            f"scopes {node.scopes}, client {node.client!r}"
        ),
        resource_id=f"node/{node.pk}",
        request=request,
    )
    return node


def _holdings(data: dict) -> dict[str, tuple[int, int, int]]:
    """``infohash → (pieces_held, pieces_total, bytes_held)`` of a report, validated (the last entry
    of an infohash reported twice wins)."""
    holdings = data.get("holdings")
    if not isinstance(holdings, list):
        raise UserError("holdings: must be a list.")
    limit = settings.NODES_REPORT_MAX_HOLDINGS
    if len(holdings) > limit:
        raise UserError(f"holdings: at most {limit} per report, not {len(holdings)}.")
    found = {}
    for i, h in enumerate(holdings):
        where = f"holdings[{i}]."
        if not isinstance(h, dict):
            raise UserError(f"holdings[{i}]: must be an object.")
        infohash = h.get("infohash")
        if not isinstance(infohash, str) or not INFOHASH.match(infohash.lower()):
            raise UserError(f"{where}infohash: must be 40 hexadecimal digits (a v1 infohash).")
        held, total = _count(h, "pieces_held", where=where), _count(h, "pieces_total", where=where)
        if held > total:
            raise UserError(f"{where}pieces_held: {held} is more than pieces_total ({total}).")
        found[infohash.lower()] = (held, total, _count(h, "bytes_held", where=where))
    return found


def _public_ids(infohashes: Iterable[str]) -> dict[str, int]:
    """``infohash → torrent id`` of those that are public torrents now."""
    wanted = list(infohashes)
    found: dict[str, int] = {}
    for i in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[i : i + LOOKUP_CHUNK]
        found.update(public_torrents().filter(infohash__in=chunk).values_list("infohash", "pk"))
    return found


@transaction.atomic
def report(node: Node, data: dict) -> tuple[int, list[str]]:
    """Replace the node's holdings with its report. Returns ``(accepted, drop)``: ``drop`` lists the
    reported infohashes that are not public torrents (withdrawn, tainted, held, unknown), which the node
    deletes at once. Raises UserError naming the field for a bad value (nothing is changed)."""
    holdings = _holdings(data)
    uploaded = _count(data, "uploaded", required=False)
    downloaded = _count(data, "downloaded", required=False)
    public = _public_ids(holdings)
    drop = sorted(h for h in holdings if h not in public)
    wanted = {public[ih]: values for ih, values in holdings.items() if ih in public}
    Node.objects.select_for_update().filter(pk=node.pk).only("pk").get()  # one report at a time per node
    _replace_holdings(node, wanted)
    held_bytes = sum(size for _, _, size in wanted.values())
    now = timezone.now()
    Node.objects.filter(pk=node.pk).update(
        last_seen_at=now,
        bytes_held=held_bytes,
        torrents_held=len(wanted),
        uploaded=uploaded,
        downloaded=downloaded,
    )
    node.last_seen_at, node.bytes_held, node.torrents_held = now, held_bytes, len(wanted)
    return len(wanted), drop


def _replace_holdings(node: Node, wanted: dict[int, tuple[int, int, int]]) -> None:
    """Make the node's holdings ``wanted`` (torrent id → pieces held, pieces total, bytes) by writing only
    the difference: a node's report mostly repeats the last one (what it holds whole stays whole), so a
    steady node's report of 100,000 holdings writes a few rows. ``updated_at`` is when a holding last
    changed. Call inside the report's transaction, holding the node's row lock."""
    current = {
        tid: (held, total, size)
        for tid, held, total, size in NodeHolding.objects.filter(node=node).values_list(
            "torrent_id", "pieces_held", "pieces_total", "bytes_held"
        )
    }
    stale = [tid for tid, values in current.items() if wanted.get(tid) != values]
    for i in range(0, len(stale), LOOKUP_CHUNK):
        NodeHolding.objects.filter(node=node, torrent_id__in=stale[i : i + LOOKUP_CHUNK]).delete()
    now = timezone.now()
    rows = [
        (node.pk, tid, held, total, size, total > 0 and held == total, now)
        for tid, (held, total, size) in wanted.items()
        if current.get(tid) != (held, total, size)
    ]
    _insert_holdings(rows)


HOLDING_COLUMNS = (
    "node_id",
    "torrent_id",
    "pieces_held",
    "pieces_total",
    "bytes_held",
    "complete",
    "updated_at",
)


def _insert_holdings(rows: list[tuple]) -> None:
    """Insert holdings given as tuples in ``HOLDING_COLUMNS`` order. On PostgreSQL with COPY: a first
    report of 100,000 holdings through ``bulk_create`` spends some 20 s building model instances and
    parameters; COPY takes well under one. Elsewhere (SQLite, the embedded default) ``bulk_create``."""
    if not rows:
        return
    connection = connections[NodeHolding.objects.db]
    if connection.vendor != "postgresql":
        NodeHolding.objects.bulk_create(
            [NodeHolding(**dict(zip(HOLDING_COLUMNS, row, strict=True))) for row in rows], batch_size=5_000
        )
        return
    table = connection.ops.quote_name(NodeHolding._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in HOLDING_COLUMNS)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
