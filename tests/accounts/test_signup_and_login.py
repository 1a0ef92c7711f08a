"""Sign-up with mandatory e-mail verification, login, logout and password reset through allauth's real
views and the locmem mail backend; every step that changes something leaves an audit event."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^/\s]+(/accounts/[^\s]+/)")


def link_in_last_mail() -> str:
    match = LINK.search(mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_sign_up_verify_email_then_log_in(client, mailoutbox):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New.Scientist@Example.org",
            "password1": "tide-gauge-7741",
            "password2": "tide-gauge-7741",
            "name": "Marie Tharp",
            "affiliation": "Lamont Geological Observatory",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email__iexact="new.scientist@example.org")
    assert (user.name, user.affiliation) == ("Marie Tharp", "Lamont Geological Observatory")  # for citations
    assert AuditEvent.objects.filter(service="accounts", service_method="signup", user=user).exists()

    # Mandatory verification: no session until the address is confirmed.
    assert "_auth_user_id" not in client.session
    response = client.post(
        "/accounts/login/", {"login": "new.scientist@example.org", "password": "tide-gauge-7741"}
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert "_auth_user_id" not in client.session

    assert len(mailoutbox) >= 1
    assert mailoutbox[0].subject.startswith("[Quayside]")
    confirm_url = link_in_last_mail()
    page = client.get(confirm_url)
    assert page.status_code == 200
    assert b"site-header" in page.content  # allauth's page inside our base layout
    response = client.post(confirm_url)
    assert response.status_code == 302
    assert user.emailaddress_set.get().verified
    assert AuditEvent.objects.filter(service_method="confirm_email", user=user).exists()
    assert int(client.session["_auth_user_id"]) == user.pk  # confirming signed them in
    client.post("/accounts/logout/")

    response = client.post(
        "/accounts/login/", {"login": "new.scientist@example.org", "password": "tide-gauge-7741"}
    )
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert int(client.session["_auth_user_id"]) == user.pk
    login = AuditEvent.objects.filter(service_method="login", user=user).latest("pk")
    assert login.category == "info" and login.auth_system == "session"
    assert client.get("/profile/").status_code == 200


def test_failed_login_is_audited_as_a_warning(client):
    make_user("sailor@example.org")
    response = client.post("/accounts/login/", {"login": "sailor@example.org", "password": "wrong"})
    assert response.status_code == 200  # the form again, with an error
    event = AuditEvent.objects.get(service_method="login", category="warn")
    assert event.status_code == 401 and "sailor@example.org" in event.entry_text


def test_logout_ends_the_session(client):
    user = make_user("sailor@example.org")
    client.force_login(user)
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_by_mail(client, mailoutbox):
    make_user("forgetful@example.org")
    response = client.post("/accounts/password/reset/", {"email": "forgetful@example.org"})
    assert response.status_code == 302
    reset_url = link_in_last_mail()
    response = client.get(reset_url)
    assert response.status_code == 302  # allauth moves the key into the session, then shows the form
    form_url = response["Location"]
    response = client.post(form_url, {"password1": "new-harbour-2231", "password2": "new-harbour-2231"})
    assert response.status_code == 302
    assert client.login(username="forgetful@example.org", password="new-harbour-2231")


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/confirm-email/"]
)
def test_entrance_pages_use_the_portal_layout(client, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<body class="entrance">' in html
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert "/static/css/quayside.css" in html


@pytest.mark.parametrize("url", ["/accounts/email/", "/accounts/password/change/", "/accounts/3rdparty/"])
def test_account_management_pages_use_the_portal_layout(client, url):
    client.force_login(make_user("sailor@example.org"))
    html = client.get(url).content.decode()
    assert '<body class="manage">' in html and 'class="subnav"' in html


def test_orcid_login_is_offered_when_its_keys_are_set(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {
            "BASE_DOMAIN": "orcid.org",
            "MEMBER_API": False,
            "APPS": [{"client_id": "APP-TEST", "secret": "s3cret", "key": ""}],
        },
    }
    page = client.get("/accounts/login/").content.decode()
    assert "/accounts/orcid/login/" in page and "Sign in with ORCID" in page
    assert client.get("/accounts/orcid/login/").status_code == 200  # allauth's "continue?" page
    response = client.post("/accounts/orcid/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("https://orcid.org/oauth/authorize?")
    assert "client_id=APP-TEST" in response["Location"]


def test_orcid_login_is_offered_when_configured_as_a_social_app(client, settings):
    from allauth.socialaccount.models import SocialApp
    from django.contrib.sites.models import Site

    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {"BASE_DOMAIN": "orcid.org", "MEMBER_API": False, "APPS": []}
    }
    app = SocialApp.objects.create(provider="orcid", name="ORCID", client_id="APP-DB", secret="x")
    app.sites.add(Site.objects.get_current())
    assert "Sign in with ORCID" in client.get("/accounts/login/").content.decode()
    response = client.post("/accounts/orcid/login/")
    assert (
        response["Location"].startswith("https://orcid.org/oauth/authorize?")
        and "APP-DB" in response["Location"]
    )


def test_no_orcid_button_without_keys(client, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "orcid": {"BASE_DOMAIN": "orcid.org", "MEMBER_API": False, "APPS": []}
    }
    assert "Sign in with ORCID" not in client.get("/accounts/login/").content.decode()


def test_orcid_login_fills_the_profile(rf):
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    from apps.accounts.adapters import SocialAccountAdapter

    account = SocialAccount(provider="orcid", uid="0000-0002-1825-0097")
    login = SocialLogin(account=account, user=User())
    user = SocialAccountAdapter().populate_user(
        rf.get("/"), login, {"email": "josiah@example.org", "first_name": "Josiah", "last_name": "Carberry"}
    )
    assert user.orcid == "0000-0002-1825-0097" and user.name == "Josiah Carberry"


def test_password_is_checked_at_sign_up(client):
    response = client.post(
        "/accounts/signup/", {"email": "a@example.org", "password1": "123", "password2": "123"}
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="a@example.org").exists()


def test_wrong_passwords_from_one_address_do_not_lock_the_account_elsewhere(client, settings):
    from django.core.cache import cache

    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/300s/key"}  # allauth's defaults
    cache.clear()
    make_user("bosun@example.org")
    guesser = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(5):
        client.post("/accounts/login/", {"login": "bosun@example.org", "password": "wrong"}, **guesser)
    refused = client.post("/accounts/login/", {"login": "bosun@example.org", "password": "wrong"}, **guesser)
    assert "Too many failed login attempts" in refused.content.decode()
    from tests.conftest import PASSWORD

    owner = client.post(
        "/accounts/login/",
        {"login": "bosun@example.org", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.20",
    )
    assert owner.status_code == 302  # the owner, from their own address, still gets in
    cache.clear()


def test_mail_names_this_portal_not_example_com(client, settings, mailoutbox):
    from django.contrib.sites.models import Site

    from portal.apps import name_the_site

    settings.SITE_BASE_URL = "https://data.quay.example"
    name_the_site()  # what every migrate does
    assert Site.objects.get_current().domain == "data.quay.example"
    make_user("purser@example.org")
    client.post("/accounts/password/reset/", {"email": "purser@example.org"})
    body = mailoutbox[-1].subject + mailoutbox[-1].body
    assert "example.com" not in body and settings.SITE_NAME in body


def test_sign_up_needs_a_name(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "anon@example.org", "password1": "tide-gauge-7741", "password2": "tide-gauge-7741"},
    )
    assert response.status_code == 200 and not User.objects.filter(email="anon@example.org").exists()
    assert "name" in response.context["form"].errors
