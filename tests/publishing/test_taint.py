"""Tainting (issue 16 §2): a data manager taints a version or a whole dataset; the worker removes its bytes
from the primary and the deep tier unless something untainted still needs them; downloads answer 410;
the reason stays in the audit log; OAI-PMH, the catalog and search follow."""

from __future__ import annotations

import pyarrow as pa
import pytest
from lxml import etree

from apps.artifacts.models import Artifact
from apps.artifacts.services import download_path as artifact_path
from apps.audit.models import AuditEvent
from apps.packages.models import Entity, Revision
from apps.packages.signals import revision_tainted
from apps.publishing import services
from apps.publishing.models import Doi
from apps.publishing.oai import provider as oai
from apps.publishing.taint import blobs_of, pending, remove_tainted_data
from apps.publishing.tasks import remove_tainted_data as remove_task
from apps.search.models import SearchDocument
from apps.storage import references
from apps.storage.services import copy_to_deep, deep, primary, store_bytes, verify
from apps.storage.tasks import deep_copy_sweep, fixity_sweep
from tests.conftest import api_client_for

from .conftest import NS

REASON = "depicts an identifiable minor"


def page_url(revision) -> str:
    return f"/dataset/{revision.package.scope}/{revision.package.identifier}/{revision.number}/"


def oai_get(client, **params):
    response = client.get("/oai", params)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return etree.fromstring(body)


def in_tiers(blob) -> tuple[bool, bool]:
    return primary().exists(blob.key), deep().exists(blob.key)


@pytest.fixture
def pair(make_revision):
    """Two versions of one dataset sharing one file (content-addressed: one blob); every blob deep-copied."""
    first = make_revision("published", files=2)
    second = make_revision("published", package=first.package, number=2, files=0)
    shared = first.entities.order_by("pk").first().blob
    Entity.objects.create(
        revision=second, entity_id="e0", name="shared", object_name="temp0.csv", blob=shared
    )
    for revision in (first, second):
        for blob in map(lambda sha: type(shared).objects.get(pk=sha), blobs_of(revision)):
            copy_to_deep(blob)
    return first, second


