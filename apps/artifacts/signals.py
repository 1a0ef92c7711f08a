"""Signals the artifacts app sends, so apps above it (the catalog, the torrent) follow new derived files
without artifacts importing them.

``artifacts_recorded(sender=Artifact, revision=...)`` — sent inside ``manifests.record_build``'s transaction
when a version's derived files (its file tree) changed. Receivers run in that transaction and must not open
a durable one.

``cruise_artifacts_recorded(sender=Artifact, cruise=...)`` — the same for a cruise's artifacts (its
navigation products): the catalog items of the cruise's datasets link them.
"""

from django.dispatch import Signal

artifacts_recorded = Signal()
cruise_artifacts_recorded = Signal()
