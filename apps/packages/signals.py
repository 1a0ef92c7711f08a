"""Signals the packages app sends, so apps above it can follow a revision without packages importing them.

``revision_changed(sender=Revision, revision=...)`` — sent inside the transaction of every service verb
that changes a revision's state after archiving or its public metadata (hold, publish, withdraw, taint,
a metadata correction). The search app re-indexes on it. Receivers run in the sender's transaction and
must not open a durable one.
"""

from django.dispatch import Signal

revision_changed = Signal()
