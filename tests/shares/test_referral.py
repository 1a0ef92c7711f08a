"""``/id/<short id>``: the landing page for a browser, and by content negotiation the metadata (DataCite
XML, JSON-LD, BibTeX), the torrent or the file list, as DOI content negotiation does."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client
from lxml import etree

from apps.publishing import services as publishing
from apps.publishing.crosswalks import metadata
from tests.support.schemas import SCHEMAS

pytestmark = pytest.mark.django_db


def get(share, accept: str | None = None):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return Client().get(f"/id/{share.short_id}", **headers)


def test_a_browser_goes_to_the_landing_page(shared):
    share, revision, _ = shared
    for accept in (None, "text/html,application/xhtml+xml,*/*;q=0.8", "*/*"):
        response = get(share, accept)
        assert response.status_code == 303 and response["Location"] == metadata.version_path(revision)
        assert "Accept" in response["Vary"]


def test_the_short_id_is_read_forgivingly(shared):
    share, _, _ = shared
    typed = share.short_id.lower().replace("0", "o").replace("1", "l")
    assert Client().get(f"/id/{typed}").status_code == 303


def test_datacite_xml_is_the_crosswalks_and_valid(shared):
    share, revision, _ = shared
    response = get(share, "application/vnd.datacite.datacite+xml")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.datacite.datacite+xml"
    assert response.content == metadata.datacite_xml(revision)
    schema = etree.XMLSchema(
        etree.parse(str(SCHEMAS / "datacite-4.5/metadata.xsd"), etree.XMLParser(no_network=True))
    )
    assert schema.validate(etree.fromstring(response.content)), schema.error_log


def test_json_ld_is_a_schema_org_dataset(shared):
    share, revision, _ = shared
    data = json.loads(get(share, "application/ld+json").content)
    assert data["@type"] == "Dataset" and data["name"] == revision.title


def test_bibtex(shared):
    share, revision, _ = shared
    response = get(share, "application/x-bibtex")
    assert response["Content-Type"].startswith("application/x-bibtex")
    assert response.content.decode().startswith("@") and revision.title in response.content.decode()


def test_the_file_list_as_csv_and_json(shared):
    share, revision, _ = shared
    rows = list(csv.DictReader(io.StringIO(get(share, "text/csv").content.decode())))
    assert sorted(r["name"] for r in rows) == ["README.txt", "stations.csv"]
    table = revision.entities.get(object_name="stations.csv")
    assert {"sha256": table.blob.sha256, "md5": table.blob.md5} == {
        k: next(r for r in rows if r["name"] == "stations.csv")[k] for k in ("sha256", "md5")
    }
    data = json.loads(get(share, "application/json").content)
    assert data["package_id"] == revision.package_id_text and len(data["files"]) == 2


def test_the_torrent_is_not_acceptable_until_the_portal_serves_torrents(shared, settings):
    share, revision, _ = shared
    response = get(share, "application/x-bittorrent")
    from django.urls import Resolver404, resolve

    try:
        resolve(f"{metadata.version_path(revision)}torrent")
    except Resolver404:
        assert response.status_code == 406
    else:
        assert response.status_code == 303 and response["Location"].endswith("/torrent")


def test_an_unoffered_type_is_not_acceptable(shared):
    share, _, _ = shared
    response = get(share, "image/png")
    assert response.status_code == 406 and "application/ld+json" in response.content.decode()


def test_a_withdrawn_share_gives_its_tombstone_and_no_metadata_or_files(shared, data_manager):
    share, revision, _ = shared
    publishing.withdraw(revision, reason="wrong station", user=data_manager)
    assert get(share).status_code == 303
    for accept in ("text/csv", "application/ld+json"):
        assert get(share, accept).status_code == 410


def test_an_unknown_id_is_404(db):
    assert Client().get("/id/ZZZZZZZZ").status_code == 404
