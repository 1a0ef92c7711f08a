"""Demo: the demo node operator (node@quayside.example) runs one node that holds the first public demo
versions whole and one in part, so /nodes/ has a node, a plot with safe and at-risk versions, and a
health file after ``make run``. Idempotent: the node is made once (its token is not kept: issue one on
/nodes/mine/ to run a real node)."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from . import health, services
from .models import Node

EMAIL = "node@quayside.example"


def load(log) -> None:
    operator = get_user_model().objects.filter(email=EMAIL).first()
    if operator is None:
        log("nodes: no demo node operator (load the accounts demo first)")
        return
    node = Node.objects.filter(operator=operator).first()
    if node is None:
        node, _ = services.issue_node(operator, "Noor's lab rack")
        services.register(
            node,
            {
                "budget_bytes": 50 * 10**9,
                "subjects": ["oceanography", "hydrography"],
                "scopes": [],
                "upload_limit": 2_000_000,
                "download_limit": 0,
                "client": "quayside-node (demo)",
            },
        )
        torrents = list(
            health.public_torrents().order_by("pk").values_list("infohash", "total_size", "piece_size")
        )
        holdings = []
        for i, (infohash, size, piece) in enumerate(torrents[: max(1, len(torrents) // 2)]):
            pieces = -(-size // piece) if piece else 0
            part = i == 0 and pieces > 1  # the first one still downloading
            held = pieces // 2 if part else pieces
            holdings.append(
                {
                    "infohash": infohash,
                    "pieces_held": held,
                    "pieces_total": pieces,
                    "bytes_held": size * held // pieces if pieces else 0,
                }
            )
        services.report(node, {"holdings": holdings, "uploaded": 0, "downloaded": 0})
    written = health.write_health()
    log(f"nodes: {Node.objects.active().count()} node(s); health.parquet with {written.rows} torrent(s)")
