"""Every response says what may run in it: pages a nonce-based script policy, everything else a sandbox."""

import pytest

pytestmark = pytest.mark.django_db


def test_pages_allow_only_our_scripts_and_a_fresh_nonce(client):
    first, second = client.get("/"), client.get("/")
    policy = first["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy and "https:" not in policy  # nothing from another origin
    assert policy != second["Content-Security-Policy"]  # a nonce per response
    assert first["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/oai?verb=Identify", "/api/schema/", "/healthz"])
def test_machine_responses_are_sandboxed(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_api_docs_page_runs_redoc_with_the_nonce_and_nothing_from_a_cdn(client):
    response = client.get("/api/docs/")
    body = response.content.decode()
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in body
    assert "fonts.googleapis.com" not in body and "cdn." not in body
