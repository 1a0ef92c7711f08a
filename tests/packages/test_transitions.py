"""A revision's state machine after archiving: each move has one model transition and one service verb."""

import pytest
from django.db import transaction

from apps.audit.models import AuditEvent
from apps.packages.models import Package, Revision
from apps.packages.services import hold_revision
from apps.search.models import SearchDocument


@pytest.fixture
def revision_in(vetted_user):
    def make(state: str) -> Revision:
        package = Package.objects.create(
            scope="edi", identifier=Package.objects.count() + 900, owner=vetted_user
        )
        return Revision.objects.create(package=package, number=1, state=state, title="CTD casts")

    return make


@pytest.mark.parametrize(
    ("state", "move", "kwargs"),
    [
        (Revision.State.PUBLISHED, "mark_held", {}),
        (Revision.State.SUBMITTED, "mark_held", {}),
        (Revision.State.WITHDRAWN, "mark_published", {"doi": "10.x/y"}),
        (Revision.State.FAILED, "mark_published", {"doi": "10.x/y"}),
        (Revision.State.ARCHIVED, "mark_withdrawn", {"reason": "r"}),
        (Revision.State.HELD, "mark_withdrawn", {"reason": "r"}),
        (Revision.State.ARCHIVED, "mark_tainted", {}),
        (Revision.State.HELD, "mark_tainted", {}),
        (Revision.State.TAINTED, "mark_tainted", {}),
    ],
)
def test_a_move_the_state_machine_does_not_allow_is_refused_and_changes_nothing(
    revision_in, state, move, kwargs
):
    revision = revision_in(state)
    with pytest.raises(Revision.TransitionRefused):
        getattr(revision, move)(**kwargs)
    revision.refresh_from_db()
    assert revision.state == state


def test_each_transition_saves_its_own_fields(revision_in):
    revision = revision_in(Revision.State.ARCHIVED)
    revision.title = "changed in memory only"
    revision.mark_published(doi="10.5072/edi.1.1")
    revision.refresh_from_db()
    assert revision.state == Revision.State.PUBLISHED and revision.doi == "10.5072/edi.1.1"
    assert revision.published_at is not None and revision.title == "CTD casts"  # update_fields
    revision.mark_withdrawn(reason="superseded")
    revision.mark_tainted()
    revision.refresh_from_db()
    assert revision.state == Revision.State.TAINTED
    assert revision.withdrawn_reason == "superseded" and revision.tainted_at is not None


def test_the_hold_verb_audits_and_reindexes_the_revision(revision_in):
    revision = revision_in(Revision.State.ARCHIVED)
    with transaction.atomic():
        locked = Revision.objects.select_for_update().select_related("package").get(pk=revision.pk)
        hold_revision(locked, until="2031-01-01")
    assert Revision.objects.get(pk=revision.pk).state == Revision.State.HELD
    assert SearchDocument.objects.get(revision=revision).state == Revision.State.HELD
    assert AuditEvent.objects.filter(
        service="packages",
        service_method="hold",
        resource_id=revision.package_id_text,
        entry_text__contains="2031",
    ).exists()


def test_state_sets_partition_the_public_states():
    assert set(Revision.EVER_PUBLISHED) | {Revision.State.HELD} == set(Revision.METADATA_PUBLIC)
    assert set(Revision.TOMBSTONED) < set(Revision.EVER_PUBLISHED)
    assert not set(Revision.IN_PIPELINE) & set(Revision.METADATA_PUBLIC)
