"""Only a cruise's people link a package to it by the EML keyword "R2R cruise" (issue 11 §7 "Cruise link by
keyword"): anyone else's keyword is a warning in the quality report and links nothing."""

from __future__ import annotations

import pytest

from apps.access import can_link_package_to_cruise
from apps.cruises.models import CruiseMember
from apps.submissions import services
from apps.submissions.models import Submission
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


def _submit_naming(user, cruise, data_server, package_id="edi.700.1"):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(user, eml_for(package_id, tables, cruise_id=cruise.cruise_id), start=False)
    sub = services.run_all(sub)
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    sub.revision.package.refresh_from_db()
    return sub


def _cruise_check(sub) -> dict:
    checks = sub.steps.get(name="validate").detail["checks"]
    return next(c for c in checks if c["id"] == "cruiseLink")


def test_a_strangers_cruise_keyword_links_nothing_and_warns(vetted_user, cruise, data_server, allow_loopback):
    sub = _submit_naming(vetted_user, cruise, data_server)
    assert sub.revision.package.cruise is None
    assert not cruise.packages.exists()
    check = _cruise_check(sub)
    assert check["status"] == "warn" and f"Not linked to {cruise.cruise_id}" in check["explanation"]
    assert f"Not linked to {cruise.cruise_id}" in sub.report_xml
    assert f"not linked to cruise {cruise.cruise_id}" in sub.steps.get(name="validate").message


def test_a_science_party_member_links_by_keyword(vetted_user, cruise, data_server, allow_loopback):
    CruiseMember.objects.create(
        cruise=cruise, user=vetted_user, name="V", role=CruiseMember.Role.SCIENCE_PARTY
    )
    sub = _submit_naming(vetted_user, cruise, data_server)
    assert sub.revision.package.cruise == cruise
    assert _cruise_check(sub)["status"] == "valid"


def test_who_may_link_a_package_to_a_cruise(
    cruise, vetted_user, plain_user, chief_scientist, shipboard_staff, operator_user, data_manager
):
    for person in (chief_scientist, shipboard_staff, operator_user, data_manager):
        assert can_link_package_to_cruise(person, cruise), person.email
    for person in (vetted_user, plain_user, None):
        assert not can_link_package_to_cruise(person, cruise)
