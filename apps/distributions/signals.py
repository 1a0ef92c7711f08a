"""Signals other apps listen to (they import this module; distributions imports none of them).

``delivery_classified(sender, delivery)``: a classification was committed (sent after the commit), so the
delivery's files carry their instrument classes — navigation builds the cruise's track from the files of
class ``navigation``.
"""

from django.dispatch import Signal

delivery_classified = Signal()
