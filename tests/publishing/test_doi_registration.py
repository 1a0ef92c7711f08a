import base64
import datetime

import pytest
from django.utils import timezone
from lxml import etree

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.publishing import services
from apps.publishing.models import BACKOFF_MAX_SECONDS, Doi
from apps.publishing.tasks import register_doi

from .conftest import NS, assert_valid


def _doi_sends(callbacks) -> list:
    """The on-commit callbacks that queue a DOI registration (other apps queue their own work on a release
    too: Parquet builds, the catalog, the torrent)."""
    return [c for c in callbacks if getattr(c, "args", ()) and c.args[0] is register_doi]


def _sync_all(package=None):
    qs = Doi.objects.all() if package is None else Doi.objects.filter(package=package)
    return {d.doi: services.sync_doi(d.pk) for d in qs}


def test_publishing_is_immediate_with_doi_pending(
    make_revision, django_capture_on_commit_callbacks, settings
):
    settings.DATACITE_API_URL = ""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        revision = make_revision()
    assert revision.state == Revision.State.PUBLISHED
    assert revision.published_at is not None
    dois = {d.kind: d for d in Doi.objects.filter(package=revision.package)}
    assert dois["version"].state == Doi.State.PENDING and dois["version"].revision == revision
    assert dois["concept"].state == Doi.State.PENDING
    # Registration is queued for after commit (version + concept), never done inline.
    assert len(_doi_sends(callbacks)) == 2
    assert AuditEvent.objects.filter(
        service="publishing", service_method="publish", resource_id=revision.package_id_text
    ).exists()


def test_without_datacite_configured_dois_stay_pending_and_nothing_is_due(make_revision, settings):
    settings.DATACITE_API_URL = ""
    revision = make_revision()
    doi = revision.version_doi
    assert services.sync_doi(doi.pk) == "not configured"
    assert not services.due_dois().exists()
    doi.refresh_from_db()
    assert doi.state == Doi.State.PENDING and doi.attempts == 0


def test_registration_creates_a_draft_then_publishes_valid_metadata(make_revision, datacite, schemas):
    revision = make_revision()
    results = _sync_all(revision.package)
    assert all(r.startswith("findable") for r in results.values()), results
    stored = datacite.dois[revision.doi]
    assert stored["state"] == "findable"
    assert stored["history"] == ["publish"]
    assert stored["url"].endswith(f"/dataset/edi/{revision.package.identifier}/1/")
    assert_valid(schemas["datacite"], stored["xml"])
    concept = datacite.dois[revision.package.dois.get(kind="concept").doi]
    assert concept["url"].endswith(f"/dataset/edi/{revision.package.identifier}/")
    assert ("POST", "/dois") in datacite.requests
    doi = revision.version_doi
    doi.refresh_from_db()
    assert doi.state == Doi.State.FINDABLE and doi.in_sync and doi.attempts == 1
    assert doi.attempt_log.filter(ok=True).count() == 1


def test_outage_is_recorded_and_retried_with_capped_backoff(make_revision, datacite):
    revision = make_revision()
    doi = revision.version_doi
    datacite.outage = True
    before = timezone.now()
    assert services.sync_doi(doi.pk).startswith("failed")
    doi.refresh_from_db()
    assert doi.state == Doi.State.PENDING and doi.attempts == 1
    assert "500" in doi.last_error
    assert datetime.timedelta(seconds=50) < doi.next_try_at - before < datetime.timedelta(seconds=70)
    assert doi.attempt_log.get().ok is False
    assert not services.due_dois().filter(pk=doi.pk).exists()  # not due before its next try
    for _ in range(10):
        Doi.objects.filter(pk=doi.pk).update(next_try_at=timezone.now() - datetime.timedelta(seconds=1))
        assert services.due_dois().filter(pk=doi.pk).exists()
        services.sync_doi(doi.pk)
    doi.refresh_from_db()
    assert doi.attempts == 11
    assert doi.next_try_at - timezone.now() <= datetime.timedelta(seconds=BACKOFF_MAX_SECONDS)
    assert doi.next_try_at - timezone.now() > datetime.timedelta(seconds=BACKOFF_MAX_SECONDS - 60)
    assert (
        AuditEvent.objects.filter(service_method="registerDoi", category="warn", resource_id=doi.doi).count()
        == 11
    )
    datacite.outage = False
    Doi.objects.filter(pk=doi.pk).update(next_try_at=timezone.now())
    assert services.sync_doi(doi.pk).startswith("findable")
    doi.refresh_from_db()
    assert doi.in_sync and doi.last_error == "" and doi.next_try_at is None


