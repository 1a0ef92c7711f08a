"""The personal dashboard (/me/): what waits for each role, with counts and links, in a fixed number of
queries; the navigation and the home page lead to it and to the queues it counts."""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts import services as accounts
from apps.holds.models import Hold
from apps.publishing.models import Doi
from apps.reviews import services as reviews
from apps.submissions.models import Submission
from tests import factories
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def page_for(user, url: str = "/me/") -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def panels(page: str) -> dict[str, int]:
    """panel key → its main count, as the page shows them."""
    found = {}
    for key, body in re.findall(
        r'<section class="dash-panel[^"]*" id="panel-([a-z-]+)"(.*?)</section>', page, re.S
    ):
        count = re.search(r'data-count="(\d+)"', body)
        found[key] = int(count[1]) if count else None
    return found


def extra(page: str, key: str, label: str) -> int:
    body = re.search(rf'id="panel-{key}"(.*?)</section>', page, re.S)[1]
    return int(re.search(rf'data-extra="{re.escape(label)}">(\d+) ', body)[1])


def hold(cruise, days: int) -> Hold:
    return Hold.objects.create(
        cruise=cruise, ends_on=timezone.now().date() + datetime.timedelta(days=days), reason="thesis"
    )


@pytest.fixture
def other_cruise(db):
    org = factories.OrganisationFactory(name="Other Institution", short_name="OTH")
    return factories.CruiseFactory(
        cruise_id="OT2401", vessel=factories.VesselFactory(code="OT", operator=org)
    )


def test_the_dashboard_is_for_signed_in_people(client):
    response = client.get("/me/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_data_manager_sees_the_doi_queue_its_failures_submitter_requests_and_every_hold(
    data_manager, cruise, other_cruise
):
    published = [factories.make_revision("published") for _ in range(2)]
    Doi.objects.filter(revision=published[0]).update(last_error="DataCite answered 500", attempts=3)
    queued = Doi.objects.exclude(state="findable").count()
    accounts.request_submitter(make_user("asker@example.org"), reason="Plankton.")
    hold(cruise, 10)
    hold(other_cruise, 200)

    page = page_for(data_manager)
    assert panels(page) == {"dois": queued, "submitter-requests": 1, "holds": 2, "submissions": 0}
    assert extra(page, "dois", "failing") == 1
    assert extra(page, "holds", "ending within 30 days") == 1
    assert 'class="dash-panel dash-attention" id="panel-dois"' in page  # failures stand out
    assert reverse("publishing:doi-queue") in page and reverse("accounts:submitter-requests") in page


def test_a_chief_scientist_sees_reviews_to_do_and_only_their_cruises_holds(
    chief_scientist, operator_user, cruise, other_cruise
):
    review = reviews.request_review(cruise, operator_user)
    hold(cruise, 20)
    hold(other_cruise, 20)  # somebody else's cruise: not counted

    page = page_for(chief_scientist)
    assert panels(page) == {"reviews": 1, "holds": 1, "become-submitter": None}
    assert extra(page, "holds", "ending within 30 days") == 1
    assert reverse("reviews:detail", args=[review.pk]) in page
    # Once the chief scientist approves, nothing waits for them (the operator has not approved yet).
    reviews.decide(review, chief_scientist, "approve")
    assert panels(page_for(chief_scientist))["reviews"] == 0
    assert panels(page_for(operator_user))["reviews"] == 1


def test_a_vetted_submitter_sees_their_submissions_by_state(vetted_user):
    for state in ("pending", "running", "succeeded", "succeeded", "failed"):
        Submission.objects.create(
            user=vetted_user, state=state, eml_text="", package_id_text=f"edi.{state}.1"
        )
    Submission.objects.create(user=make_user("someone@example.org"), eml_text="")  # not theirs

    page = page_for(vetted_user)
    assert panels(page) == {"submissions": 5}
    assert extra(page, "submissions", "in progress") == 2
    assert extra(page, "submissions", "succeeded") == 2
    assert extra(page, "submissions", "failed") == 1
    latest = Submission.objects.filter(user=vetted_user).first()
    assert reverse("submissions:status", args=[latest.transaction]) in page


def test_a_plain_user_is_offered_to_become_a_submitter_and_sees_their_request_waiting(plain_user):
    page = page_for(plain_user)
    assert list(panels(page)) == ["become-submitter"]
    assert reverse("accounts:submitter-request") in page and "Request to become a submitter" in page
    accounts.request_submitter(plain_user, reason="Plankton.")
    assert "Your request is waiting" in page_for(plain_user)


def _fill(n: int, data_manager, cruise) -> None:
    """``n`` of everything a data manager's dashboard counts."""
    for i in range(n):
        revision = factories.make_revision("published")
        Doi.objects.filter(revision=revision).update(last_error="timeout")
        accounts.request_submitter(make_user(f"asker{n}-{i}@example.org"), reason="Data.")
        hold(cruise, 5 + i)
        Submission.objects.create(user=data_manager, state="failed", eml_text="")
        their = factories.CruiseFactory(cruise_id=f"TE24{n:02d}{i:02d}", vessel=cruise.vessel)
        factories.CruiseMemberFactory(cruise=their, user=data_manager, role="chief_scientist")
        reviews.request_review(their, data_manager)


def test_the_dashboard_costs_the_same_queries_however_much_waits(
    data_manager, cruise, django_assert_max_num_queries
):
    _fill(1, data_manager, cruise)
    client = Client()
    client.force_login(data_manager)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/me/").status_code == 200
    _fill(8, data_manager, cruise)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/me/").content.decode()
    assert panels(page) == {"reviews": 9, "dois": 18, "submitter-requests": 9, "holds": 9, "submissions": 9}
    assert len(few.captured_queries) <= 25


def test_the_navigation_leads_each_role_to_its_queues(
    data_manager, chief_scientist, operator_user, plain_user
):
    def nav(user) -> set[str]:
        html = page_for(user, "/search/")
        menu = re.search(r'<ul id="nav-links".*?</ul>', html, re.S)[0]
        return set(re.findall(r'href="([^"]+)"', menu))

    queues = {"/me/", reverse("reviews:inbox"), reverse("holds:list"), reverse("publishing:doi-queue")}
    assert queues | {reverse("accounts:submitter-requests")} <= nav(data_manager)
    assert nav(chief_scientist) & queues == {"/me/", reverse("reviews:inbox"), reverse("holds:list")}
    assert nav(operator_user) & queues == {"/me/", reverse("reviews:inbox")}
    assert nav(plain_user) & queues == {"/me/"}
    assert not {"/me/"} & set(re.findall(r'href="([^"]+)"', Client().get("/search/").content.decode()))


def test_the_home_page_leads_a_signed_in_person_to_the_dashboard(plain_user, client):
    assert 'id="dashboard-link"' in page_for(plain_user, "/")
    assert 'id="dashboard-link"' not in client.get("/").content.decode()
