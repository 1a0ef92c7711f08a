"""A 200 MB file is stored with bounded memory: read in chunks, hashed in the same pass, never held whole."""

import hashlib
import os
import tracemalloc

import pytest

from apps.storage import services

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SIZE = 200 * 1024 * 1024


@pytest.fixture
def big_file(tmp_path):
    """200 MB generated in 1 MiB blocks (each block different), with its digests computed while writing."""
    path = tmp_path / "big.bin"
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    seed = os.urandom(1024 * 1024)
    with open(path, "wb") as out:
        for i in range(SIZE // len(seed)):
            block = i.to_bytes(8, "big") + seed[8:]
            for h in (md5, sha1, sha256):
                h.update(block)
            out.write(block)
    return path, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest()


def test_a_200_mb_file_is_stored_with_bounded_memory(big_file):
    path, md5, sha1, sha256 = big_file
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        blob = services.store_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (blob.size, blob.md5, blob.sha1, blob.sha256) == (SIZE, md5, sha1, sha256)
    # A few 1 MiB chunks in flight (the read, the one being hashed on the helper thread), nothing more.
    assert peak < 8 * 1024 * 1024, (
        f"peak Python allocation {peak / 2**20:.1f} MiB while storing {SIZE / 2**20:.0f} MiB"
    )
    assert services.verify(blob)
