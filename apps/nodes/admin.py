"""Nodes for data managers: read-only (nodes write their own rows by registering and reporting), with one
action, revoking tokens, through the service (audited)."""

from django.contrib import admin, messages

from portal.admin import ReadOnlyAdmin

from . import services
from .models import Node, NodeHolding


@admin.action(description="Revoke the selected nodes' tokens")
def revoke_tokens(modeladmin, request, queryset):
    ids = list(queryset.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    for pk in ids:
        services.revoke_node(request.user, pk, request=request)
    modeladmin.message_user(request, f"{len(ids)} token(s) revoked.", messages.SUCCESS)


@admin.register(Node)
class NodeAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "operator",
        "hint",
        "last_seen_at",
        "budget_bytes",
        "bytes_held",
        "client",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["operator"]
    search_fields = ["name", "hint", "operator__email"]
    exclude = ["key_hash"]
    actions = [revoke_tokens]


@admin.register(NodeHolding)
class NodeHoldingAdmin(ReadOnlyAdmin):
    list_display = ["node", "torrent", "pieces_held", "pieces_total", "bytes_held", "complete", "updated_at"]
    list_filter = ["complete"]
    list_select_related = ["node", "torrent"]
    raw_id_fields = ["node", "torrent"]