def test_a_failure_after_the_draft_resumes_from_the_draft(make_revision, datacite):
    revision = make_revision()
    doi = revision.version_doi
    # Make the PUT fail: the POST succeeds, then the server goes down.
    original = datacite.httpd.RequestHandlerClass.do_PUT

    def broken_put(handler):
        handler._error(500, "Internal server error")

    datacite.httpd.RequestHandlerClass.do_PUT = broken_put
    try:
        services.sync_doi(doi.pk)
    finally:
        datacite.httpd.RequestHandlerClass.do_PUT = original
    doi.refresh_from_db()
    assert doi.state == Doi.State.DRAFT and doi.attempts == 1
    assert datacite.dois[doi.doi]["state"] == "draft"
    services.sync_doi(doi.pk)
    doi.refresh_from_db()
    assert doi.state == Doi.State.FINDABLE
    assert datacite.requests.count(("POST", "/dois")) == 1  # the second run starts from the draft


def test_bad_credentials_are_recorded_as_a_clear_error(make_revision, datacite, settings):
    settings.DATACITE_PASSWORD = "wrong"
    revision = make_revision()
    services.sync_doi(revision.version_doi.pk)
    doi = Doi.objects.get(pk=revision.version_doi.pk)
    assert "401" in doi.last_error and "Bad credentials" in doi.last_error


def test_a_second_version_updates_concept_and_previous_version(make_revision, datacite):
    first = make_revision()
    _sync_all(first.package)
    second = make_revision(package=first.package)
    previous = Doi.objects.get(revision=first)
    assert previous.needs_update
    _sync_all(first.package)
    xml = datacite.dois[first.doi]["xml"]
    relations = {
        (r.get("relationType"), r.text)
        for r in etree.fromstring(xml).iter("{http://datacite.org/schema/kernel-4}relatedIdentifier")
    }
    assert ("IsPreviousVersionOf", second.doi) in relations
    concept_xml = etree.fromstring(datacite.dois[first.package.dois.get(kind="concept").doi]["xml"])
    assert (
        len(
            concept_xml.findall(
                "dcite:relatedIdentifiers/dcite:relatedIdentifier[@relationType='HasVersion']", NS
            )
        )
        == 2
    )
    assert all(d.in_sync for d in Doi.objects.filter(package=first.package))


