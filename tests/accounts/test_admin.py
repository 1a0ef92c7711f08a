"""Data managers use the Django admin: staff flag and model permissions come from the role itself."""

import pytest
from django.contrib.auth.models import Group, Permission

from apps.accounts import roles
from apps.accounts.apps import grant_data_manager_permissions
from apps.storage import services as storage
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_migrate_gives_data_managers_the_permissions_of_every_quayside_app():
    # The test database was built by migrate, so the post_migrate hook has already run for every app.
    perms = set(
        Group.objects.get(name=roles.DATA_MANAGER).permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    assert {("accounts", "change_user"), ("storage", "view_blob"), ("audit", "view_auditevent")} <= perms
    assert ("cruises", "change_cruise") in perms  # an app migrated after accounts
    # The audit log is read-only, even for curators.
    assert (
        not {("audit", "add_auditevent"), ("audit", "change_auditevent"), ("audit", "delete_auditevent")}
        & perms
    )


def test_the_hook_is_idempotent_and_catches_up_on_missing_permissions():
    dm = Group.objects.get(name=roles.DATA_MANAGER)
    dm.permissions.clear()
    grant_data_manager_permissions()
    grant_data_manager_permissions()
    assert dm.permissions.filter(codename="view_blob").count() == 1


@pytest.mark.parametrize("how", ["grant", "user.groups.add", "group.user_set.add"])
def test_joining_the_data_manager_group_opens_the_admin(client, how):
    user = make_user("curator2@example.org")
    group = Group.objects.get(name=roles.DATA_MANAGER)
    {
        "grant": lambda: roles.grant(user, roles.DATA_MANAGER),
        "user.groups.add": lambda: user.groups.add(group),
        "group.user_set.add": lambda: group.user_set.add(user),
    }[how]()
    user.refresh_from_db()
    assert user.is_staff
    client.force_login(user)
    assert client.get("/admin/").status_code == 200


def test_data_manager_browses_and_edits_in_the_admin(client, data_manager, plain_user):
    blob = storage.store_bytes(b"admin blob")
    client.force_login(data_manager)
    for url in [
        "/admin/accounts/user/",
        "/admin/storage/blob/",
        f"/admin/storage/blob/{blob.sha256}/change/",
        "/admin/audit/auditevent/",
    ]:
        assert client.get(url).status_code == 200, url
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    response = client.post(
        f"/admin/accounts/user/{plain_user.pk}/change/",
        {
            "email": plain_user.email,
            "name": "Renamed",
            "affiliation": "",
            "orcid": "",
            "is_active": "on",
            "groups": [],
            "last_login_0": "",
            "last_login_1": "",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plain_user.refresh_from_db()
    assert plain_user.name == "Renamed"


def test_other_roles_are_sent_to_the_admin_login(client, vetted_user):
    client.force_login(vetted_user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not Permission.objects.filter(user=vetted_user).exists()
