"""Torrents of public dataset versions and the health of their swarms (docs/swarm.md).

``Torrent``: the one v1 (BEP 3) torrent of a version, built in the worker when the version is published,
stored as a content-addressed blob (the ``.torrent`` bytes) with its infohash. Claimed with the lease
helper (``portal.tasks.claim``) while it is built. The row stays when the version is withdrawn or
tainted; only published versions' torrents are served or seeded.

``SwarmHealth``: what a seeder saw of a torrent's swarm, one row per torrent and source (the seeder's
own session, or a tracker's scrape), overwritten at every report.
"""

from django.db import models
from django.utils import timezone


class Torrent(models.Model):
    class State(models.TextChoices):
        DUE = "due"
        BUILT = "built"
        FAILED = "failed"  # an unexpected error; the sweep tries again later

    revision = models.OneToOneField("packages.Revision", on_delete=models.CASCADE, related_name="torrent")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DUE, db_index=True)
    infohash = models.CharField(max_length=40, blank=True, db_index=True, help_text="v1 (SHA-1), hex")
    blob = models.ForeignKey(
        "storage.Blob", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    piece_size = models.PositiveIntegerField(default=0)
    total_size = models.BigIntegerField(default=0)
    file_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"torrent of {self.revision_id}: {self.state} {self.infohash}"


class SwarmHealth(models.Model):
    class Source(models.TextChoices):
        SESSION = "session", "the portal's seeder"
        TRACKER = "tracker", "tracker scrape"

    torrent = models.ForeignKey(Torrent, on_delete=models.CASCADE, related_name="health")
    source = models.CharField(max_length=10, choices=Source.choices)
    seeds = models.IntegerField(default=0, help_text="complete copies seen (the seeder itself included)")
    peers = models.IntegerField(default=0, help_text="incomplete peers seen")
    completed = models.IntegerField(default=0, help_text="downloads completed (tracker) or seen finishing")
    uploaded = models.BigIntegerField(default=0, help_text="bytes this seeder uploaded")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["torrent", "source"], name="uniq_swarm_health_source")]

    def __str__(self) -> str:
        return f"{self.torrent_id} ({self.source}): {self.seeds} seeds, {self.peers} peers"
