"""Publishing's revision verbs: withdraw and taint go through the model's transitions, durably."""

import pytest
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.publishing import services
from apps.search.models import SearchDocument


def test_tainting_a_public_version_tombstones_it_and_reindexes(make_revision, data_manager):
    revision = make_revision("published")
    services.taint(revision, reason="contains personal data", user=data_manager)
    revision.refresh_from_db()
    assert revision.state == Revision.State.TAINTED and revision.tainted_at is not None
    assert SearchDocument.objects.get(revision=revision).state == Revision.State.TAINTED
    assert AuditEvent.objects.filter(service_method="taint", resource_id=revision.package_id_text).exists()


def test_a_version_that_is_not_public_cannot_be_tainted_or_withdrawn(make_revision, data_manager):
    revision = make_revision("archived")
    with pytest.raises(services.PublishingError):
        services.taint(revision, reason="x", user=data_manager)
    with pytest.raises(services.PublishingError):
        services.withdraw(revision, reason="x", user=data_manager)
    revision.refresh_from_db()
    assert revision.state == Revision.State.ARCHIVED


@pytest.mark.parametrize("verb", ["withdraw", "taint"])
def test_the_verbs_refuse_to_be_nested_in_a_transaction(make_revision, data_manager, verb):
    revision = make_revision("published")
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        getattr(services, verb)(revision, reason="nested", user=data_manager)
    revision.refresh_from_db()
    assert revision.state == Revision.State.PUBLISHED
