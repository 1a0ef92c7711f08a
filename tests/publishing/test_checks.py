import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from apps.publishing.checks import check_public_identity


def ids(messages):
    return sorted(m.id for m in messages)


def test_a_laptop_run_is_not_flagged(settings):
    settings.PRODUCTION = False
    settings.SITE_BASE_URL = "http://127.0.0.1:8000"
    assert check_public_identity() == []


def test_production_with_local_names_is_flagged(settings):
    settings.PRODUCTION = True
    settings.SITE_BASE_URL = "http://127.0.0.1:8000"
    settings.OAI_ADMIN_EMAIL = "quayside@localhost"
    settings.DATACITE_API_URL = ""
    assert ids(check_public_identity()) == ["quayside.W001", "quayside.W002"]


def test_registering_dois_to_a_local_address_is_an_error_that_stops_manage_commands(settings):
    settings.PRODUCTION = True
    settings.SITE_BASE_URL = "http://localhost:8000"
    settings.OAI_ADMIN_EMAIL = "data@example.org"
    settings.DATACITE_API_URL = "https://api.test.datacite.org"
    assert ids(check_public_identity()) == ["quayside.E001"]
    with pytest.raises(SystemCheckError, match="SITE_BASE_URL"):
        call_command("check")


def test_a_public_configuration_passes(settings):
    settings.PRODUCTION = True
    settings.SITE_BASE_URL = "https://data.example.org"
    settings.OAI_ADMIN_EMAIL = "data@example.org"
    settings.DATACITE_API_URL = "https://api.datacite.org"
    assert check_public_identity() == []
