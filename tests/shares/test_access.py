"""Who may share, edit and delete: approved sharers share; only the sharer and data managers edit; nobody
deletes; becoming a sharer is the vetted-submitter request, approved or declined with e-mail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from apps.access import roles
from apps.accounts import services as accounts
from apps.audit.models import AuditEvent
from apps.shares import services
from apps.shares.models import Draft
from portal.errors import Forbidden

from .conftest import signed_in, upload

pytestmark = pytest.mark.django_db


def test_a_person_not_yet_approved_gets_the_request_form(plain_user):
    response = signed_in(plain_user).get(reverse("shares:share"))
    assert response.status_code == 403 and b"reason" in response.content
    with pytest.raises(Forbidden):
        services.start_draft(plain_user, [], title="t", description="", licence="CC-BY-4.0")


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    assert client.get(reverse("shares:share")).status_code == 302


def test_approval_by_a_data_manager_makes_a_sharer_with_mail_both_ways(
    plain_user, data_manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        asked = accounts.request_submitter(plain_user, reason="ship CTD casts")
    assert [data_manager.email] in [m.to for m in mail.outbox]
    with django_capture_on_commit_callbacks(execute=True):
        accounts.decide_submitter_request(asked, data_manager, approve=True)
    plain_user.refresh_from_db()
    assert roles.can_share(type(plain_user).objects.get(pk=plain_user.pk))
    assert mail.outbox[-1].to == [plain_user.email]
    assert signed_in(plain_user).get(reverse("shares:share")).status_code == 200


def test_only_the_sharer_and_data_managers_edit(shared, user_factory, data_manager):
    share, revision, _ = shared
    other = user_factory("other-sharer@quayside.example", "vetted")
    form = {"title": "Taken over", "description": "", "licence": "CC-BY-4.0"}
    assert signed_in(other).post(reverse("shares:edit", args=[share.short_id]), form).status_code == 403
    assert signed_in(other).get(reverse("shares:new-version", args=[share.short_id])).status_code == 403
    assert (
        signed_in(data_manager).post(reverse("shares:edit", args=[share.short_id]), form).status_code == 302
    )
    revision.refresh_from_db()
    assert revision.title == "Taken over"
    assert AuditEvent.objects.filter(service="shares", service_method="editMetadata").count() == 1


def test_nobody_deletes_a_share(shared, data_manager):
    share, revision, client = shared
    url = reverse("shares:detail", args=[share.short_id])
    page = client.get(url).content.decode()
    assert "delete" not in page.lower().replace("cannot be deleted", "")
    for who in (client, signed_in(data_manager)):
        assert who.delete(url).status_code == 405
        assert who.post(url).status_code == 405
    assert revision.package.revisions.filter(pk=revision.pk).exists()


def test_a_draft_is_private_to_its_sharer(vetted_user, user_factory):
    client = signed_in(vetted_user)
    client.post(
        reverse("shares:share"),
        {"title": "T", "licence": "CC-BY-4.0", "description": "", "files": [upload("a.txt", b"x")]},
    )
    pk = Draft.objects.get(sharer=vetted_user).pk
    other = user_factory("nosy@quayside.example", "vetted")
    assert signed_in(other).get(reverse("shares:draft", args=[pk])).status_code == 404
    assert client.get(reverse("shares:draft", args=[pk])).status_code == 200


def test_a_licence_off_the_list_is_refused(vetted_user):
    response = signed_in(vetted_user).post(
        reverse("shares:share"),
        {"title": "T", "licence": "All rights reserved", "description": "", "files": [upload("a.txt", b"x")]},
    )
    assert response.status_code == 400
