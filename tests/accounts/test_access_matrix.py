"""Who may open what: every page and endpoint of the foundation, for anonymous visitors, a plain user and
each role. Web pages use a signed-in session; API endpoints use a personal API token."""

from __future__ import annotations

import pytest

from apps.accounts.models import ApiToken
from apps.storage import services as storage
from tests.conftest import ROLES, api_client_for, make_user

pytestmark = pytest.mark.django_db

EVERYONE = dict.fromkeys(ROLES, 200)
SIGNED_IN = [r for r in ROLES if r != "anonymous"]


def table(anonymous, others, **overrides) -> dict[str, int]:
    return {"anonymous": anonymous, **dict.fromkeys(SIGNED_IN, others), **overrides}


# (name, via, method, url, expected status per role). "{blob}" and "{token}" are filled in per test:
# a stored blob, and an API token that belongs to somebody else.
MATRIX = [
    ("home", "web", "get", "/", EVERYONE),
    ("healthz", "web", "get", "/healthz", EVERYONE),
    # allauth sends signed-in people away from the entrance pages.
    ("signup", "web", "get", "/accounts/signup/", table(200, 302)),
    ("login", "web", "get", "/accounts/login/", table(200, 302)),
    ("password reset", "web", "get", "/accounts/password/reset/", EVERYONE),
    ("profile", "web", "get", "/profile/", table(302, 200)),
    ("token create", "web", "post", "/profile/tokens/", table(302, 302)),
    ("token revoke (someone else's)", "web", "post", "/profile/tokens/{token}/revoke/", table(302, 404)),
    ("api me", "api", "get", "/api/me/", table(401, 200)),
    ("api me update", "api", "patch", "/api/me/", table(401, 200)),
    ("api token list", "api", "get", "/api/tokens/", table(401, 200)),
    ("api token create", "api", "post", "/api/tokens/", table(401, 201)),
    ("api token revoke (someone else's)", "api", "post", "/api/tokens/{token}/revoke/", table(401, 404)),
    ("audit page", "web", "get", "/audit/", table(302, 403, data_manager=200)),
    ("audit api", "api", "get", "/api/audit/", table(401, 403, data_manager=200)),
    ("blob download", "web", "get", "/storage/blobs/{blob}", table(302, 403, data_manager=200)),
    ("blob upload page", "web", "get", "/storage/upload/", table(302, 403, data_manager=200)),
    # The admin sends everyone who is not staff to its own login page.
    ("admin", "web", "get", "/admin/", table(302, 302, data_manager=200)),
    ("admin users", "web", "get", "/admin/accounts/user/", table(302, 302, data_manager=200)),
    ("api schema", "web", "get", "/api/schema/", EVERYONE),
    ("api docs", "web", "get", "/api/docs/", EVERYONE),
]

CASES = [
    pytest.param(name, via, method, url, role, expected[role], id=f"{name}-{role}")
    for name, via, method, url, expected in MATRIX
    for role in ROLES
]


@pytest.mark.parametrize(("name", "via", "method", "url", "role", "status"), CASES)
def test_access_matrix(client, role_user, name, via, method, url, role, status):
    user = role_user(role)
    other = make_user("someone-else@example.org")
    token, _ = ApiToken.issue(other, "not yours")
    blob = storage.store_bytes(b"matrix blob")
    url = url.format(token=token.pk, blob=blob.sha256)
    data = {"name": "matrix"} if "token" in name and method == "post" else {}
    if via == "api":
        caller = api_client_for(user)
        response = getattr(caller, method)(url, data, format="json")
    else:
        if user is not None:
            client.force_login(user)
        response = getattr(client, method)(url, data)
    assert response.status_code == status, f"{method.upper()} {url} as {role}: {response.status_code}"
    if status == 302 and role == "anonymous" and not url.startswith("/admin/"):
        assert response["Location"].startswith("/accounts/login/")
    # Someone else's token is never touched, whoever asks.
    token.refresh_from_db()
    assert token.revoked_at is None
