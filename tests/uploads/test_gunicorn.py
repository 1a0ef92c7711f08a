"""The production server (gunicorn, deploy/gunicorn.conf.py) behind tus: a connection dropped in the middle
of a PATCH keeps what arrived and tuspy resumes from there, and a chunked PATCH (no Content-Length; gunicorn
de-chunks it) is streamed to the upload without being spooled first."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest
from tusclient.client import TusClient

from apps.accounts.models import ApiToken
from apps.uploads.models import Upload
from tests.support.gunicorn import running_gunicorn
from tests.support.worker import database_url

from .cutting_proxy import CuttingProxy

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK = 256 * 1024


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, django_db_setup, django_db_blocker):
    """One gunicorn sharing the test database. One worker, so the dropped request is answered before the
    client's HEAD (with more, the HEAD may come first and the client resumes from the older offset, which
    is correct too: the late request then meets a newer offset and is refused with 409)."""
    folder = tmp_path_factory.mktemp("tus-gunicorn")
    with django_db_blocker.unblock():
        url = database_url()
    with running_gunicorn(folder, url, workers=1) as port:
        yield port, folder / "scratch" / "uploads"


def test_gunicorn_keeps_the_bytes_of_a_dropped_patch_and_tuspy_resumes(gunicorn, tmp_path, vetted_user):
    port, uploads = gunicorn
    _, key = ApiToken.issue(vetted_user, "tuspy")
    data = os.urandom(3 * CHUNK)
    source = tmp_path / "em124.all"
    source.write_bytes(data)
    cut_after = 100_000
    proxy = CuttingProxy(port, cut=1, after=cut_after)
    try:
        client = TusClient(f"{proxy.url}/api/uploads/", headers={"Authorization": f"Token {key}"})
        uploader = client.uploader(
            str(source), chunk_size=CHUNK, retries=5, retry_delay=0.3, metadata={"filename": "em124.all"}
        )
        uploader.upload()
    finally:
        proxy.close()
    assert proxy.patches[0] == 0 and cut_after in proxy.patches, proxy.patches
    upload = Upload.objects.get()
    assert upload.offset == len(data) and upload.state == Upload.State.RECEIVED
    assert (
        hashlib.sha256((uploads / str(upload.pk)).read_bytes()).hexdigest()
        == hashlib.sha256(data).hexdigest()
    )


def _chunked(data: bytes, size: int = 10_000) -> bytes:
    parts = [
        f"{len(data[i : i + size]):x}\r\n".encode() + data[i : i + size] + b"\r\n"
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def test_a_chunked_patch_is_streamed_to_the_upload(gunicorn, vetted_user):
    port, uploads = gunicorn
    _, key = ApiToken.issue(vetted_user, "raw")
    data = os.urandom(50_000)
    created = _request(port, "POST", "/api/uploads/", key, {"Upload-Length": str(len(data))})
    assert created.startswith(b"HTTP/1.1 201"), created
    location = next(line for line in created.split(b"\r\n") if line.lower().startswith(b"location:"))
    path = "/" + location.split(b"/", 3)[3].decode().strip()
    headers = {
        "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream",
        "Transfer-Encoding": "chunked",
    }
    answer = _request(port, "PATCH", path, key, headers, _chunked(data))
    assert answer.startswith(b"HTTP/1.1 204") and b"Upload-Offset: 50000" in answer, answer
    upload = Upload.objects.get()
    assert (uploads / str(upload.pk)).read_bytes() == data and upload.state == Upload.State.RECEIVED


def _request(port: int, method: str, path: str, key: str, headers: dict, body: bytes = b"") -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Tus-Resumable: 1.0.0",
        f"Authorization: Token {key}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if "Transfer-Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        answer = b""
        while block := sock.recv(65536):
            answer += block
    return answer
