"""The production server path: gunicorn with deploy/gunicorn.conf.py, a real socket, chunked uploads.

Django reads no body without a Content-Length; gunicorn de-chunks a chunked request and says so with
``wsgi.input_terminated``, and RequestLimitsMiddleware turns that into a bounded body. Checked here over
HTTP: a chunked body within the limits is read, one past them gets 413 with a message.
"""

from __future__ import annotations

import http.client
import json
import os

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from apps.accounts.models import ApiToken
from tests.conftest import make_user
from tests.support.gunicorn import running_gunicorn
from tests.support.worker import database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

MAX_FILE = 200_000


@pytest.fixture
def gunicorn(tmp_path):
    with running_gunicorn(
        tmp_path, database_url(), MAX_UPLOAD_SIZE=str(MAX_FILE), DATA_UPLOAD_MAX_MEMORY_SIZE="65536"
    ) as port:
        yield port


def send_chunked(port: int, path: str, body: bytes, token: str) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    pieces = (body[i : i + 8192] for i in range(0, len(body), 8192))
    try:
        conn.request(
            "PATCH",
            path,
            body=pieces,
            encode_chunked=True,
            headers={
                "Content-Type": MULTIPART_CONTENT,
                "Authorization": f"Token {token}",
                "Accept": "application/json",
            },
        )
    except BrokenPipeError:
        # A body past the limit: the server answered 413 and closed before it was all sent (on a busy
        # machine the client is the slower side). The answer is waiting in the socket.
        pass
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data or b"{}")


def test_chunked_uploads_through_gunicorn(gunicorn):
    user = make_user("chunky@example.org")
    _, key = ApiToken.issue(user, "test")

    status, body = send_chunked(
        gunicorn, "/api/me/", encode_multipart(BOUNDARY, {"affiliation": "Chunked Lab"}), key
    )
    assert status == 200 and body["affiliation"] == "Chunked Lab"

    import io

    big = io.BytesIO(os.urandom(MAX_FILE + 5000))
    big.name = "too-big.bin"
    status, body = send_chunked(gunicorn, "/api/me/", encode_multipart(BOUNDARY, {"file": big}), key)
    assert status == 413 and "too-big.bin" in body["detail"]

    status, body = send_chunked(gunicorn, "/api/me/", b"x" * (2 * 1024 * 1024), key)
    assert status == 413 and "largest file accepted" in body["detail"]
