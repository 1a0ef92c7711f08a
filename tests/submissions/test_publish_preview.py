"""Web submissions publish after a look: the pipeline stops after its checks, the status page shows the
quality report and a preview of the landing page, and only "Publish" archives and mints the DOI. The
PASTA REST paths keep their one-go semantics (tests/submissions/test_pasta*)."""

from __future__ import annotations

import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.publishing.models import Doi
from apps.submissions import services
from apps.submissions.models import Step, Submission
from portal.errors import Conflict, Forbidden
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counting(server) -> dict:
    """Serve the tables through routes that count their requests (to prove nothing is fetched twice)."""
    hits: dict[str, int] = {}
    for path in sorted(server.root.iterdir()):
        body = path.read_bytes()

        def route(handler, name=path.name, body=body):
            hits[name] = hits.get(name, 0) + 1
            return 200, {"Content-Type": "text/csv"}, body

        server.routes[f"/{path.name}"] = route
    return hits


def web_submit(client, eml: bytes, package_id: str) -> Submission:
    response = client.post(
        reverse("submissions:submit"),
        {"eml": SimpleUploadedFile(f"{package_id}.xml", eml, "application/xml"), "kind": "create"},
    )
    assert response.status_code == 302, response.content[:500]
    return services.run_all(Submission.objects.filter(package_id_text=package_id).latest("created_at"))


