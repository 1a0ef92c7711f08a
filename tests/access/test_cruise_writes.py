"""Anonymous visitors, plain users and the right role on every write endpoint of the cruises work."""

import datetime

import pytest
from django.utils import timezone

from apps.cruises.models import CruiseFile
from apps.cruises.services import attach_file, designate_member, invitation_token
from apps.holds import services as holds
from apps.reviews import services as reviews
from tests.cruises.helpers import approve_cruise, open_log


def test_anonymous_visitors_are_sent_to_login_everywhere(client, cruise, operator_user, chief_scientist):
    review = reviews.request_review(cruise, operator_user)
    member = designate_member(cruise, chief_scientist, email="invitee@example.org")
    for method, url in [
        ("post", f"/eventlogs/{cruise.pk}/open/"),
        ("post", f"/eventlogs/{cruise.pk}/close/"),
        ("post", f"/reviews/cruise/{cruise.pk}/request/"),
        ("post", f"/reviews/{review.pk}/decide/"),
        ("post", f"/reviews/{review.pk}/amend/"),
        ("post", f"/reviews/{review.pk}/reopen/"),
        ("get", f"/holds/cruise/{cruise.pk}/new/"),
        ("post", "/holds/1/lift/"),
        ("get", f"/cruises/invitations/{invitation_token(member)}/"),
    ]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_plain_users_are_refused_every_write(client, cruise, operator_user, chief_scientist, plain_user):
    review = reviews.request_review(cruise, operator_user)
    open_log(cruise, operator_user)
    client.force_login(plain_user)
    for url in [
        f"/eventlogs/{cruise.pk}/close/",
        f"/reviews/{review.pk}/decide/",
        f"/reviews/{review.pk}/amend/",
        f"/reviews/{review.pk}/reopen/",
        f"/holds/cruise/{cruise.pk}/new/",
    ]:
        assert client.post(url, {"decision": "approve"}).status_code == 403, url


def test_received_sailing_orders_stay_with_the_cruise_people(client, cruise, plain_user, chief_scientist):
    f = attach_file(
        cruise,
        kind=CruiseFile.Kind.SAILING_ORDERS,
        filename="orders.xml",
        data=b"<sailingOrders/>",
        content_type="application/xml",
    )
    url = f"/cruises/{cruise.pk}/files/{f.pk}/orders.xml"
    assert client.get(url).status_code == 403
    client.force_login(plain_user)
    assert client.get(url).status_code == 403
    client.force_login(chief_scientist)
    assert client.get(url).status_code == 200
    assert client.get(f"/cruises/{cruise.pk}/files/{f.pk}/other.xml").status_code == 404


@pytest.mark.parametrize(
    "who, expected", [("operator_user", 403), ("shipboard_staff", 403), ("chief_scientist", 302)]
)
def test_only_the_chief_scientist_lifts_a_hold(
    client, request, cruise, operator_user, chief_scientist, shipboard_staff, who, expected
):
    approve_cruise(cruise, operator_user, chief_scientist)
    hold = holds.assert_hold(
        cruise, chief_scientist, ends_on=timezone.now().date() + datetime.timedelta(days=5), reason="x"
    )
    client.force_login(request.getfixturevalue(who))
    assert client.post(f"/holds/{hold.pk}/lift/").status_code == expected
