"""The audit log: one event for every write (web, API, worker), refusals as warnings with their status,
never changed or deleted, browsable and filterable by data managers on the page and through the API."""

import datetime

import pytest
from django.utils import timezone

from apps.audit.models import AppendOnlyError, AuditEvent
from apps.audit.services import record_event
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def test_events_are_never_changed_or_deleted():
    event = record_event(service="test", method="m", text="original")
    event.entry_text = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(entry_text="rewritten")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).entry_text == "original"


def test_the_admin_cannot_add_change_or_delete_events(client, data_manager):
    event = record_event(service="test", method="m")
    client.force_login(data_manager)
    assert client.get(f"/admin/audit/auditevent/{event.pk}/change/").status_code == 200  # view only
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_an_event_carries_who_how_and_with_what(rf, vetted_user):
    request = rf.post("/x", HTTP_USER_AGENT="ShipLogger/2.1")
    request.user = vetted_user
    event = record_event(
        service="packages", method="create", text="made", resource_id="edi.1.1", status=201, request=request
    )
    assert (event.user, event.user_id_text, event.user_agent, event.groups, event.auth_system) == (
        vetted_user,
        "vetted@example.org",
        "ShipLogger/2.1",
        "vetted",
        "session",
    )
    assert event.category == "info" and event.status_code == 201 and event.resource_id == "edi.1.1"


def test_every_api_write_is_recorded_with_its_outcome(vetted_user):
    api = api_client_for(vetted_user)
    assert (
        api.patch(
            "/api/me/", {"affiliation": "Ocean Lab"}, format="json", HTTP_USER_AGENT="qs-cli/1"
        ).status_code
        == 200
    )
    ok = AuditEvent.objects.get(service="api", service_method="PATCH api-me")
    assert (ok.category, ok.status_code, ok.auth_system, ok.user, ok.user_agent) == (
        "info",
        200,
        "token",
        vetted_user,
        "qs-cli/1",
    )
    assert AuditEvent.objects.filter(
        service="accounts", service_method="update_profile", user=vetted_user
    ).exists()

    # Refused writes: bad input, no permission, no credentials. Each is a warning with its status.
    assert api.patch("/api/me/", {"orcid": "1234"}, format="json").status_code == 400
    assert api.post("/api/audit/", {}, format="json").status_code == 403
    assert api_client_for(None).post("/api/tokens/", {"name": "x"}, format="json").status_code == 401
    refused = AuditEvent.objects.filter(service="api", category="warn").order_by("id")
    assert [(e.service_method, e.status_code) for e in refused] == [
        ("PATCH api-me", 400),
        ("POST api-audit-list", 403),
        ("POST api-tokens", 401),
    ]
    assert refused.last().user_id_text == "public"


def test_web_writes_are_recorded_too(client, plain_user):
    client.force_login(plain_user)
    client.post("/profile/", {"name": "P. User", "affiliation": "", "orcid": ""})
    event = AuditEvent.objects.get(service="web")
    assert (
        event.service_method == "POST accounts:profile"
        and event.status_code == 302
        and event.user == plain_user
    )


@pytest.fixture
def events(plain_user, vetted_user):
    old = timezone.now() - datetime.timedelta(days=3)
    AuditEvent(
        service="accounts",
        service_method="login",
        category="warn",
        status_code=401,
        entry_time=old,
        user_id_text="public",
    ).save(force_insert=True)
    record_event(service="accounts", method="login", user=plain_user)
    record_event(
        service="packages", method="create_revision", resource_id="edi.7.1", user=vetted_user, status=201
    )
    record_event(service="worker", method="fetch", category="error", resource_id="edi.7.1")


# Signing the data manager in adds a fifth event: accounts/login/info.
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 5),
        ("?service=accounts", 3),
        ("?category=warn", 1),
        ("?method=revision", 1),
        ("?resource=edi.7", 2),
        ("?user=vetted", 1),
        ("?status=401", 1),
        # Filled in by the test, not at collection: parallel workers that collect a minute apart must
        # see the same test ids (pytest-xdist refuses to run otherwise).
        ("?since={yesterday}", 4),
        ("?service=accounts&category=info", 2),
    ],
)
def test_data_managers_filter_the_page_and_the_api(client, data_manager, events, query, expected):
    query = query.format(yesterday=(timezone.now() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    client.force_login(data_manager)
    page = client.get("/audit/" + query)
    assert page.status_code == 200
    assert page.context["page"].paginator.count == expected
    api = api_client_for(data_manager)
    body = api.get("/api/audit/" + query).json()
    assert body["count"] == expected


def test_audit_page_lists_newest_first_in_few_queries(
    client, data_manager, events, django_assert_max_num_queries
):
    client.force_login(data_manager)
    with django_assert_max_num_queries(8):
        html = client.get("/audit/").content.decode()
    assert html.index("edi.7.1") < html.index("public")
