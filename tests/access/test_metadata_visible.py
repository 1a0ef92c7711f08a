"""What "metadata visible" means (docs/access.md, issue 11 §7 "smaller leaks"): an open event log shows
nothing but its existence to the public Operations Report; a held revision shows its EML document and the
inventory (file names, sizes, checksums) to everyone, and never a byte of its data — including what the
quality report's data checks quote from it."""

from __future__ import annotations

import pytest

from apps.eventlogs import services as eventlogs
from apps.packages import quality
from apps.packages.models import Resource
from apps.storage.services import store_bytes
from tests import factories

pytestmark = pytest.mark.django_db

SECRET_HEADER = "station_secret,temp_secret"


# --- the Operations Report and an open event log ---------------------------------------------------------


@pytest.fixture
def logged_cruise(cruise, operator_user):
    eventlogs.open_log(cruise, operator_user)
    eventlogs.add_entry(
        cruise,
        operator_user,
        {"instrument": "CTD", "action": "deploy", "station": "S1", "time": "2024-03-02T10:11:12Z"},
    )
    return cruise


def test_public_operations_report_hides_an_open_logs_counts_and_times(client, logged_cruise):
    html = client.get(f"/cruises/{logged_cruise.pk}/report/").content.decode()
    assert "The event log is open" in html
    assert "events (log" not in html and "2024-03-02" not in html and "CTD</td>" not in html


def test_the_cruises_people_see_the_open_logs_counts_in_the_report(client, logged_cruise, chief_scientist):
    client.force_login(chief_scientist)
    html = client.get(f"/cruises/{logged_cruise.pk}/report/").content.decode()
    assert "1 events (log open)" in html and "2024-03-02" in html


def test_a_closed_logs_counts_are_public_in_the_report(client, logged_cruise, operator_user):
    eventlogs.close_log(logged_cruise, operator_user)
    html = client.get(f"/cruises/{logged_cruise.pk}/report/").content.decode()
    assert "1 events (log closed)" in html


# --- a held revision: the EML and the inventory, never the data -----------------------------------------


def _report_with_a_header_warning(revision) -> Resource:
    checks = [
        quality.Check(
            "headerLineCount",
            "Header line matches the attribute names",
            "warn",
            "time, temp",
            SECRET_HEADER,
            "The last header line should list the attributeNames in order.",
            "e0",
            "temperature 0",
            "data",
        ).as_dict(),
        quality.Check(
            "dataType",
            "Every value matches its attribute",
            "valid",
            "declared types",
            "all values match",
            "",
            "e0",
            "temperature 0",
            "data",
        ).as_dict(),
    ]
    blob = store_bytes(quality.to_xml(revision.package_id_text, checks).encode())
    pkg = revision.package
    return Resource.objects.create(
        resource_id=f"https://example.org/package/report/eml/{pkg.scope}/{pkg.identifier}/{revision.number}",
        resource_type=Resource.Type.REPORT,
        revision=revision,
        package_id=revision.package_id_text,
        scope=pkg.scope,
        identifier=pkg.identifier,
        revision_number=revision.number,
        principal_owner=pkg.owner.email,
        filename=f"{revision.package_id_text}.report.xml",
        blob=blob,
    )


@pytest.fixture
def held(vetted_user):
    revision = factories.make_revision("held", owner=vetted_user)
    _report_with_a_header_warning(revision)
    return revision


def _paths(rev) -> dict[str, str]:
    pkg = rev.package
    return {
        "xml": f"/package/report/eml/{pkg.scope}/{pkg.identifier}/{rev.number}",
        "html": f"/packages/{pkg.scope}/{pkg.identifier}/{rev.number}/report/",
        "data": f"/package/data/eml/{pkg.scope}/{pkg.identifier}/{rev.number}/e0",
        "page": f"/dataset/{pkg.scope}/{pkg.identifier}/{rev.number}/",
    }


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def test_a_held_tables_header_line_is_not_in_the_public_quality_report(client, held):
    paths = _paths(held)
    for kind in ("xml", "html"):
        response = client.get(paths[kind])
        assert response.status_code == 200, kind
        body = _body(response)
        assert "station_secret" not in body, kind
        assert "it quotes the data" in body, kind
        assert "Header line matches the attribute names" in body, kind  # the check itself is metadata


def test_the_owner_reads_the_held_reports_findings_in_full(client, held, vetted_user):
    client.force_login(vetted_user)
    for kind in ("xml", "html"):
        assert "station_secret" in _body(client.get(_paths(held)[kind])), kind


def test_a_held_revisions_file_names_and_checksums_are_public_but_not_its_bytes(client, held):
    paths = _paths(held)
    entity = held.entities.get(entity_id="e0")
    page = client.get(paths["page"]).content.decode()
    assert entity.object_name in page and entity.blob.md5 in page
    assert client.get(paths["data"]).status_code in (401, 403)
    assert "2024-03-01T00:00Z" not in page  # a row of the table
