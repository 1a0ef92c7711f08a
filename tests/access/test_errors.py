"""The shared error types answer in the format of their endpoint: JSON for the API, a page for HTML."""

from __future__ import annotations

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.reviews import services as reviews
from apps.reviews.models import Review
from portal.errors import UserError

pytestmark = pytest.mark.django_db


class DecideApi(APIView):
    """A minimal API view over a real service, as the apps' API views are: no try/except of its own."""

    def post(self, request, pk: int):
        review = reviews.decide(Review.objects.get(pk=pk), request.user, request.data.get("decision", ""))
        return Response({"state": review.state})


urlpatterns = [path("decide/<int:pk>/", DecideApi.as_view())]


@pytest.fixture
def review(cruise, operator_user, chief_scientist):
    return reviews.request_review(cruise, operator_user)


def test_review_errors_are_user_errors():
    assert issubclass(reviews.ReviewError, UserError)


@pytest.mark.urls("tests.access.test_errors")
def test_a_user_error_from_a_service_is_a_400_with_its_message_in_json(
    api_client_factory, operator_user, review
):
    response = api_client_factory(operator_user).post(
        f"/decide/{review.pk}/", {"decision": "bogus"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Unknown decision 'bogus'."}


@pytest.mark.urls("tests.access.test_errors")
def test_a_forbidden_from_a_service_is_a_403_with_its_message_in_json(api_client_factory, plain_user, review):
    response = api_client_factory(plain_user).post(
        f"/decide/{review.pk}/", {"decision": "approve"}, format="json"
    )
    assert response.status_code == 403
    assert "reviewers" in response.json()["detail"]


def test_a_user_error_from_a_form_goes_back_to_its_page_with_the_message(client, operator_user, review):
    client.force_login(operator_user)
    page = f"http://testserver/reviews/{review.pk}/"
    response = client.post(f"/reviews/{review.pk}/decide/", {"decision": "bogus"}, HTTP_REFERER=page)
    assert response.status_code == 302 and response["Location"] == page
    assert "Unknown decision &#x27;bogus&#x27;." in client.get(page).content.decode()


def test_a_user_error_without_a_page_to_go_back_to_is_a_400_page(client, operator_user, review):
    client.force_login(operator_user)
    response = client.post(f"/reviews/{review.pk}/decide/", {"decision": "bogus"})
    assert response.status_code == 400
    assert "Unknown decision &#x27;bogus&#x27;." in response.content.decode()


def test_a_user_error_never_goes_back_to_another_site(client, operator_user, review):
    client.force_login(operator_user)
    response = client.post(
        f"/reviews/{review.pk}/decide/", {"decision": "bogus"}, HTTP_REFERER="https://evil.example/x"
    )
    assert response.status_code == 400
