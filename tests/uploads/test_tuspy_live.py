"""The real tus client for scripts, ``tuspy``, against a live portal: a file sent in chunks with
per-chunk checksums to a delivery, and an upload whose connection drops in the middle of a PATCH and
resumes from the server's offset (the bytes that arrived are kept), ending with the same SHA-256."""

import hashlib
import os

import pytest
from tusclient.client import TusClient

from apps.accounts.models import ApiToken
from apps.uploads import services
from apps.uploads.models import Upload

from .cutting_proxy import CuttingProxy

pytestmark = pytest.mark.django_db(transaction=True)

CHUNK = 64 * 1024


def token_headers(user) -> dict:
    _, key = ApiToken.issue(user, "tuspy")
    return {"Authorization": f"Token {key}"}


def test_tuspy_uploads_a_file_in_checksummed_chunks_to_a_delivery(
    live_server, tmp_path, operator_user, delivery, delivery_root
):
    data = os.urandom(3 * CHUNK + 123)
    source = tmp_path / "ctd_001.hex"
    source.write_bytes(data)
    client = TusClient(f"{live_server.url}/api/uploads/", headers=token_headers(operator_user))
    uploader = client.uploader(
        str(source),
        chunk_size=CHUNK,
        upload_checksum=True,
        metadata={
            "filename": "ctd_001.hex",
            "relativePath": "CTD/raw/ctd_001.hex",
            "delivery": str(delivery.pk),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    uploader.upload()
    upload = Upload.objects.get()
    assert upload.state == Upload.State.RECEIVED and upload.offset == len(data)
    services.place_upload(upload.pk)  # what the worker does (tests/uploads/test_worker.py runs a real one)
    upload.refresh_from_db()
    assert upload.state == Upload.State.DONE, upload.error
    placed = delivery_root / "CTD" / "raw" / "ctd_001.hex"
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def test_a_dropped_connection_resumes_from_the_servers_offset(live_server, tmp_path, vetted_user):
    data = os.urandom(4 * CHUNK)
    source = tmp_path / "multibeam.all"
    source.write_bytes(data)
    cut_after = 20_000  # bytes of the second PATCH's body that reach the server before the link drops
    proxy = CuttingProxy(int(live_server.url.rsplit(":", 1)[1]), cut=2, after=cut_after)
    try:
        client = TusClient(f"{proxy.url}/api/uploads/", headers=token_headers(vetted_user))
        uploader = client.uploader(
            str(source), chunk_size=CHUNK, retries=5, retry_delay=0.2, metadata={"filename": "multibeam.all"}
        )
        uploader.upload()
    finally:
        proxy.close()
    # After the drop, tuspy asked HEAD and continued where the bytes that arrived ended (not at the start
    # of the chunk it was sending): the server kept them.
    assert proxy.patches[:2] == [0, CHUNK] and CHUNK + cut_after in proxy.patches, proxy.patches
    upload = Upload.objects.get()
    assert upload.state == Upload.State.RECEIVED and upload.offset == len(data)
    assert hashlib.sha256(upload.path.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
