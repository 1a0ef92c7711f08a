"""A quick share end to end through its pages: stored, described, checked, previewed, published; its
EML valid against the XSD; metadata edits with history; a new version that stores only the changed file."""

from __future__ import annotations

import pytest
from django.urls import reverse
from lxml import etree

from apps.audit.models import AuditEvent
from apps.packages.models import Revision
from apps.publishing.models import Doi
from apps.shares.models import Draft, MetadataEdit
from apps.storage.models import Blob
from tests.support.schemas import SCHEMAS

from .conftest import STATIONS, publish_draft, signed_in, upload

pytestmark = pytest.mark.django_db


def test_a_share_is_an_ordinary_published_package(shared):
    share, revision, client = shared
    assert revision.state == Revision.State.PUBLISHED
    assert revision.package == share.package and revision.number == 1
    assert revision.licence == "CC-BY-4.0" and revision.title == "Harbour stations 2024"
    assert Doi.objects.filter(revision=revision).exists()
    names = sorted(e.object_name for e in revision.entities.all())
    assert names == ["README.txt", "stations.csv"]
    table = revision.entities.get(object_name="stations.csv")
    assert table.entity_type == "dataTable"
    landing = client.get(
        reverse("publishing:version", args=[share.package.scope, share.package.identifier, 1])
    )
    assert table.blob.sha256 in landing.content.decode()
    assert AuditEvent.objects.filter(service="shares", service_method="submitShare").exists()


def test_the_built_eml_is_valid_against_the_eml_schema(shared):
    share, revision, _ = shared
    schema = etree.XMLSchema(
        etree.parse(str(SCHEMAS / "eml-2.2.0/eml.xsd"), etree.XMLParser(no_network=True))
    )
    eml = etree.fromstring(Draft.objects.get(share=share).submission.eml_bytes)
    assert schema.validate(eml), schema.error_log
    kinds = [e.text for e in eml.iter("numberType")]
    assert kinds == ["integer", "real"]  # depth_m (one empty value), temperature


def test_the_sharer_corrects_a_type_and_adds_a_unit_and_a_missing_value_code(vetted_user):
    client = signed_in(vetted_user)
    client.post(
        reverse("shares:share"),
        {"title": "T", "licence": "CC0-1.0", "description": "", "files": [upload("s.csv", STATIONS)]},
    )
    draft = Draft.objects.get(sharer=vetted_user)
    assert [a["kind"] for a in draft.files[0]["attributes"]] == ["text", "int", "real"]
    page = client.get(reverse("shares:draft", args=[draft.pk])).content.decode()
    assert 'name="kind-0-1"' in page and "irreversible" in page
    revision = publish_draft(
        client, draft, {"kind-0-1": "real", "unit-0-1": "meter", "missing-0-1": "-999", "unit-0-2": "°C"}
    )
    eml = etree.fromstring(draft.submission.eml_bytes)
    assert [e.text for e in eml.iter("standardUnit")] == ["meter"]
    assert [e.text for e in eml.iter("customUnit")] == ["C"]  # defined in additionalMetadata/unitList
    assert [e.text for e in eml.iter("code")] == ["-999"]
    assert revision.state == Revision.State.PUBLISHED


def test_editing_the_metadata_keeps_history_moves_the_datestamp_and_queues_the_doi_update(shared):
    share, revision, client = shared
    before = revision.metadata_modified_at
    Doi.objects.filter(revision=revision).update(needs_update=False)
    response = client.post(
        reverse("shares:edit", args=[share.short_id]),
        {
            "title": revision.title,
            "description": "Temperatures at three stations, corrected.",
            "licence": "CC-BY-4.0",
        },
    )
    assert response.status_code == 302
    revision.refresh_from_db()
    assert revision.abstract == "Temperatures at three stations, corrected."
    assert revision.metadata_modified_at > before
    assert Doi.objects.get(revision=revision).needs_update
    edit = MetadataEdit.objects.get(share=share)
    assert edit.changes == {"abstract": ["Temperatures at three stations.", revision.abstract]}
    assert edit.user == share.sharer
    oai = client.get(
        "/oai", {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": _oai_id(revision)}
    )
    assert (
        revision.metadata_modified_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        in b"".join(oai.streaming_content).decode()
    )
    assert "corrected" in client.get(reverse("shares:detail", args=[share.short_id])).content.decode()


def _oai_id(revision) -> str:
    from apps.publishing.oai.provider import oai_identifier

    return oai_identifier(revision.package.scope, revision.package.identifier, revision.number)


def test_a_new_version_stores_only_the_changed_file_and_links_the_versions(shared):
    share, v1, client = shared
    kept = v1.entities.get(object_name="README.txt").blob
    blobs_before = set(Blob.objects.values_list("sha256", flat=True))
    changed = STATIONS + b"A4,30,8.5\n"
    response = client.post(
        reverse("shares:new-version", args=[share.short_id]),
        {
            "title": v1.title,
            "description": v1.abstract,
            "licence": v1.licence,
            "keep": ["README.txt", "stations.csv"],  # stations.csv is replaced by the upload
            "files": [upload("stations.csv", changed)],
        },
    )
    assert response.status_code == 302, response.content[:500]
    draft = Draft.objects.filter(share=share).latest("created_at")
    assert [f["kept"] for f in draft.files] == [True, False]
    v2 = publish_draft(client, draft)
    assert v2.number == 2 and v2.package == v1.package
    data_blobs = {e.blob.sha256 for e in v2.entities.all()}
    new_data = data_blobs - blobs_before
    assert len(new_data) == 1 and v2.entities.get(object_name="README.txt").blob == kept
    # the versions are linked: v1's landing page points at the newer version, the DOIs relate them
    landing = client.get(reverse("publishing:version", args=[v1.package.scope, v1.package.identifier, 1]))
    assert "newer version" in landing.content.decode().lower()
