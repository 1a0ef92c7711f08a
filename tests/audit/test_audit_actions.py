"""One action, one line: the audit middleware's row for a web request and the service events recorded
while it ran share a request id, and the audit page and API show them as one action — the service event
as the main line, the request's method, path, status and agent as its details."""

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from apps.audit.models import AuditEvent
from apps.audit.services import record_event
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db


def _save_profile(client, user):
    client.force_login(user)
    response = client.post(
        "/profile/", {"name": "P. User", "affiliation": "Ocean Lab", "orcid": ""}, HTTP_USER_AGENT="Lynx/2.9"
    )
    assert response.status_code == 302


def test_the_request_row_and_the_service_event_share_one_request_id(client, plain_user):
    _save_profile(client, plain_user)
    request_row = AuditEvent.objects.get(service="web")
    service_event = AuditEvent.objects.get(service="accounts", service_method="update_profile")
    assert request_row.request_id is not None
    assert service_event.request_id == request_row.request_id
    # a second request is another action
    client.post("/profile/", {"name": "P. User", "affiliation": "Ocean Lab", "orcid": ""})
    assert AuditEvent.objects.filter(service="web").values("request_id").distinct().count() == 2


def test_an_event_recorded_outside_any_request_has_no_request_id():
    assert record_event(service="worker", method="fetch").request_id is None


def test_the_audit_page_shows_one_action_with_its_request_as_details(client, plain_user, data_manager):
    _save_profile(client, plain_user)
    client.force_login(data_manager)
    page = client.get("/audit/?method=profile")
    assert page.status_code == 200
    (action,) = page.context["page"]
    assert (action.service, action.service_method) == ("accounts", "update_profile")
    assert action.request_row.service_method == "POST accounts:profile"
    html = page.content.decode()
    assert html.count('class="cat-info action"') == 1
    for detail in ("Request: POST accounts:profile /profile/ → 302", "Lynx/2.9", str(action.request_id)):
        assert detail in html


def test_a_refused_request_with_no_service_event_is_an_action_of_its_own(client, data_manager):
    api = api_client_for(None)
    assert api.post("/api/tokens/", {"name": "x"}, format="json").status_code == 401
    client.force_login(data_manager)
    (action,) = client.get("/audit/?status=401").context["page"]
    assert (action.service, action.service_method, action.request_row) == ("api", "POST api-tokens", None)


def test_an_action_matches_a_filter_any_of_its_rows_matches(client, plain_user, data_manager):
    _save_profile(client, plain_user)
    client.force_login(data_manager)
    # the status is on the request row, the method on the service event: both find the same action
    by_status = client.get("/audit/?status=302").context["page"]
    by_method = client.get("/audit/?method=update_profile").context["page"]
    assert [a.pk for a in by_status] == [a.pk for a in by_method]
    assert by_status[0].service_method == "update_profile"


def _nullable_to_json_schema(node):
    """OpenAPI 3.0's ``nullable`` is not JSON Schema: spell it as ``anyOf [..., null]``."""
    if isinstance(node, dict):
        node = {k: _nullable_to_json_schema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            return {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(v) for v in node]
    return node


def test_the_api_lists_actions_and_matches_its_schema(client, plain_user, data_manager):
    _save_profile(client, plain_user)
    response = api_client_for(data_manager).get("/api/audit/?method=profile")
    assert response.status_code == 200
    body = response.json()
    (action,) = body["results"]
    assert action["service_method"] == "update_profile"
    assert action["request"]["method"] == "POST accounts:profile"
    assert action["request"]["path"] == "/profile/"
    assert action["request"]["status_code"] == 302
    assert action["request"]["user_agent"] == "Lynx/2.9"
    assert action["also"] == []

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/audit/"]["get"]["responses"]["200"]["content"]["application/json"]
    document = _nullable_to_json_schema({**operation["schema"], "components": schema["components"]})
    jsonschema.validate(body, document)
