"""Smart nodes: volunteers' machines that keep copies of public dataset versions alive (docs/nodes.md).

``Node``: one node of a node operator, and its token. The token (``qn_…``) is the node's identity: it is
shown once when issued, only its SHA-256 is stored, and revoking it retires the node. The settings the
node last registered with (budget, subjects, scopes, bandwidth limits, client) and its last report
(``last_seen_at``, ``bytes_held``, upload totals) are kept on the row.

``NodeHolding``: what one node holds of one public torrent, as its last report said. A report replaces
the node's holdings; the health file (``apps.nodes.health``) counts the complete ones of nodes seen
recently.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import hash_token


class NodeQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class Node(models.Model):
    PREFIX = "qn_"

    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters of the token, to recognise it.")
    budget_bytes = models.BigIntegerField(default=0)
    subjects = models.JSONField(default=list, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    upload_limit = models.BigIntegerField(default=0, help_text="bytes/s; 0 = no limit")
    download_limit = models.BigIntegerField(default=0, help_text="bytes/s; 0 = no limit")
    client = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    registered_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    bytes_held = models.BigIntegerField(default=0)
    # Set by each report (as bytes_held): /nodes/ lists it without counting a node's 100,000 holdings.
    torrents_held = models.IntegerField(default=0)
    uploaded = models.BigIntegerField(default=0, help_text="bytes, as the node last reported")
    downloaded = models.BigIntegerField(default=0, help_text="bytes, as the node last reported")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = NodeQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        indexes = [
            # /nodes/ lists the active nodes; the health build counts holdings of active, fresh nodes.
            models.Index(fields=["revoked_at", "last_seen_at"], name="nodes_active_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, operator, name: str) -> tuple[Node, str]:
        """A new node and its token; the key is returned once and never stored."""
        key = cls.PREFIX + secrets.token_urlsafe(32)
        node = cls.objects.create(operator=operator, name=name, key_hash=hash_token(key), hint=key[:10])
        return node, key

    @classmethod
    def lookup(cls, key: str) -> Node | None:
        """The active node whose token is ``key``, with its operator; None for unknown or revoked."""
        if not key.startswith(cls.PREFIX):
            return None
        try:
            return cls.objects.active().select_related("operator").get(key_hash=hash_token(key))
        except cls.DoesNotExist:
            return None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class NodeHolding(models.Model):
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="holdings")
    torrent = models.ForeignKey("swarm.Torrent", on_delete=models.CASCADE, related_name="node_holdings")
    pieces_held = models.IntegerField(default=0)
    pieces_total = models.IntegerField(default=0)
    bytes_held = models.BigIntegerField(default=0)
    complete = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "torrent"], name="uniq_node_holding")]
        indexes = [
            # The health build reads the holdings of a range of torrents.
            models.Index(fields=["torrent", "complete"], name="nodes_holding_torrent"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} holds {self.pieces_held}/{self.pieces_total} of {self.torrent_id}"
