"""A full scratch disk during fetch (issue 17): the step fails saying the disk is full (not "Internal
error"), nothing is left in scratch, and the next submission goes through once there is room."""

from __future__ import annotations

import os

import pytest

from apps.submissions import services
from apps.submissions.models import Step, Submission
from tests.packages.helpers import eml_for, two_tables
from tests.support.tmpfs import small_disk

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]  # on-commit clean-up runs

MiB = 1024 * 1024


@pytest.fixture
def small_scratch(settings, tmp_path):
    with small_disk(tmp_path / "small-scratch") as folder:
        settings.SCRATCH_DIR = folder
        yield folder


def big_tables(data_server, rows: int):
    return two_tables(data_server.root, data_server.url, rows=rows)


def leftovers(folder) -> list[str]:
    return [os.path.join(root, name) for root, _, files in os.walk(folder) for name in files]


@pytest.mark.parametrize("check", ["up-front", "disk-fills-up"])
def test_a_full_scratch_disk_fails_the_fetch_with_a_clear_message(
    check, vetted_user, data_server, allow_loopback, small_scratch, settings
):
    # About 3 MiB of observations: more than the 2 MiB disk holds.
    tables = big_tables(data_server, rows=60_000)
    assert tables[1].size > 2 * MiB
    # "disk-fills-up": a reserve below zero turns the up-front check off, so the write hits ENOSPC.
    settings.SCRATCH_MIN_FREE_BYTES = 256 * 1024 if check == "up-front" else -64 * MiB
    sub = services.run_all(services.submit(vetted_user, eml_for("edi.760.1", tables), start=False))

    assert sub.state == Submission.State.FAILED
    fetch = Step.objects.get(submission=sub, name=Step.Name.FETCH)
    assert fetch.state == Step.State.FAILED
    assert "Internal error" not in sub.error
    assert "scratch disk is full" in sub.error and "observations.csv" in sub.error, sub.error
    assert leftovers(small_scratch) == []

    # The revision number is free again and, with room on the disk, the same package goes through.
    small = big_tables(data_server, rows=50)
    again = services.run_all(services.submit(vetted_user, eml_for("edi.760.1", small), start=False))
    assert again.state == Submission.State.SUCCEEDED, again.error
    assert leftovers(small_scratch) == []


def test_a_full_scratch_disk_while_copying_an_uploaded_file_fails_the_fetch_with_a_clear_message(
    vetted_user, tmp_path, small_scratch, settings
):
    tables = two_tables(tmp_path / "upload", rows=60_000)  # no URLs: the files come with the EML
    files = [(t.object_name, open(tmp_path / "upload" / t.object_name, "rb")) for t in tables]
    sub = services.submit(vetted_user, eml_for("edi.761.1", tables), files=files, start=False)
    settings.SCRATCH_MIN_FREE_BYTES = -64 * MiB  # no up-front check: the copy runs the disk full
    sub = services.run_all(sub)

    assert sub.state == Submission.State.FAILED
    assert "Internal error" not in sub.error
    assert "scratch disk is full" in sub.error, sub.error
    assert leftovers(small_scratch) == []