def test_tainting_removes_the_bytes_from_both_tiers_but_keeps_a_blob_an_untainted_version_shares(
    pair, data_manager, django_capture_on_commit_callbacks
):
    first, second = pair
    own = first.entities.order_by("pk").last().blob
    shared = second.entities.get().blob
    parquet = store_bytes(b"PAR1 derived of the tainted table PAR1")
    Artifact.objects.create(kind=Artifact.Kind.PARQUET, revision=first, path="temp1.parquet", blob=parquet)
    copy_to_deep(parquet)
    assert in_tiers(own) == in_tiers(shared) == in_tiers(parquet) == (True, True)

    heard = []
    revision_tainted.connect(lambda sender, revision, **kw: heard.append(revision.pk), weak=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.taint(first, reason=REASON, user=data_manager)
    for callback in callbacks:  # the signal; the task is sent to a broker the test has none of: run it here
        callback()
    assert heard == [first.pk]
    removed, kept = remove_tainted_data(first.pk)

    assert (removed, kept) == (3, 1)  # own file, its EML, the Parquet; the shared file is kept
    for blob in (own, parquet, first.eml_blob):
        blob.refresh_from_db()
        assert in_tiers(blob) == (False, False) and blob.removed_at and blob.removed_reason == "tainted"
    shared.refresh_from_db()
    assert in_tiers(shared) == (True, True) and shared.removed_at is None
    assert references.references(shared) == [f"packages.Entity#{second.entities.get().pk}"]
    assert references.references(own) == []
    assert pending(first) == 0


def test_the_removal_is_idempotent_and_resumes_after_an_interrupted_run(pair, data_manager, monkeypatch):
    first, _ = pair
    services.taint(first, reason=REASON, user=data_manager)
    from apps.storage import services as storage

    real, calls = storage.remove_bytes, []

    def killed_after_one(blob, *, reason):
        if calls:
            raise KeyboardInterrupt("worker killed")
        calls.append(blob.pk)
        return real(blob, reason=reason)

    monkeypatch.setattr("apps.publishing.taint.remove_bytes", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        remove_tainted_data(first.pk)
    assert pending(first) == 1  # one of the two unshared blobs done, one left
    monkeypatch.setattr("apps.publishing.taint.remove_bytes", real)
    assert remove_task(first.pk) == (1, 1)  # the re-run (the task body) finishes the rest
    assert remove_tainted_data(first.pk) == (0, 1)  # and a third run changes nothing
    assert pending(first) == 0


def test_downloads_answer_410_and_the_public_page_never_shows_the_reason(client, pair, data_manager):
    first, _ = pair
    entity = first.entities.order_by("pk").last()
    parquet = Artifact.objects.create(
        kind=Artifact.Kind.PARQUET, revision=first, path="temp1.parquet", blob=store_bytes(b"PAR1 x PAR1")
    )
    services.taint(first, reason=REASON, user=data_manager)
    remove_tainted_data(first.pk)
    assert client.get(artifact_path(parquet)).status_code == 410
    base = page_url(first)
    tree = f"{first.package.scope}.{first.package.identifier}.{first.number}"
    pasta = f"/package/data/eml/{first.package.scope}/{first.package.identifier}/1/{entity.entity_id}"
    for url in (f"{base}files/{entity.pk}", f"{base}{tree}/temp1.csv", f"{base}files.zip", pasta):
        response = client.get(url, HTTP_RANGE="bytes=0-3")
        assert response.status_code == 410, url
    page = client.get(base)
    assert page.status_code == 410
    html = page.content.decode()
    assert "removed" in html and REASON not in html
    client.force_login(data_manager)
    assert REASON not in client.get(base).content.decode()
    event = AuditEvent.objects.get(service_method="taint", resource_id=first.package_id_text)
    assert REASON in event.entry_text


def test_fixity_and_the_deep_copy_sweep_skip_removed_blobs(pair, data_manager):
    first, _ = pair
    services.taint(first, reason=REASON, user=data_manager)
    remove_tainted_data(first.pk)
    gone = first.entities.order_by("pk").last().blob
    gone.refresh_from_db()
    assert verify(gone) is True and gone.fixity_ok is None  # nothing read, nothing reported missing
    fixity_sweep()
    gone.refresh_from_db()
    assert gone.fixity_ok is None
    type(gone).objects.filter(pk=gone.pk).update(deep_requested_at=gone.created_at, deep_copied_at=None)
    assert deep_copy_sweep.apply().get() == 0


def test_a_whole_dataset_taint_covers_every_version_and_oai_catalog_search_follow(
    client, pair, data_manager, schemas
):
    from apps.catalog import services as catalog
    from tests.catalog.conftest import read_catalog

    first, second = pair
    api = api_client_for(data_manager)
    url = f"/api/publishing/datasets/{first.package.scope}/{first.package.identifier}/1/taint/"
    response = api.post(url, {"reason": REASON, "whole_dataset": True}, format="json")
    assert response.status_code == 200 and response.json()["versions"] == [1, 2]
    for revision in (first, second):
        revision.refresh_from_db()
        assert revision.state == Revision.State.TAINTED
        remove_tainted_data(revision.pk)
    # With both versions tainted, the shared blob goes too.
    shared = second.entities.get().blob
    shared.refresh_from_db()
    assert shared.removed_at and in_tiers(shared) == (False, False)

    ident = oai.oai_identifier(first.package.scope, first.package.identifier, 1)
    doc = oai_get(client, verb="GetRecord", identifier=ident, metadataPrefix="oai_dc")
    assert doc.find(".//oai:header", NS).get("status") == "deleted"
    listing = oai_get(client, verb="ListIdentifiers", metadataPrefix="oai_dc")
    statuses = {
        h.findtext("oai:identifier", namespaces=NS): h.get("status")
        for h in listing.iterfind(".//oai:header", NS)
    }
    assert statuses[ident] == "deleted"

    catalog.refresh(force=True)
    table = read_catalog()
    rows = table.filter(pa.compute.equal(table["id"], first.package_id_text)).to_pylist()
    assert rows and rows[0]["quayside:status"] == "tainted"
    assert all(v is None for v in rows[0]["assets"].values())
    assert SearchDocument.objects.get(revision=first).state == Revision.State.TAINTED
    # The DOI goes back to hidden ("registered", still resolving to the tombstone) through the DOI queue.
    version_doi = Doi.objects.get(revision=first)
    assert version_doi.target_state == Doi.State.REGISTERED
    assert client.get(f"/doi/{version_doi.doi}").url == page_url(first)
    assert client.get("/api/search/", {"q": first.title}).json()["count"] == 0


def test_only_data_managers_may_taint(client, make_revision, data_manager, vetted_user):
    revision = make_revision()
    url = f"{page_url(revision)}taint"
    client.force_login(vetted_user)
    assert client.post(url, {"reason": REASON}).status_code == 403
    api = api_client_for(vetted_user)
    api_url = f"/api/publishing/datasets/{revision.package.scope}/{revision.package.identifier}/1/taint/"
    assert api.post(api_url, {"reason": REASON}, format="json").status_code == 403
    assert Revision.objects.get(pk=revision.pk).state == Revision.State.PUBLISHED
    client.force_login(data_manager)
    page = client.get(url)
    assert page.status_code == 200 and b"taint-form" in page.content
    assert f'id="taint-link" href="{url}"' in client.get(page_url(revision)).content.decode()
    assert client.post(url, {"reason": REASON}).status_code == 302
    assert Revision.objects.get(pk=revision.pk).state == Revision.State.TAINTED


@pytest.mark.slow
def test_tainting_removes_the_bytes_from_s3_tiers_and_keeps_the_shared_one(
    s3_storage, make_revision, data_manager
):
    first = make_revision("published", files=2)
    second = make_revision("published", package=first.package, number=2, files=0)
    shared = first.entities.order_by("pk").first().blob
    Entity.objects.create(
        revision=second, entity_id="e0", name="shared", object_name="temp0.csv", blob=shared
    )
    own = first.entities.order_by("pk").last().blob
    for blob in (own, shared):
        copy_to_deep(blob)
    services.taint(first, reason=REASON, user=data_manager)
    remove_tainted_data(first.pk)
    assert in_tiers(own) == (False, False)
    assert in_tiers(shared) == (True, True)


def test_the_removed_content_is_not_stored_again(pair, data_manager):
    from apps.storage.services import ContentRemoved

    first, _ = pair
    own = first.entities.order_by("pk").last().blob
    data = b"time,temp\n2024-03-02T00:00Z,5.5\n"
    assert store_bytes(data).pk == own.pk
    services.taint(first, reason=REASON, user=data_manager)
    remove_tainted_data(first.pk)
    with pytest.raises(ContentRemoved):
        store_bytes(data)
    assert in_tiers(own) == (False, False)


def test_a_withdrawn_version_can_be_tainted_and_its_explanation_disappears(
    client, make_revision, data_manager
):
    revision = make_revision()
    services.withdraw(revision, reason="Rights holder objected", category="legal", user=data_manager)
    client.force_login(data_manager)
    assert (
        f'id="taint-link" href="{page_url(revision)}taint"' in client.get(page_url(revision)).content.decode()
    )
    assert client.post(f"{page_url(revision)}taint", {"reason": REASON}).status_code == 302
    client.logout()
    html = client.get(page_url(revision)).content.decode()
    assert "removed" in html and "Rights holder objected" not in html and REASON not in html
