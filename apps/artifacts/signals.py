"""Signals the artifacts app sends, so apps above it (the catalog, the torrent) follow new derived files
without artifacts importing them.

``artifacts_recorded(sender=Artifact, revision=...)`` — sent inside ``manifests.record_build``'s transaction
when a version's derived files (its file tree) changed. Receivers run in that transaction and must not open
a durable one.
"""

from django.dispatch import Signal

artifacts_recorded = Signal()
