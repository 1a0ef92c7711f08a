"""Signals about deliveries, here so that the apps above deliveries can send and hear them without importing
each other.

``delivery_classified(sender, delivery)``: apps.distributions committed a classification (sent after the
commit), so the delivery's files carry their instrument classes — apps.navigation builds the cruise's track
from the files of class ``navigation``.
"""

from django.dispatch import Signal

delivery_classified = Signal()
