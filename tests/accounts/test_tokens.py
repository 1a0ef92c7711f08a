"""API tokens: created and revoked from the profile page and the API, shown once, stored hashed,
accepted until revoked; each change leaves an audit event."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.access.roles import is_vetted
from apps.accounts.models import ApiToken
from apps.audit.models import AuditEvent
from tests.conftest import api_client_for, make_user

pytestmark = pytest.mark.django_db


def test_token_created_on_the_profile_page_is_shown_once_and_works(client, plain_user):
    client.force_login(plain_user)
    response = client.post("/profile/tokens/", {"name": "ship logger"})
    assert response.status_code == 302
    page = client.get("/profile/").content.decode()
    token = ApiToken.objects.get(user=plain_user)
    key = page.split('id="new-token">')[1].split("<")[0]
    assert key.startswith("qs_") and token.key_hash != key  # only the hash is stored
    assert 'id="new-token"' not in client.get("/profile/").content.decode()  # shown once

    api = api_client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/me/").json()["email"] == plain_user.email
    event = AuditEvent.objects.get(service_method="create_token")
    assert event.user == plain_user and event.resource_id == f"token/{token.pk}"


def test_revoked_token_is_refused(client, plain_user):
    token, key = ApiToken.issue(plain_user, "old")
    client.force_login(plain_user)
    assert client.post(f"/profile/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    api = api_client_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = api.get("/api/me/")
    assert response.status_code == 401 and "revoked" in response.json()["detail"]
    assert AuditEvent.objects.filter(service_method="revoke_token", user=plain_user).count() == 1


def test_api_creates_and_revokes_tokens(plain_user):
    api = api_client_for(plain_user)
    created = api.post("/api/tokens/", {"name": "buoy uploader"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("qs_") and body["name"] == "buoy uploader"
    listed = api.get("/api/tokens/").json()
    assert "key" not in listed[0]
    revoked = api.post(f"/api/tokens/{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    methods = list(AuditEvent.objects.filter(service="accounts").values_list("service_method", flat=True))
    assert sorted(methods) == ["create_token", "revoke_token"]
    api_events = AuditEvent.objects.filter(service="api").order_by("id")
    assert [(e.service_method, e.status_code, e.auth_system) for e in api_events] == [
        ("POST api-tokens", 201, "token"),
        ("POST api-token-revoke", 200, "token"),
    ]


def test_nobody_revokes_someone_elses_token(plain_user):
    owner = make_user("owner@example.org")
    token, _ = ApiToken.issue(owner, "mine")
    assert api_client_for(plain_user).post(f"/api/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_bad_authorization_headers_are_refused():
    api = api_client_for(None)
    api.credentials(HTTP_AUTHORIZATION="Token")
    assert api.get("/api/me/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Token qs_not-a-real-token")
    assert api.get("/api/me/").status_code == 401


def test_an_authorization_header_that_is_not_utf8_is_refused_not_a_crash(plain_user):
    api = api_client_for(None)
    api.credentials(HTTP_AUTHORIZATION="\xff\xfeToken abc")  # latin-1 bytes, invalid UTF-8
    assert api.get("/api/me/").status_code in (401, 403)
    api.credentials(HTTP_AUTHORIZATION="Token \xff\xfe")
    response = api.get("/api/me/")
    assert response.status_code == 401 and "invalid characters" in response.json()["detail"]


def test_deeply_nested_json_is_a_400_not_a_crash(plain_user):
    api = api_client_for(plain_user)
    body = "[" * 100_000 + "]" * 100_000
    response = api.post("/api/tokens/", body, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_the_token_look_up_brings_the_user_as_the_orm_loads_it_with_its_groups_and_refuses_revoked_keys(
    plain_user,
):
    """``ApiToken.lookup`` reads the token, its user and the user's group names in one hand-written
    statement (portal.sqlrows); what it returns must be what the ORM would have given."""
    token, key = ApiToken.issue(plain_user, "logger")
    for name in ("vetted", "a-group", "zeta"):
        Group.objects.get_or_create(name=name)
        plain_user.groups.add(Group.objects.get(name=name))
    found = ApiToken.lookup(key)
    fresh = type(plain_user).objects.get(pk=plain_user.pk)
    assert found.pk == token.pk and found.user_id == plain_user.pk and found.last_used_at is None
    assert {f.attname: getattr(found.user, f.attname) for f in fresh._meta.concrete_fields} == {
        f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields
    }
    assert found.user.group_names == fresh.group_names == ["a-group", "vetted", "zeta"]
    assert is_vetted(found.user)
    assert ApiToken.lookup(key + "x") is None
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert ApiToken.lookup(key) is None  # revocation counts at once: nothing is cached
