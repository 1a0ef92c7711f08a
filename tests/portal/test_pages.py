"""The shared pages: home, friendly error pages, the OpenAPI schema and its offline docs page."""

import pytest

pytestmark = pytest.mark.django_db


def test_home_page_renders_in_the_base_layout(client):
    html = client.get("/").content.decode()
    assert "<h1>Quayside</h1>" in html and 'href="#main"' in html and 'name="viewport"' in html
    assert "Create an account" in html


def test_pages_load_no_script_or_style_from_elsewhere(client):
    for url in ["/", "/accounts/login/", "/api/docs/"]:
        html = client.get(url).content.decode()
        for attribute in ('src="http', "src='http", 'href="http', "//cdn"):
            assert attribute not in html.replace('href="http://testserver', ""), (url, attribute)


def test_unknown_page_gets_the_friendly_404(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Not found" in html and 'class="site-header"' in html


def test_forbidden_page_says_why(client, plain_user):
    client.force_login(plain_user)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert "Only data managers may do this." in response.content.decode()


def test_server_error_page_is_friendly(rf):
    from portal.views import error_500

    response = error_500(rf.get("/"))
    assert response.status_code == 500 and "Something went wrong" in response.content.decode()


def test_openapi_schema_describes_the_foundation_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ["/api/me/", "/api/tokens/", "/api/tokens/{token_id}/revoke/", "/api/audit/"]:
        assert path in schema["paths"], path
    assert {"ApiToken", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_api_docs_page_serves_redoc_from_our_static_files(client):
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in html
