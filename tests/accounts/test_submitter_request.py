"""A signed-in person who is not vetted asks to become a submitter; a data manager approves or declines.
Both sides get e-mail, every step is audited, and approval grants the vetted role (the Gatekeeper's)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.access import roles
from apps.accounts import services
from apps.accounts.models import SubmitterRequest, User
from apps.audit.models import AuditEvent
from portal.errors import Conflict, Forbidden, UserError
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_plain_user_gets_a_request_button_instead_of_a_bare_403_on_the_submit_page(plain_user):
    response = client_for(plain_user).get(reverse("submissions:submit"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Request to become a submitter" in page
    assert f'action="{reverse("accounts:submitter-request")}"' in page
    assert 'id="not-vetted"' in page  # the Gatekeeper's reason stays on the page


def test_the_request_flow_end_to_end_grants_the_vetted_role_and_mails_both_sides(
    plain_user, data_manager, django_capture_on_commit_callbacks
):
    person = client_for(plain_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = person.post(
            reverse("accounts:submitter-request"), {"reason": "Zooplankton counts from our 2024 cruises."}
        )
    assert response.status_code == 302
    asked = SubmitterRequest.objects.get(user=plain_user)
    assert asked.state == SubmitterRequest.State.PENDING
    assert {m.to[0] for m in mail.outbox} == {plain_user.email, data_manager.email}
    to_manager = next(m for m in mail.outbox if m.to == [data_manager.email])
    assert "Zooplankton counts" in to_manager.body
    assert reverse("accounts:submitter-requests") in to_manager.body
    # The person sees that the request waits (and cannot send a second one from the page).
    page = person.get(reverse("accounts:submitter-request")).content.decode()
    assert 'id="request-pending"' in page and "<textarea" not in page

    manager = client_for(data_manager)
    listing = manager.get(reverse("accounts:submitter-requests")).content.decode()
    assert f'id="request-{asked.pk}"' in listing and "Zooplankton counts" in listing
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            reverse("accounts:submitter-request-decide", args=[asked.pk]), {"decision": "approve"}
        )
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.state == SubmitterRequest.State.APPROVED
    assert asked.decided_by == data_manager and asked.decided_at is not None
    assert roles.is_vetted(User.objects.get(pk=plain_user.pk))
    assert [m.to for m in mail.outbox] == [[plain_user.email]]
    assert "approved" in mail.outbox[0].subject
    # Now a submitter: the submit page opens.
    assert client_for(plain_user).get(reverse("submissions:submit")).status_code == 200
    methods = list(
        AuditEvent.objects.filter(service="accounts", resource_id=f"user/{plain_user.pk}")
        .exclude(service_method="login")
        .order_by("entry_time", "pk")
        .values_list("service_method", "user_id_text")
    )
    assert methods == [
        ("requestSubmitter", plain_user.email),
        ("approveSubmitter", data_manager.email),
    ]


def test_a_declined_request_leaves_the_person_unvetted_tells_them_and_lets_them_ask_again(
    plain_user, data_manager, django_capture_on_commit_callbacks
):
    asked = services.request_submitter(plain_user, reason="Please.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.decide_submitter_request(asked, data_manager, approve=False)
    assert not roles.is_vetted(User.objects.get(pk=plain_user.pk))
    assert [m.to for m in mail.outbox] == [[plain_user.email]] and "declined" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(service_method="declineSubmitter").count() == 1
    page = client_for(plain_user).get(reverse("accounts:submitter-request")).content.decode()
    assert "was declined" in page and "<textarea" in page
    assert services.request_submitter(plain_user, reason="Once more, with a project.").pk != asked.pk


def test_a_second_request_while_one_waits_is_a_conflict(plain_user):
    services.request_submitter(plain_user, reason="First.")
    with pytest.raises(Conflict):
        services.request_submitter(plain_user, reason="Second.")
    assert SubmitterRequest.objects.filter(user=plain_user).count() == 1


def test_a_request_is_decided_once(plain_user, data_manager):
    asked = services.request_submitter(plain_user, reason="Please.")
    services.decide_submitter_request(asked, data_manager, approve=True)
    with pytest.raises(Conflict):
        services.decide_submitter_request(asked, data_manager, approve=False)


def test_someone_already_vetted_cannot_ask(vetted_user):
    with pytest.raises(Forbidden):
        services.request_submitter(vetted_user, reason="Again?")


def test_only_data_managers_decide(plain_user):
    other = make_user("other@example.org")
    asked = services.request_submitter(plain_user, reason="Please.")
    with pytest.raises(Forbidden):
        services.decide_submitter_request(asked, other, approve=True)
    with pytest.raises(Forbidden):  # nor may the person approve their own request
        services.decide_submitter_request(asked, plain_user, approve=True)
    asked.refresh_from_db()
    assert asked.state == SubmitterRequest.State.PENDING


def test_an_empty_reason_is_refused_with_the_error_under_the_field(plain_user):
    with pytest.raises(UserError):
        services.request_submitter(plain_user, reason="   ")
    response = client_for(plain_user).post(reverse("accounts:submitter-request"), {"reason": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_reason_helptext id_reason_error"' in page
    assert page.index('name="reason"') < page.index('id="id_reason_error"')
    assert not SubmitterRequest.objects.exists()


def test_the_profile_page_offers_the_request_only_to_people_who_are_not_vetted(plain_user, vetted_user):
    link = reverse("accounts:submitter-request")
    assert link in client_for(plain_user).get(reverse("accounts:profile")).content.decode()
    assert link not in client_for(vetted_user).get(reverse("accounts:profile")).content.decode()
