import io
import os

import pytest

from tests.support.ingest_fixtures import allow_loopback, data_server, eager_tasks  # noqa: F401


@pytest.fixture(params=["filesystem", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, settings):
    """The same suite against both tiers' backends: local folders, and buckets on a real SeaweedFS."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


@pytest.fixture
def dm_client(client, data_manager):
    """The test client signed in as a data manager."""
    client.force_login(data_manager)
    return client


def a_file(size: int, name: str = "cast.bin") -> io.BytesIO:
    """``size`` random bytes as an uploaded file named ``name``."""
    upload = io.BytesIO(os.urandom(size))
    upload.name = name
    return upload
