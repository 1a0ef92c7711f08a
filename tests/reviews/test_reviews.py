import pytest

from apps.cruises.models import Cruise
from apps.reviews import services
from apps.reviews.models import FieldChange, Review


@pytest.fixture
def review(cruise, operator_user, chief_scientist):
    return services.request_review(cruise, operator_user)


def test_both_approvals_are_needed(review, cruise, operator_user, chief_scientist):
    services.decide(review, operator_user, "approve")
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.IN_REVIEW
    assert services.decide(review, chief_scientist, "approve").state == Review.State.APPROVED
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.APPROVED and cruise.is_locked


def test_amendments_are_recorded_and_void_earlier_approvals(review, cruise, operator_user, chief_scientist):
    services.decide(review, operator_user, "approve")
    changes = services.amend(
        review, chief_scientist, {"mission_summary": "Amended mission", "instruments": ["CTD"]}
    )
    assert {c.field for c in changes} == {"mission_summary", "instruments"}
    change = FieldChange.objects.get(field="mission_summary")
    assert (change.old_value, change.new_value, change.user, change.role) == (
        "Test survey",
        "Amended mission",
        chief_scientist,
        "chief_scientist",
    )
    # The operator approved the old text: the chief's approval alone does not finish the review.
    assert services.decide(review, chief_scientist, "approve").state == Review.State.OPEN
    assert services.decide(review, operator_user, "approve").state == Review.State.APPROVED


def test_return_and_re_approve(review, cruise, operator_user, chief_scientist):
    services.decide(review, operator_user, "approve")
    with pytest.raises(services.ReviewError):
        services.decide(review, chief_scientist, "return")  # a return says why
    assert (
        services.decide(review, chief_scientist, "return", "Fix the arrival port").state
        == Review.State.RETURNED
    )
    with pytest.raises(services.ReviewError):
        services.decide(review, operator_user, "approve")
    services.amend(review, operator_user, {"survey_targets": "Line 90"})
    services.decide(review, operator_user, "resubmit")
    services.decide(review, chief_scientist, "approve")
    assert services.decide(review, operator_user, "approve").state == Review.State.APPROVED


def test_approval_locks_and_only_a_data_manager_reopens(
    review, cruise, operator_user, chief_scientist, data_manager, client
):
    services.decide(review, operator_user, "approve")
    services.decide(review, chief_scientist, "approve")
    with pytest.raises(services.ReviewError):
        services.amend(review, operator_user, {"mission_summary": "late change"})
    client.force_login(operator_user)
    assert client.get(f"/cruises/{cruise.pk}/edit/").status_code == 403
    assert client.post(f"/reviews/{review.pk}/reopen/", {"reason": "x"}).status_code == 403
    client.force_login(data_manager)
    assert client.post(f"/reviews/{review.pk}/reopen/", {"reason": "Wrong award"}).status_code == 302
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.IN_REVIEW
    services.amend(review, operator_user, {"mission_summary": "Corrected"})
    assert FieldChange.objects.filter(field="mission_summary", new_value="Corrected").exists()


def test_mail_goes_out_at_each_step(
    cruise, operator_user, chief_scientist, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        review = services.request_review(cruise, operator_user)
    assert any(m.to == [chief_scientist.email] and "Review requested" in m.subject for m in mailoutbox)
    with django_capture_on_commit_callbacks(execute=True):
        services.decide(review, chief_scientist, "approve")
    assert any(m.to == [operator_user.email] and "Approve" in m.subject for m in mailoutbox)


def test_inbox_lists_what_waits_for_me(review, operator_user, chief_scientist, plain_user, client):
    client.force_login(chief_scientist)
    assert f"/reviews/{review.pk}/" in client.get("/reviews/").content.decode()
    services.decide(review, chief_scientist, "approve")
    assert f"/reviews/{review.pk}/" not in client.get("/reviews/").content.decode()
    client.force_login(operator_user)
    assert f"/reviews/{review.pk}/" in client.get("/reviews/").content.decode()
    client.force_login(plain_user)
    assert f"/reviews/{review.pk}/" not in client.get("/reviews/").content.decode()


def test_review_pages_access(review, client, plain_user, shipboard_staff, chief_scientist):
    assert client.get("/reviews/").status_code == 302
    assert client.get(f"/reviews/{review.pk}/").status_code == 302
    client.force_login(plain_user)
    assert client.get(f"/reviews/{review.pk}/").status_code == 403
    assert client.post(f"/reviews/{review.pk}/decide/", {"decision": "approve"}).status_code == 403
    client.force_login(shipboard_staff)
    assert client.get(f"/reviews/{review.pk}/").status_code == 200  # the cruise's people may follow it
    assert client.post(f"/reviews/{review.pk}/decide/", {"decision": "approve"}).status_code == 403
    client.force_login(chief_scientist)
    page = client.get(f"/reviews/{review.pk}/")
    assert page.status_code == 200 and b'id="amend-form"' in page.content


def test_chief_amends_and_approves_through_the_pages(review, cruise, chief_scientist, operator_user, client):
    client.force_login(chief_scientist)
    data = {
        "amend-departure_date": "2024-03-01",
        "amend-arrival_date": "2024-03-21",
        "amend-mission_summary": "Amended via page",
        "amend-survey_targets": "",
        "amend-instruments_text": "",
    }
    from apps.cruises.models import Port

    port = Port.objects.create(name="Seattle")
    data.update({"amend-departure_port": port.pk, "amend-arrival_port": port.pk})
    assert client.post(f"/reviews/{review.pk}/amend/", data).status_code == 302
    assert client.post(f"/reviews/{review.pk}/decide/", {"decision": "approve"}).status_code == 302
    cruise.refresh_from_db()
    assert cruise.mission_summary == "Amended via page" and cruise.state == Cruise.State.IN_REVIEW
    assert "Amended via page" in client.get(f"/reviews/{review.pk}/").content.decode()


def test_request_needs_a_reviewer_role(cruise, plain_user, client):
    client.force_login(plain_user)
    assert client.post(f"/reviews/cruise/{cruise.pk}/request/").status_code == 403
    assert not Review.objects.exists()
