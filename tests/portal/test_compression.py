"""Pages travel gzipped over slow links; blobs keep their bytes, length and Range."""

import gzip

import pytest

from apps.storage.services import store_bytes

pytestmark = pytest.mark.django_db


def test_pages_are_gzipped_for_clients_that_ask(client):
    plain = client.get("/")
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content).decode().count("<html") == 1
    assert len(packed.content) < len(plain.content)
    assert "Accept-Encoding" in packed["Vary"]


def test_oai_xml_is_gzipped_too(client):
    response = client.get("/oai?verb=Identify", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert b"<Identify>" in gzip.decompress(
        b"".join(response.streaming_content) if response.streaming else response.content
    )


def test_blobs_are_never_compressed(data_manager, client):
    blob = store_bytes(b"time,temp\n" * 5000)
    client.force_login(data_manager)
    whole = client.get(f"/storage/blobs/{blob.sha256}", HTTP_ACCEPT_ENCODING="gzip")
    assert not whole.has_header("Content-Encoding") and whole["Content-Length"] == str(blob.size)
    part = client.get(f"/storage/blobs/{blob.sha256}", HTTP_ACCEPT_ENCODING="gzip", HTTP_RANGE="bytes=0-9")
    assert part.status_code == 206 and b"".join(part.streaming_content) == b"time,temp\n"