@pytest.fixture
def previewed(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    hits = counting(data_server)
    sub = web_submit(signed_in(vetted_user), eml_for("edi.300.1", tables), "edi.300.1")
    return sub, tables, hits


def landing_url(sub) -> str:
    return "/dataset/edi/300/1/"


def test_a_web_submission_stops_after_its_checks_with_nothing_archived(previewed, client):
    sub, _, _ = previewed
    assert sub.state == Submission.State.AWAITING, sub.error
    states = dict(sub.steps.values_list("name", "state"))
    assert [states[n] for n in ("validate", "fetch", "check")] == ["done"] * 3
    assert [states[n] for n in ("archive", "index", "register")] == ["pending"] * 3
    sub.revision.refresh_from_db()
    assert sub.revision.state == Revision.State.CHECKING  # still in the pipeline: 404 everywhere
    assert sub.revision.archived_at is None and not sub.revision.entities.exists()
    assert not Doi.objects.filter(revision=sub.revision).exists()
    assert client.get(landing_url(sub)).status_code == 404


def test_the_status_page_shows_the_report_a_marked_preview_and_publish(previewed, vetted_user):
    sub, tables, _ = previewed
    html = signed_in(vetted_user).get(reverse("submissions:status", args=[sub.transaction])).content.decode()
    assert "Preview — not published yet" in html
    assert sub.revision.title in html and "Patel, Vikram" in html
    for table in tables:
        assert table.object_name in html and f'title="{table.size} bytes"' in html
    assert 'id="publish"' in html and 'id="discard"' in html
    assert "Quality report" in html and "entitySize" in html  # the report's checks, inline
    assert 'data-finished="1"' in html  # the status script stops polling: a person acts now


def test_publish_archives_the_files_already_fetched_and_then_the_doi_exists(previewed, vetted_user, client):
    sub, _, hits = previewed
    assert hits == {"stations.csv": 1, "observations.csv": 1}
    response = signed_in(vetted_user).post(reverse("submissions:publish", args=[sub.transaction]))
    assert response.status_code == 302
    sub = services.run_all(Submission.objects.get(pk=sub.pk))
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    assert hits == {"stations.csv": 1, "observations.csv": 1}  # archived from the checked copies
    sub.revision.refresh_from_db()
    assert sub.revision.state in (Revision.State.PUBLISHED, Revision.State.HELD)
    assert Doi.objects.filter(revision=sub.revision).exists()
    assert client.get(landing_url(sub)).status_code == 200
    event = AuditEvent.objects.get(service_method="publishPreview")
    assert event.user == vetted_user and event.resource_id == "edi.300.1"


def test_only_the_submitter_or_a_data_manager_may_publish(previewed, user_factory, data_manager):
    sub, _, _ = previewed
    other = user_factory("other@example.org", "vetted")
    with pytest.raises(Forbidden):
        services.publish_preview(sub, user=other)
    # Another submitter does not even see the submission on the web.
    assert signed_in(other).post(reverse("submissions:publish", args=[sub.transaction])).status_code == 404
    assert Submission.objects.get(pk=sub.pk).state == Submission.State.AWAITING
    services.publish_preview(sub, user=data_manager)
    assert Submission.objects.get(pk=sub.pk).state == Submission.State.RUNNING


def test_a_preview_is_published_once(previewed, vetted_user):
    sub, _, _ = previewed
    services.publish_preview(sub, user=vetted_user)
    with pytest.raises(Conflict):
        services.publish_preview(sub, user=vetted_user)
    response = signed_in(vetted_user).post(reverse("submissions:publish", args=[sub.transaction]))
    assert response.status_code == 409


def test_discard_archives_nothing_and_frees_the_revision_number(
    previewed, vetted_user, data_server, allow_loopback
):
    sub, tables, _ = previewed
    signed_in(vetted_user).post(reverse("submissions:discard", args=[sub.transaction]))
    sub.refresh_from_db()
    assert sub.state == Submission.State.DISCARDED and sub.finished
    assert set(
        sub.steps.filter(name__in=["archive", "index", "register"]).values_list("state", flat=True)
    ) == {Step.State.SKIPPED}
    assert Revision.objects.get(pk=sub.revision_id).state == Revision.State.FAILED
    assert not services.scratch_dir(sub).exists()
    assert AuditEvent.objects.filter(service_method="discardPreview").exists()
    with pytest.raises(Conflict):
        services.publish_preview(sub, user=vetted_user)
    again = web_submit(signed_in(vetted_user), eml_for("edi.300.1", tables), "edi.300.1")
    assert again.state == Submission.State.AWAITING, again.error


def test_a_stray_archive_message_does_not_publish_a_preview(previewed):
    sub, _, _ = previewed
    assert services.run_step(sub.pk, Step.Name.ARCHIVE) == "skipped"
    assert sub.steps.get(name="archive").state == Step.State.PENDING
    assert Submission.objects.get(pk=sub.pk).state == Submission.State.AWAITING


def test_the_rest_api_and_evaluate_do_not_stop_for_a_preview(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    sub = services.run_all(services.submit(vetted_user, eml_for("edi.301.1", tables), start=False))
    assert sub.state == Submission.State.SUCCEEDED and not sub.preview
    evaluated = services.run_all(
        services.submit(vetted_user, eml_for("edi.302.1", tables), kind="evaluate", start=False, preview=True)
    )
    assert evaluated.state == Submission.State.SUCCEEDED and not evaluated.preview


def test_a_preview_whose_scratch_copies_were_swept_fetches_again_and_refuses_changed_data(
    previewed, vetted_user, data_server
):
    sub, _, hits = previewed
    shutil.rmtree(services.scratch_dir(sub))  # what the scratch sweeper does to a preview left for a day
    services.publish_preview(sub, user=vetted_user)
    sub = services.run_all(Submission.objects.get(pk=sub.pk))
    assert sub.state == Submission.State.SUCCEEDED, sub.error
    assert hits == {"stations.csv": 2, "observations.csv": 2}


def test_data_that_changed_while_the_preview_waited_is_not_published(previewed, vetted_user, data_server):
    sub, _, _ = previewed
    shutil.rmtree(services.scratch_dir(sub))
    data_server.routes["/stations.csv"] = (200, {}, b"station,latitude\nX,1\n")
    services.publish_preview(sub, user=vetted_user)
    sub = services.run_all(Submission.objects.get(pk=sub.pk))
    assert sub.state == Submission.State.FAILED and "changed after it was fetched" in sub.error
    assert Revision.objects.get(pk=sub.revision_id).state == Revision.State.FAILED
