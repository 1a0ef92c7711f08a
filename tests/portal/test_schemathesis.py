"""Schemathesis against the live API (issue 11 §7 "500s on bad input"): every operation of /api/schema/,
fuzzed by a data manager (token) and by an anonymous client, through a real gunicorn on the test
database. The run fails on any 5xx and on any response that does not match its schema.

Bounded for CI: a few examples per operation, two workers, a fixed seed (a failure reproduces; change
SEED locally to explore). Both runs together take about a minute and a half on two cores.

Excluded operations, each with its reason:
- ``POST /api/tokens/{token_id}/revoke/`` in the data manager's run only: the fuzzer would revoke the
  token the run itself signs in with. The anonymous run covers it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from apps.accounts.models import ApiToken
from apps.eventlogs import services as eventlogs
from tests import factories
from tests.conftest import make_user
from tests.support.gunicorn import running_gunicorn
from tests.support.worker import database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEED = 20261130
MAX_EXAMPLES = 5
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ALWAYS_EXCLUDED: list[str] = []


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, django_db_setup, django_db_blocker):
    tmp_path = tmp_path_factory.mktemp("schemathesis-server")
    with django_db_blocker.unblock():
        url = database_url()
    with running_gunicorn(tmp_path, url, workers=2) as port:
        yield f"http://127.0.0.1:{port}", tmp_path / "blobs"


@pytest.fixture
def api_data(gunicorn, settings):
    """Things for the path parameters to point at, so the fuzzer gets past 404: a published package with
    a data file (stored where the server reads blobs), a cruise whose event log is open with one entry."""
    _, blob_root = gunicorn
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {**settings.STORAGES["blobs"], "OPTIONS": {"location": str(blob_root)}},
    }
    revision = factories.make_revision()
    operator = make_user("st-operator@example.org")
    cruise = factories.CruiseFactory()
    factories.OrganisationMemberFactory(user=operator, organisation=cruise.operator, role="operator")
    eventlogs.open_log(cruise, operator)
    eventlogs.add_entry(cruise, operator, {"instrument": "CTD", "action": "deploy", "comment": "first cast"})
    return {
        "scope": revision.package.scope,
        "identifier": revision.package.identifier,
        "revision": revision.number,
        "number": revision.number,
        "entity_id": "e0",
        "cruise_pk": cruise.pk,
    }


def run_schemathesis(base_url: str, tmp_path: Path, params: dict, *, token: str = "", exclude=()) -> None:
    config = tmp_path / "schemathesis.toml"
    lines = ["[parameters]"] + [f"{k} = {v!r}" for k, v in params.items() if k != "cruise_pk"]
    lines += [f"cruise_pk = {params['cruise_pk']}", "", "[[operations]]"]
    lines += ['include-path-regex = "^/api/cruises/"', f"parameters = {{ id = {params['cruise_pk']} }}"]
    config.write_text("\n".join(lines).replace("'", '"') + "\n")
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/api/schema/",
        "--checks",
        "not_a_server_error,response_schema_conformance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
    ]
    for operation_id in [*ALWAYS_EXCLUDED, *exclude]:
        command += ["--exclude-operation-id", operation_id]
    if token:
        command += ["--header", f"Authorization: Token {token}"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def test_the_api_answers_a_data_manager_without_500s_and_as_its_schema_says(gunicorn, api_data, tmp_path):
    manager = make_user("st-manager@example.org", "data_manager")
    _, key = ApiToken.issue(manager, "schemathesis")
    run_schemathesis(gunicorn[0], tmp_path, api_data, token=key, exclude=["api_tokens_revoke_create"])


def test_the_api_answers_anonymous_clients_without_500s_and_as_its_schema_says(gunicorn, api_data, tmp_path):
    run_schemathesis(gunicorn[0], tmp_path, api_data)
