"""The cruise page's "invited" tag marks people who were sent an invitation and have not accepted it — not
everyone without an account (sailing orders often list the science party by name only)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.cruises import services
from apps.cruises.models import CruiseMember
from tests import factories

pytestmark = pytest.mark.django_db


def party_lines(cruise, user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("cruises:detail", args=[cruise.pk])).content.decode()
    party = re.search(r"<h2>Science party</h2>\s*<ul>(.*?)</ul>", page, re.S)[1]
    return {re.match(r"<li>([^—<]+) —", li)[1].strip(): li for li in re.findall(r"<li>.*?</li>", party)}


def test_only_people_who_were_invited_carry_the_invited_tag(
    cruise, chief_scientist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.designate_member(cruise, chief_scientist, email="newcomer@example.org", name="Newcomer")
    assert [m.to for m in mail.outbox] == [["newcomer@example.org"]]  # the invitation
    factories.CruiseMemberFactory(
        cruise=cruise, user=None, name="Named Only", email="", role=CruiseMember.Role.SCIENCE_PARTY
    )
    member = factories.CruiseMemberFactory(cruise=cruise, role=CruiseMember.Role.SCIENCE_PARTY)

    lines = party_lines(cruise, chief_scientist)
    assert 'class="tag">invited<' in lines["Newcomer"]
    assert "invited" not in lines["Named Only"]  # never invited: no address to invite
    assert "invited" not in lines[member.name]  # has an account
    assert "invited" not in lines[chief_scientist.name]


def test_an_accepted_invitation_loses_the_tag(cruise, chief_scientist, user_factory):
    invited = services.designate_member(
        cruise, chief_scientist, email="newcomer@example.org", name="Newcomer"
    )
    newcomer = user_factory("newcomer@example.org")
    services.accept_invitation(services.invitation_token(invited), newcomer)
    assert "invited" not in party_lines(cruise, chief_scientist)["Newcomer"]
