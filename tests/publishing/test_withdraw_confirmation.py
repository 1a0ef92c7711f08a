"""Withdrawal asks first (a reason category and a public explanation, as Dataverse's deaccession does);
the tombstone answers 410 Gone with its page, and the DOI keeps resolving to it."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.publishing import services
from tests.conftest import api_client_for


def page_url(revision) -> str:
    return f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"


def test_the_landing_page_links_a_confirmation_page_instead_of_withdrawing_at_once(
    client, make_revision, data_manager
):
    revision = make_revision()
    client.force_login(data_manager)
    landing = client.get(page_url(revision)).content.decode()
    assert f'id="withdraw-link" href="{page_url(revision)}withdraw"' in landing
    assert 'action="' + page_url(revision) + 'withdraw"' not in landing  # no bare POST form
    page = client.get(f"{page_url(revision)}withdraw")
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("cannot be undone", "Error in the data", "Legal or rights issue", "Duplicate", "Other"):
        assert text in html, text
    assert Revision.objects.get(pk=revision.pk).state == Revision.State.PUBLISHED


def test_withdrawing_needs_a_category_and_an_explanation(client, make_revision, data_manager):
    revision = make_revision()
    client.force_login(data_manager)
    url = f"{page_url(revision)}withdraw"
    for data in ({}, {"reason": "Sensor drift"}, {"category": "error-in-data", "reason": "x"}):
        response = client.post(url, data)
        assert response.status_code == 400 and b"withdraw-form" in response.content
    assert Revision.objects.get(pk=revision.pk).state == Revision.State.PUBLISHED
    response = client.post(url, {"category": "data-error", "reason": "Sensor drift after day 3"})
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.state == Revision.State.WITHDRAWN
    assert (
        revision.withdrawn_category == "data-error"
        and revision.withdrawn_reason == "Sensor drift after day 3"
    )
    event = AuditEvent.objects.get(service_method="withdraw", resource_id=revision.package_id_text)
    assert "data-error" in event.entry_text


def test_the_tombstone_is_gone_with_its_page_and_the_doi_lands_on_it(client, make_revision, data_manager):
    revision = make_revision()
    services.withdraw(revision, reason="Rights holder objected", category="legal", user=data_manager)
    response = client.get(page_url(revision))
    assert response.status_code == 410
    html = response.content.decode()
    assert "withdrawn" in html and "Legal or rights issue" in html and "Rights holder objected" in html
    resolved = client.get(f"/doi/{revision.doi}")
    assert resolved.status_code == 302 and resolved["Location"].endswith(page_url(revision))
    assert client.get(resolved["Location"]).status_code == 410


def test_the_service_refuses_an_unknown_category(make_revision, data_manager):
    revision = make_revision()
    with pytest.raises(services.PublishingError, match="category"):
        services.withdraw(revision, reason="x", category="boredom", user=data_manager)


def test_the_api_takes_the_category_too(make_revision, data_manager):
    revision = make_revision()
    url = f"/api/publishing/datasets/edi/{revision.package.identifier}/{revision.number}/withdraw/"
    api = api_client_for(data_manager)
    assert api.post(url, {"reason": "x", "category": "nonsense"}, format="json").status_code == 400
    assert (
        api.post(url, {"reason": "Twice uploaded", "category": "duplicate"}, format="json").status_code == 200
    )
    assert Revision.objects.get(pk=revision.pk).withdrawn_category == "duplicate"
