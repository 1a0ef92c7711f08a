"""The beat entry ``apps.holds.tasks.expire_holds`` runs in a real worker and releases due holds."""

import datetime

import pytest
from django.utils import timezone

from apps.holds import services
from apps.holds.models import Hold
from apps.holds.tasks import expire_holds
from apps.packages.models import Revision
from tests.support.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_expire_holds_task_releases_in_the_worker(
    celery_worker_process, archived, approved_cruise, chief_scientist
):
    from django.conf import settings as live

    assert "apps.holds.tasks.expire_holds" in {e["task"] for e in live.CELERY_BEAT_SCHEDULE.values()}
    hold = services.assert_hold(
        approved_cruise,
        chief_scientist,
        ends_on=timezone.now().date() + datetime.timedelta(days=3),
        reason="x",
    )
    revision, _ = archived
    Hold.objects.filter(pk=hold.pk).update(ends_on=timezone.now().date())  # the day has come
    expire_holds.delay()
    wait_until(
        lambda: Revision.objects.get(pk=revision.pk).state == Revision.State.PUBLISHED,
        timeout=60,
        worker=celery_worker_process,
    )
    assert Hold.objects.get(pk=hold.pk).state == Hold.State.EXPIRED
