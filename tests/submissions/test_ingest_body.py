"""Who may send a body is decided before the body is read (issue 11 §7 "unauthenticated spool").

Through a real gunicorn and a raw socket: the client sends the headers of a large upload and a few KB of
it, then waits. The refusal (401 anonymous, 403 not vetted / not the owner) must come back while the
client is still "sending", and nothing may land in SCRATCH_DIR — before the fix the server read (and
spooled) the whole body first, so the answer never came until the client gave up.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from apps.accounts.models import ApiToken
from tests import factories
from tests.conftest import make_user
from tests.support.gunicorn import running_gunicorn
from tests.support.worker import database_url

# One process runs the whole module under pytest-xdist, so its gunicorn (module fixture) starts once.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("ingest-body-gunicorn"),
]

BOUNDARY = "QuaysideBoundary"
DECLARED = 300 * 1024 * 1024  # what the client claims to send; it sends only HEAD_START of it
HEAD_START = 16 * 1024
ANSWER_WITHIN = 10  # seconds; a server reading 300 MB that never come would not answer at all


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory, django_db_setup, django_db_blocker):
    """One gunicorn for the module (each start costs seconds); it shares the test database."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    with django_db_blocker.unblock():
        url = database_url()
    with running_gunicorn(tmp_path, url) as port:
        yield port, tmp_path / "scratch"


def _multipart_start() -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="data"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + os.urandom(HEAD_START)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def send_start_of_upload(
    port: int, method: str, path: str, *, token: str = "", chunked: bool = False
) -> tuple[int, bytes, float]:
    """Send the headers and the first KB of a 300 MB multipart upload, never the rest; return the
    status, the body and the seconds the answer took. Fails if no answer comes within ANSWER_WITHIN."""
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        "Accept: application/json",
    ]
    headers.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {DECLARED}")
    if token:
        headers.append(f"Authorization: Token {token}")
    start = _multipart_start()
    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN)
    began = time.monotonic()
    try:
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        # Chunked: several chunks, never the last (zero-length) one.
        sock.sendall(
            b"".join(_chunk(start[i : i + 4096]) for i in range(0, len(start), 4096)) if chunked else start
        )
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 4 + _length(answer):
            try:
                block = sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"no answer within {ANSWER_WITHIN} s: the server is reading the body")
            except ConnectionResetError:
                # The server closed with the rest of our body unread: the kernel may reset after the answer.
                break
            if not block:
                break
            answer += block
    finally:
        sock.close()
    took = time.monotonic() - began
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), f"no HTTP answer: {answer[:200]!r}"
    return int(head.split()[1]), body, took


def _length(answer: bytes) -> int:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    for line in head.split("\r\n"):
        if line.startswith("content-length:"):
            return int(line.split(":", 1)[1])
    return 0


def scratch_files(scratch: Path) -> list[Path]:
    return [p for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []


@pytest.mark.parametrize(
    "path", ["/package/eml", "/package/evaluate/eml", "/api/packages/", "/api/packages/evaluate/"]
)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_anonymous_upload_is_refused_before_its_body_is_read(gunicorn, path, chunked):
    port, scratch = gunicorn
    status, body, took = send_start_of_upload(port, "POST", path, chunked=chunked)
    assert status == 401, body
    assert b"Authentication required" in body
    assert took < ANSWER_WITHIN
    assert scratch_files(scratch) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_signed_in_but_not_vetted_upload_is_refused_before_its_body_is_read(gunicorn, chunked):
    port, scratch = gunicorn
    _, key = ApiToken.issue(make_user("plain-uploader@example.org"), "test")
    for path in ("/package/eml", "/api/packages/"):
        status, body, _ = send_start_of_upload(port, "POST", path, token=key, chunked=chunked)
        assert status == 403 and b"vetted" in body, (path, body)
    assert scratch_files(scratch) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_update_by_someone_not_the_owner_is_refused_before_its_body_is_read(gunicorn, chunked):
    port, scratch = gunicorn
    rev = factories.make_revision()
    intruder = make_user("other-vetted@example.org", "vetted")
    _, key = ApiToken.issue(intruder, "test")
    pkg = rev.package
    for path in (
        f"/package/eml/{pkg.scope}/{pkg.identifier}",
        f"/api/packages/{pkg.scope}/{pkg.identifier}/",
    ):
        status, body, _ = send_start_of_upload(port, "PUT", path, token=key, chunked=chunked)
        assert status == 403 and b"Only the owner" in body, (path, body)
    assert scratch_files(scratch) == []


def test_a_vetted_chunked_upload_is_still_read_after_the_gatekeeper(gunicorn):
    """The deferred spool: once the Gatekeeper lets the person in, the chunked body is read as before."""
    port, _ = gunicorn
    _, key = ApiToken.issue(make_user("vetted-uploader@example.org", "vetted"), "test")
    body = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="eml"; filename="eml.xml"\r\n'
        "Content-Type: application/xml\r\n\r\n"
        '<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="edi.1.1"/>\r\n'
        f"--{BOUNDARY}--\r\n"
    ).encode()
    request = (
        (
            f"POST /package/evaluate/eml HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nAuthorization: Token {key}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
        + _chunk(body)
        + b"0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while block := sock.recv(65536):
            answer += block
    assert answer.split()[1] == b"202", answer
