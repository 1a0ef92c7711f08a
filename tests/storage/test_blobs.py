"""Content-addressed blobs on the file system and on S3 (a real SeaweedFS): stored once, hashed in one
pass to the same digests as hashlib, served with HTTP Range, copied to deep storage and re-verified."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from django.core.files.storage import storages

from apps.storage import services
from apps.storage.models import Blob

pytestmark = pytest.mark.django_db

SIZE = 3 * 1024 * 1024 + 17  # crosses the 1 MiB read chunks and the 256 KiB response chunks


@pytest.fixture
def payload() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def blob(backend, payload) -> Blob:
    return services.store_stream(io.BytesIO(payload))


def objects_in(storage) -> list[str]:
    if hasattr(storage, "bucket"):
        return [o.key for o in storage.bucket.objects.all()]
    found = []
    for root, _, files in os.walk(storage.location):
        found += [os.path.join(root, f) for f in files if ".incoming" not in root]
    return found


def test_digests_match_hashlib(blob, payload):
    assert blob.size == len(payload)
    assert blob.md5 == hashlib.md5(payload).hexdigest()
    assert blob.sha1 == hashlib.sha1(payload).hexdigest()
    assert blob.sha256 == hashlib.sha256(payload).hexdigest()
    with services.open_blob(blob) as fh:
        assert fh.read() == payload


def test_same_content_is_stored_once(backend, payload):
    first = services.store_stream(io.BytesIO(payload))
    second = services.store_bytes(payload)
    assert first.pk == second.pk and (first.is_new, second.is_new) == (True, False)
    assert Blob.objects.count() == 1
    assert len(objects_in(storages["blobs"])) == 1


def test_empty_content_is_a_blob_too(backend):
    blob = services.store_bytes(b"")
    assert blob.size == 0 and blob.sha256 == hashlib.sha256(b"").hexdigest()


def test_a_blob_row_never_changes(blob):
    blob.md5 = "0" * 32
    with pytest.raises(ValueError):
        blob.save()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # first bytes
        ("bytes=1048570-1048600", 1048570, 1048600),  # middle, across a chunk boundary
        (f"bytes={SIZE - 100}-{SIZE - 1}", SIZE - 100, SIZE - 1),  # last bytes
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix
        ("bytes=2000000-", 2000000, SIZE - 1),  # open-ended
        (f"bytes=0-{SIZE * 2}", 0, SIZE - 1),  # past the end: clipped
        ("bytes=5-5", 5, 5),  # one byte
    ],
)
def test_range_requests_return_the_right_bytes(dm_client, blob, payload, header, start, end):
    response = dm_client.get(f"/storage/blobs/{blob.sha256}", HTTP_RANGE=header)
    assert response.status_code == 206
    body = b"".join(response.streaming_content)
    assert body == payload[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert int(response["Content-Length"]) == end - start + 1


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={SIZE}-",
        f"bytes={SIZE + 10}-{SIZE + 20}",
        "bytes=-0",
        "bytes=abc",
        "bytes=9-3",
        "bytes=-",
        "bytes=" + "9" * 4300 + "-",  # past Python's int-conversion limit: was a 500
        "bytes=-" + "1" * 5000,
    ],
)
def test_unsatisfiable_ranges_get_416(dm_client, blob, header):
    response = dm_client.get(f"/storage/blobs/{blob.sha256}", HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"


def test_whole_body_without_range_and_when_if_range_does_not_match(dm_client, blob, payload):
    whole = dm_client.get(f"/storage/blobs/{blob.sha256}")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert whole["ETag"] == f'"{blob.sha256}"' and b"".join(whole.streaming_content) == payload
    stale = dm_client.get(
        f"/storage/blobs/{blob.sha256}", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"something-else"'
    )
    assert stale.status_code == 200 and b"".join(stale.streaming_content) == payload
    fresh = dm_client.get(
        f"/storage/blobs/{blob.sha256}", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=f'"{blob.sha256}"'
    )
    assert fresh.status_code == 206 and b"".join(fresh.streaming_content) == payload[:10]
    cached = dm_client.get(f"/storage/blobs/{blob.sha256}", HTTP_IF_NONE_MATCH=f'"{blob.sha256}"')
    assert cached.status_code == 304


def test_unknown_key_is_404(dm_client, backend):
    response = dm_client.get("/storage/blobs/" + "ab" * 32)
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_deep_copy_and_fixity(blob, payload):
    services.copy_to_deep(blob)
    services.copy_to_deep(blob)  # idempotent
    assert blob.deep_copied_at is not None and blob.tiers == ["primary", "deep"]
    assert len(objects_in(storages["deep"])) == 1
    assert services.verify(blob, services.deep())
    assert services.verify(blob)
    blob.refresh_from_db()
    assert blob.fixity_ok is True and blob.last_fixity_at is not None


def test_fixity_check_catches_changed_bytes(blob, payload):
    primary = storages["blobs"]
    damaged = b"X" + payload[1:]
    if hasattr(primary, "bucket"):
        primary.bucket.put_object(Key=blob.key, Body=damaged)
    else:
        path = primary.path(blob.key)
        os.chmod(path, 0o644)
        with open(path, "r+b") as fh:
            fh.write(b"X")
    assert services.verify(blob) is False
    blob.refresh_from_db()
    assert blob.fixity_ok is False


def test_deep_copy_refuses_damaged_source(blob):
    primary = storages["blobs"]
    if hasattr(primary, "bucket"):
        primary.bucket.put_object(Key=blob.key, Body=b"not the original")
    else:
        path = primary.path(blob.key)
        os.chmod(path, 0o644)
        with open(path, "wb") as fh:
            fh.write(b"not the original")
    with pytest.raises(services.IntegrityMismatch):
        services.copy_to_deep(blob)
    blob.refresh_from_db()
    assert blob.deep_copied_at is None
    assert objects_in(storages["deep"]) == []


def test_store_tree_stores_many_files_once_each(backend, tmp_path):
    files = []
    for i in range(40):
        path = tmp_path / "tree" / f"f{i:03}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(1000 + i) if i % 10 else b"duplicate content")
        files.append(path)
    blobs = services.store_tree(files)
    assert [b.sha256 for b in blobs] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in files]
    assert Blob.objects.count() == 37  # four files share one content
    assert len(objects_in(storages["blobs"])) == 37


class TrickleStream(io.RawIOBase):
    """A network-like stream: short, unaligned reads."""

    def __init__(self, data: bytes, step: int):
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        piece = self.data[self.pos : self.pos + min(self.step, len(buffer))]
        buffer[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)


@pytest.mark.parametrize("step", [4096, 4097, 1000, 1024 * 1024])
def test_short_and_unaligned_reads_are_stored_exactly(backend, step):
    data = os.urandom(300_000)
    blob = services.store_stream(TrickleStream(data, step))
    assert blob.sha256 == hashlib.sha256(data).hexdigest()
    with services.open_blob(blob) as fh:
        assert fh.read() == data


def test_a_stream_over_its_limit_leaves_nothing(backend, settings):
    from apps.storage.hashing import TooLarge

    with pytest.raises(TooLarge):
        services.store_stream(io.BytesIO(b"x" * 5000), max_bytes=4000)
    assert Blob.objects.count() == 0 and objects_in(storages["blobs"]) == []
    assert not any(settings.SCRATCH_DIR.iterdir())


def test_durable_mode_stores_the_same(backend, settings, tmp_path):
    """STORAGE_FSYNC on (the production default): fsync per object, syncfs per store_tree batch."""
    settings.STORAGE_FSYNC = True
    data = os.urandom(150_000)
    assert services.store_bytes(data).sha256 == hashlib.sha256(data).hexdigest()
    paths = []
    for i in range(5):
        paths.append(tmp_path / f"d{i}")
        paths[-1].write_bytes(os.urandom(5000))
    assert [b.size for b in services.store_tree(paths)] == [5000] * 5


def test_a_blob_whose_object_is_missing_answers_503_not_a_broken_200(dm_client, backend):
    from apps.storage.services import primary, store_bytes

    blob = store_bytes(b"soon to vanish\n" * 100)
    primary().delete(blob.key)  # a fixity incident: the row is there, the object is not
    response = dm_client.get(f"/storage/blobs/{blob.sha256}")
    assert response.status_code == 503
