"""Landing pages people can reach: linked from the submission's status page once archived, the package
page, the cruise page's dataset list and the audit log's resource ids; the landing page's "Quality
report" opens the readable report (and is hidden when there is none); held datasets export their EML."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.audit.services import record_event
from apps.submissions import services as submissions
from apps.submissions.models import Submission
from tests import factories
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


def landing(revision) -> str:
    package = revision.package
    return reverse("publishing:version", args=[package.scope, package.identifier, revision.number])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def piped(vetted_user, tmp_path):
    """A revision published through the real pipeline: it has its EML and its quality report."""
    tables = two_tables(tmp_path / "upload")
    files = [
        (t.object_name, SimpleUploadedFile(t.object_name, (tmp_path / "upload" / t.object_name).read_bytes()))
        for t in tables
    ]
    sub = submissions.run_all(
        submissions.submit(vetted_user, eml_for("edi.1.1", tables), files=files, start=False)
    )
    assert sub.state == "succeeded", sub.error
    sub.revision.refresh_from_db()
    return sub


def test_the_status_page_links_the_landing_page_once_archived(piped, vetted_user):
    page = (
        signed_in(vetted_user).get(reverse("submissions:status", args=[piped.transaction])).content.decode()
    )
    assert f'id="landing-page" href="{landing(piped.revision)}"' in page


def test_the_status_page_of_a_revision_not_archived_has_no_landing_link(vetted_user):
    failed = factories.make_revision("failed", owner=vetted_user)
    sub = Submission.objects.create(user=vetted_user, revision=failed, state="failed", eml_text="")
    page = signed_in(vetted_user).get(reverse("submissions:status", args=[sub.transaction])).content.decode()
    assert 'id="landing-page"' not in page and "/dataset/" not in page


def test_the_package_page_links_its_landing_page(client):
    revision = factories.make_revision("published")
    package = revision.package
    page = client.get(
        reverse("packages:revision", args=[package.scope, package.identifier, revision.number])
    ).content.decode()
    assert f'id="landing-page" href="{landing(revision)}"' in page


def test_the_cruise_page_links_each_dataset_to_its_landing_page(client, cruise):
    revision = factories.make_revision("published", cruise=cruise)
    page = client.get(reverse("cruises:detail", args=[cruise.pk])).content.decode()
    assert f'<a href="{landing(revision)}">{revision.package_id_text}' in page


def test_audit_resource_ids_naming_a_listed_revision_link_to_its_landing_page(data_manager):
    published = factories.make_revision("published")
    failed = factories.make_revision("failed")
    package = published.package
    pasta_url = f"https://quayside.example/package/report/eml/{package.scope}/{package.identifier}/1"
    for resource_id in (published.package_id_text, failed.package_id_text, "RR2401", pasta_url):
        record_event(service="test", method="probe", resource_id=resource_id)
    page = signed_in(data_manager).get(reverse("audit:list")).content.decode()
    assert f'<a href="{landing(published)}">{published.package_id_text}</a>' in page
    assert f'<a href="{landing(published)}">{pasta_url}</a>' in page
    # A failed revision has no landing page; other ids stay as they are.
    assert f"<td>{failed.package_id_text}</td>" in page
    assert "<td>RR2401</td>" in page


def test_the_audit_page_looks_up_landing_pages_in_one_query(data_manager, django_assert_max_num_queries):
    client = signed_in(data_manager)
    revisions = [factories.make_revision("published") for _ in range(6)]
    record_event(service="test", method="probe", resource_id=revisions[0].package_id_text)
    client.get(reverse("audit:list"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("audit:list"))
    for revision in revisions[1:]:
        record_event(service="test", method="probe", resource_id=revision.package_id_text)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(reverse("audit:list")).content.decode()
    assert all(landing(r) in page for r in revisions)


def test_the_quality_report_link_opens_the_readable_report(client, piped):
    page = client.get(landing(piped.revision)).content.decode()
    package = piped.revision.package
    report = reverse("packages:report", args=[package.scope, package.identifier, piped.revision.number])
    assert f'id="quality-report" href="{report}"' in page
    response = client.get(report)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")


def test_no_quality_report_link_where_there_is_no_report(client):
    revision = factories.make_revision("published")  # not through the pipeline: no report
    page = client.get(landing(revision)).content.decode()
    assert "Quality report" not in page


def test_a_held_dataset_exports_its_eml_to_the_data_manager(data_manager, client):
    held = factories.make_revision("held")
    export = landing(held) + "export/eml.xml"
    assert export in signed_in(data_manager).get(landing(held)).content.decode()
    response = signed_in(data_manager).get(export)
    assert response.status_code == 200 and b"<eml:eml" in response.content
    assert client.get(export).status_code == 200  # the metadata of held data is public


def test_no_eml_export_link_when_no_eml_is_stored(client):
    revision = factories.make_revision("published", eml=False)
    assert "export/eml.xml" not in client.get(landing(revision)).content.decode()
