"""Signals the packages app sends, so apps above it can follow a revision without packages importing them.

``revision_changed(sender=Revision, revision=...)`` — sent inside the transaction of every service verb
that changes a revision's state after archiving or its public metadata (hold, publish, withdraw, taint,
a metadata correction). The search app re-indexes on it. Receivers run in the sender's transaction and
must not open a durable one.

``revision_tainted(sender=Revision, revision=...)`` — sent after the commit that tainted a version (a data
manager's ``apps.publishing.services.taint`` or ``taint_package``). The removal of its bytes is queued at
the same moment; the seeder and smart nodes stop offering and delete their copies on it.
"""

from django.dispatch import Signal

revision_changed = Signal()
revision_tainted = Signal()
