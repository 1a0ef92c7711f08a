"""Signals the holds app sends, so the app that publishes can follow holds without holds importing it.

``revisions_released(sender=Hold, hold=..., revisions=[...])`` — sent inside the transaction that ends
``hold``, with the revisions it held that no other hold in force covers any more: each one is ``held``
and row-locked. The receiver (apps.publishing) publishes them in that same transaction; it must not open
a durable one.
"""

from django.dispatch import Signal

revisions_released = Signal()
