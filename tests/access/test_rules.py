"""The rules apps.access unified: one revision rule on every path, one definition of "operator"."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from apps import access
from apps.accounts.roles import roles_of
from apps.cruises.models import OrganisationMember
from apps.packages.models import Package, Revision
from tests.factories import make_revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_second_revision(vetted_user):
    package = Package.objects.create(scope="edi", identifier=77, owner=vetted_user)
    Revision.objects.create(package=package, number=1, state=Revision.State.PUBLISHED, title="First")
    Revision.objects.create(package=package, number=2, state=Revision.State.FAILED, title="Broken")
    return package


@pytest.mark.parametrize(
    "path",
    [
        "/packages/edi/77/2/",
        "/dataset/edi/77/2/",
        "/dataset/edi/77/2/export/datacite.xml",
        "/package/eml/edi/77/2",
        "/api/packages/edi/77/2/",
    ],
)
def test_a_failed_revision_is_not_found_even_for_a_data_manager(
    client, data_manager, failed_second_revision, path
):
    client.force_login(data_manager)
    assert client.get(path).status_code == 404


def test_a_failed_revision_is_not_among_a_datasets_versions(client, data_manager, failed_second_revision):
    client.force_login(data_manager)
    _, versions = access.get_dataset_version_for_user(data_manager, "edi", 77)
    assert [v.number for v in versions] == [1]
    assert client.get("/dataset/edi/77/1/").status_code == 200


@pytest.fixture
def held(cruise, vetted_user, operator_user, chief_scientist):
    from apps.holds import services as holds
    from tests.cruises.helpers import approve_cruise

    approve_cruise(cruise, operator_user, chief_scientist)
    revision = make_revision("archived", owner=vetted_user, cruise=cruise, identifier=88)
    holds.assert_hold(
        cruise, chief_scientist, ends_on=timezone.now().date() + datetime.timedelta(days=9), reason="x"
    )
    revision.refresh_from_db()
    assert revision.state == Revision.State.HELD
    return revision


def test_an_organisation_member_without_the_operator_role_is_not_an_operator(
    organisation, cruise, held, user_factory
):
    member = user_factory("member@example.org")
    OrganisationMember.objects.create(organisation=organisation, user=member, role="member")
    assert not access.is_operator_of(member, organisation.pk)
    assert not access.can_see(member, held, "data")  # held data: the operator's staff only
    assert held not in access.visible_revisions(member, part="data")
    assert not access.can_write_eventlog(member, cruise)
    assert not access.can_edit_cruise(member, cruise)
    assert "Operator" not in roles_of(member)


def test_an_organisation_member_with_the_operator_role_is_an_operator(
    organisation, cruise, held, operator_user
):
    assert access.is_operator_of(operator_user, organisation.pk)
    assert access.can_see(operator_user, held, "data")
    assert held in access.visible_revisions(operator_user, part="data")
    assert access.can_write_eventlog(operator_user, cruise)
    assert "Operator" in roles_of(operator_user)
