"""Scratch is finite (issue 17): a full scratch disk gives 507 with a message, leaves no file behind and
none open, and the next upload works; the sweeper removes what killed processes left, never live work.

"Full" is real: scratch is a small tmpfs mounted for the test (needs root; skipped otherwise).
"""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from apps.storage import scratch
from apps.storage.models import Blob
from tests.storage.conftest import a_file
from tests.support.tmpfs import small_disk

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

MiB = 1024 * 1024


@pytest.fixture
def small_scratch(settings, tmp_path):
    """SCRATCH_DIR on a 2 MiB tmpfs of its own."""
    with small_disk(tmp_path / "small-scratch") as folder:
        settings.SCRATCH_DIR = folder
        settings.FILE_UPLOAD_TEMP_DIR = str(folder)
        yield folder


def open_files_under(folder: Path) -> list[str]:
    """Files of this process (the web worker, in a test) still open under ``folder``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


def test_an_upload_the_scratch_disk_cannot_hold_is_refused_with_507_before_reading(
    dm_client, small_scratch, settings
):
    settings.SCRATCH_MIN_FREE_BYTES = 512 * 1024
    response = dm_client.post("/storage/upload/", {"file": a_file(3 * MiB)})
    assert response.status_code == 507
    html = response.content.decode()
    assert "Insufficient storage" in html and "scratch disk is full" in html and "nothing was kept" in html
    assert Blob.objects.count() == 0
    assert not any(small_scratch.iterdir())


def test_the_api_gets_507_as_json(small_scratch, settings, data_manager):
    from rest_framework.test import APIClient

    settings.SCRATCH_MIN_FREE_BYTES = 512 * 1024
    client = APIClient()
    client.force_authenticate(data_manager)
    body = encode_multipart(BOUNDARY, {"file": a_file(3 * MiB)})
    response = client.generic("POST", "/api/submissions/", body, content_type=MULTIPART_CONTENT)
    assert response.status_code == 507
    assert response.json()["error"] == "Insufficient storage"
    assert "scratch disk is full" in response.json()["detail"]


def test_a_disk_that_fills_during_an_upload_gives_507_and_no_file_left_open(
    dm_client, small_scratch, settings
):
    # A reserve below zero turns the up-front check off, so the upload really runs the disk full (ENOSPC).
    settings.SCRATCH_MIN_FREE_BYTES = -64 * MiB
    response = dm_client.post("/storage/upload/", {"file": a_file(3 * MiB)})
    assert response.status_code == 507
    assert "scratch disk is full" in response.content.decode()
    assert Blob.objects.count() == 0
    assert not any(small_scratch.iterdir()), list(small_scratch.iterdir())
    assert open_files_under(small_scratch) == []

    # The next, small upload works: nothing of the failed one is holding the space.
    response = dm_client.post("/storage/upload/", {"file": a_file(1 * MiB)})
    assert response.status_code == 302
    assert Blob.objects.count() == 1
    assert open_files_under(small_scratch) == []


def test_a_chunked_upload_that_fills_the_disk_gives_507(dm_client, small_scratch, settings):
    settings.SCRATCH_MIN_FREE_BYTES = -64 * MiB
    environ = {
        "CONTENT_TYPE": MULTIPART_CONTENT,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(encode_multipart(BOUNDARY, {"file": a_file(3 * MiB)})),
        "wsgi.input_terminated": True,
    }
    response = dm_client.generic("POST", "/storage/upload/", b"", **environ)
    assert response.status_code == 507
    assert open_files_under(small_scratch) == [] and not any(small_scratch.iterdir())


# --- the sweeper --------------------------------------------------------------------------------


def age(path: Path, hours: float) -> Path:
    then = time.time() - hours * 3600
    for root, dirs, files in os.walk(path):  # nothing for a plain file
        for name in dirs + files:
            os.utime(os.path.join(root, name), (then, then))
    os.utime(path, (then, then))
    return path


def test_the_sweeper_removes_old_orphans_and_keeps_live_and_recent_work(settings, vetted_user):
    from apps.submissions.models import Submission

    root = Path(settings.SCRATCH_DIR)
    settings.SCRATCH_MAX_AGE_HOURS = 6
    running = Submission.objects.create(user=vetted_user, eml_text="<eml/>", state=Submission.State.RUNNING)
    failed = Submission.objects.create(user=vetted_user, eml_text="<eml/>", state=Submission.State.FAILED)
    for sub in (running, failed):
        (root / "submissions" / str(sub.pk)).mkdir(parents=True)
        (root / "submissions" / str(sub.pk) / "0000.data").write_bytes(b"x" * 100)
        age(root / "submissions" / str(sub.pk), 30)
    (root / "submissions" / "999999").mkdir()  # a submission that no longer exists
    age(root / "submissions" / "999999", 30)
    (root / ".incoming-abc").write_bytes(b"the spool of a killed S3 upload")
    age(root / ".incoming-abc", 30)
    (root / "tmpu1y2.upload.bin").write_bytes(b"an upload in progress")  # recent: left alone

    removed = scratch.sweep_scratch()

    assert sorted(removed) == sorted([f"submissions/{failed.pk}", "submissions/999999", ".incoming-abc"])
    assert (root / "submissions" / str(running.pk) / "0000.data").exists()  # live work, however old
    assert (root / "tmpu1y2.upload.bin").exists()
    assert not (root / "submissions" / str(failed.pk)).exists()


def test_the_sweeper_runs_from_beat_as_a_task(settings):
    from apps.storage.tasks import sweep_scratch

    old = Path(settings.SCRATCH_DIR) / "left-behind.part"
    old.write_bytes(b"x")
    age(old, 48)
    assert sweep_scratch.apply().get() == 1
    assert not old.exists()
    assert (
        settings.CELERY_BEAT_SCHEDULE["storage-sweep-scratch"]["task"] == "apps.storage.tasks.sweep_scratch"
    )
