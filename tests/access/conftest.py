"""One object of every kind, and a user in every role, for the access tests (the URL matrix walks them all).

Cruise A (organisation A) is "this" cruise: its operator, chief scientist and shipboard staff are the
roles "operator", "chief" and "staff"; cruise B (organisation B) gives "operator_other" and
"chief_other". The vetted user submitted and owns the packages; "node" is a node operator with a node.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.access import roles
from apps.accounts.models import ApiToken, User
from apps.cruises.models import Cruise, CruiseFile, CruiseMember, Organisation, OrganisationMember, Vessel
from apps.packages.models import Entity, Package, Revision
from apps.storage.services import store_bytes
from tests.conftest import make_user
from tests.cruises.helpers import approve_cruise
from tests.packages.helpers import eml_for, two_tables

# The roles of the access matrix, in the order its rows list them.
ROLES = [
    "anonymous",
    "plain",
    "vetted",
    "operator",
    "operator_other",
    "chief",
    "chief_other",
    "staff",
    "data_manager",
    "node",  # a node operator (smart nodes, docs/nodes.md)
]


@dataclass
class World:
    users: dict[str, User | None]
    cruise: Cruise  # cruise A, approved, with an open event log, a hold and the packages
    other_cruise: Cruise
    published: Revision  # edi.1.1, through the real pipeline (uploaded files), linked to cruise A
    held: Revision  # edi.2.1, archived then held by cruise A's hold
    held_entity: Entity
    submission: Any
    review: Any
    hold: Any
    doi: Any
    orders: CruiseFile  # received sailing orders (people only)
    blob: Any
    token: ApiToken  # somebody else's API token
    invitation: str  # an invitation token for a designated (not yet signed-up) member

    @property
    def pid(self) -> dict:
        return {"scope": "edi", "identifier": 1}

    @property
    def rev(self) -> dict:
        return {"scope": "edi", "identifier": 1, "number": 1}


def _organisation(name: str, short: str, code: str, operator_email: str):
    org = Organisation.objects.create(name=name, short_name=short, email=f"ops@{short.lower()}.example")
    vessel = Vessel.objects.create(name=f"{name} Explorer", code=code, operator=org)
    operator = make_user(operator_email)
    OrganisationMember.objects.create(organisation=org, user=operator, role=OrganisationMember.Role.OPERATOR)
    return org, vessel, operator


def _cruise(cruise_id: str, vessel, org, chief_email: str):
    cruise = Cruise.objects.create(
        cruise_id=cruise_id,
        vessel=vessel,
        operator=org,
        departure_date=datetime.date(2024, 3, 1),
        arrival_date=datetime.date(2024, 3, 20),
        mission_summary="Matrix survey",
    )
    chief = make_user(chief_email)
    CruiseMember.objects.create(
        cruise=cruise, user=chief, name="Chief", email=chief.email, role=CruiseMember.Role.CHIEF_SCIENTIST
    )
    return cruise, chief


@pytest.fixture
def world(db, tmp_path, settings) -> World:
    from apps.cruises import services as cruises
    from apps.eventlogs import services as eventlogs
    from apps.holds import services as holds
    from apps.publishing.models import Doi
    from apps.submissions import services as submissions

    # An ORCID app, as a deployment configures one, so the ORCID sign-in URLs answer.
    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "orcid": {
            **settings.SOCIALACCOUNT_PROVIDERS["orcid"],
            "APPS": [{"client_id": "m", "secret": "m", "key": ""}],
        },
    }
    org_a, vessel_a, operator = _organisation("Alpha Institution", "ALPHA", "AA", "operator@example.org")
    org_b, vessel_b, operator_other = _organisation(
        "Beta Institution", "BETA", "BB", "operator-b@example.org"
    )
    cruise, chief = _cruise("AA2401", vessel_a, org_a, "chief@example.org")
    other_cruise, chief_other = _cruise("BB2401", vessel_b, org_b, "chief-b@example.org")
    staff = make_user("staff@example.org")
    CruiseMember.objects.create(
        cruise=cruise, user=staff, name="Staff", email=staff.email, role=CruiseMember.Role.SHIPBOARD_STAFF
    )
    users = {
        "anonymous": None,
        "plain": make_user("plain@example.org"),
        "vetted": make_user("vetted@example.org", roles.VETTED),
        "operator": operator,
        "operator_other": operator_other,
        "chief": chief,
        "chief_other": chief_other,
        "staff": staff,
        "data_manager": make_user("curator@example.org", roles.DATA_MANAGER),
        "node": make_user("node@example.org", roles.NODE_OPERATOR),
    }
    review = approve_cruise(cruise, operator, chief)
    eventlogs.open_log(cruise, operator)

    # A published revision through the real pipeline, its data uploaded with the EML.
    tables = two_tables(tmp_path / "upload")
    files = [
        (t.object_name, SimpleUploadedFile(t.object_name, (tmp_path / "upload" / t.object_name).read_bytes()))
        for t in tables
    ]
    submission = submissions.run_all(
        submissions.submit(users["vetted"], eml_for("edi.1.1", tables), files=files, start=False)
    )
    assert submission.state == "succeeded", submission.error
    published = submission.revision
    published.refresh_from_db()
    cruises.link_package(cruise, published.package, users["data_manager"])

    # A held revision of another package of cruise A.
    package = Package.objects.create(scope="edi", identifier=2, owner=users["vetted"], cruise=cruise)
    held = Revision.objects.create(
        package=package,
        number=1,
        state=Revision.State.ARCHIVED,
        title="Held CTD casts",
        archived_at=timezone.now(),
    )
    held_entity = Entity.objects.create(
        revision=held,
        entity_id="ctd",
        name="ctd.csv",
        object_name="ctd.csv",
        mime_type="text/csv",
        blob=store_bytes(b"station,temp\nS1,4.2\n"),
    )
    hold = holds.assert_hold(
        cruise,
        chief,
        ends_on=timezone.now().date() + datetime.timedelta(days=30),
        reason="thesis",
        packages=[package],
    )
    held.refresh_from_db()
    assert held.state == Revision.State.HELD

    orders = cruises.attach_file(
        cruise,
        kind=CruiseFile.Kind.SAILING_ORDERS,
        filename="orders.xml",
        data=b"<sailingOrders/>",
        content_type="application/xml",
    )
    invited = cruises.designate_member(cruise, chief, email="invitee@example.org")
    someone = make_user("someone-else@example.org")
    token, _ = ApiToken.issue(someone, "not yours")
    return World(
        users=users,
        cruise=cruise,
        other_cruise=other_cruise,
        published=published,
        held=held,
        held_entity=held_entity,
        submission=submission,
        review=review,
        hold=hold,
        doi=Doi.objects.filter(revision=published).first() or Doi.objects.first(),
        orders=orders,
        blob=store_bytes(b"matrix blob"),
        token=token,
        invitation=cruises.invitation_token(invited),
    )