def test_corrected_title_is_sent_with_a_put(make_revision, datacite, django_capture_on_commit_callbacks):
    revision = make_revision()
    _sync_all(revision.package)
    stamp = revision.metadata_modified_at
    revision.title = "Bottom temperature (corrected)"
    revision.save(update_fields=["title"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.metadata_changed(revision)
    assert len(_doi_sends(callbacks)) == 2
    revision.refresh_from_db()
    assert revision.metadata_modified_at > stamp
    services.sync_doi(revision.version_doi.pk)
    xml = datacite.dois[revision.doi]["xml"]
    assert (
        etree.fromstring(xml).findtext("dcite:titles/dcite:title", namespaces=NS)
        == "Bottom temperature (corrected)"
    )
    assert datacite.requests.count(("PUT", f"/dois/{revision.doi}")) == 2


def test_withdrawal_hides_the_doi_but_keeps_it_resolving(make_revision, datacite, data_manager, client):
    revision = make_revision()
    _sync_all(revision.package)
    services.withdraw(revision, reason="Wrong station coordinates", user=data_manager)
    services.sync_doi(revision.version_doi.pk)
    record = datacite.dois[revision.doi]
    assert record["state"] == "registered" and record["history"][-1] == "hide"
    response = client.get(f"/doi/{revision.doi}", follow=True)
    assert response.status_code == 410  # the tombstone: Gone, with its page
    assert b"Wrong station coordinates" in response.content


def test_withdraw_needs_a_reason_and_a_published_version(make_revision, data_manager):
    revision = make_revision()
    with pytest.raises(services.PublishingError, match="reason"):
        services.withdraw(revision, reason=" ", user=data_manager)
    held = make_revision("held")
    with pytest.raises(services.PublishingError, match="published"):
        services.withdraw(held, reason="x", user=data_manager)


def test_release_held_publishes_and_queues_the_doi(make_revision, django_capture_on_commit_callbacks):
    held = make_revision("held")
    assert not Doi.objects.filter(package=held.package).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.release_held(held)
    held.refresh_from_db()
    assert held.state == Revision.State.PUBLISHED and held.doi
    assert Doi.objects.filter(package=held.package).count() == 2 and len(_doi_sends(callbacks)) == 2


def test_register_task_runs_the_sync(make_revision, datacite):
    revision = make_revision()
    assert register_doi.run(revision.version_doi.pk).startswith("findable")


def test_sync_is_claimed_once(make_revision, datacite):
    revision = make_revision()
    doi = revision.version_doi
    Doi.objects.filter(pk=doi.pk).update(lease_until=timezone.now() + datetime.timedelta(minutes=1))
    assert services.sync_doi(doi.pk) == "busy"
    assert datacite.requests == []


def test_base64_document_is_what_datacite_stores(make_revision, datacite):
    from apps.publishing.doi.datacite_client import DataCiteClient

    revision = make_revision()
    _sync_all(revision.package)
    attributes = DataCiteClient().get(revision.doi)
    assert attributes["state"] == "findable"
    assert base64.b64decode(attributes["xml"]) == datacite.dois[revision.doi]["xml"]


def test_backoff_counts_only_the_failures_since_the_last_success(make_revision, datacite):
    """A concept DOI is updated at every new version: its earlier successful attempts must not make its
    first failure wait an hour (issue 17)."""
    revision = make_revision()
    concept = revision.package.dois.get(kind="concept")
    for _ in range(8):  # eight versions' worth of successful updates
        Doi.objects.filter(pk=concept.pk).update(needs_update=True, lease_until=None)
        assert services.sync_doi(concept.pk).startswith("findable")
    concept.refresh_from_db()
    assert concept.attempts == 8 and concept.attempt_log.filter(ok=True).count() == 8

    datacite.outage = True
    Doi.objects.filter(pk=concept.pk).update(needs_update=True)
    before = timezone.now()
    assert services.sync_doi(concept.pk).startswith("failed")
    concept.refresh_from_db()
    assert datetime.timedelta(seconds=50) < concept.next_try_at - before < datetime.timedelta(seconds=70)

    # A second failure in a row doubles the wait; a success in between starts again at one minute.
    Doi.objects.filter(pk=concept.pk).update(next_try_at=timezone.now())
    before = timezone.now()
    services.sync_doi(concept.pk)
    concept.refresh_from_db()
    assert datetime.timedelta(seconds=110) < concept.next_try_at - before < datetime.timedelta(seconds=130)
    datacite.outage = False
    Doi.objects.filter(pk=concept.pk).update(next_try_at=timezone.now())
    assert services.sync_doi(concept.pk).startswith("findable")
    datacite.outage = True
    Doi.objects.filter(pk=concept.pk).update(needs_update=True)
    before = timezone.now()
    services.sync_doi(concept.pk)
    concept.refresh_from_db()
    assert datetime.timedelta(seconds=50) < concept.next_try_at - before < datetime.timedelta(seconds=70)
