"""The Celery app.

Conventions for every task in Quayside (see ``portal.tasks``):
primary keys in, idempotent, ``acks_late`` so a killed worker's task runs again, retries only for
temporary errors and capped, and dispatched only after the surrounding transaction commits.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("quayside")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
