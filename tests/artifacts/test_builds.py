"""Parquet alternates of published versions: built in the worker task, listed on the landing page, served
under the data's access rule, never for held versions; manifests and ``rebuild --verify``."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from apps.artifacts import services, tasks
from apps.artifacts.models import Artifact, RevisionBuild
from apps.packages.models import Entity, Package, Revision
from apps.storage.services import primary, store_bytes
from tests.conftest import make_user
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


def publish(user, tmp_path, package_id="edi.5.1") -> Revision:
    from apps.submissions import services as submissions

    tables = two_tables(tmp_path / "upload", rows=40)
    files = [
        (t.object_name, SimpleUploadedFile(t.object_name, (tmp_path / "upload" / t.object_name).read_bytes()))
        for t in tables
    ]
    sub = submissions.run_all(submissions.submit(user, eml_for(package_id, tables), files=files, start=False))
    assert sub.state == "succeeded", sub.error
    revision = Revision.objects.get(pk=sub.revision.pk)
    assert revision.state == Revision.State.PUBLISHED
    return revision


def build(revision: Revision) -> list[Artifact]:
    """Run the build task in this process, as the worker would (the publish queued it on commit)."""
    pk = RevisionBuild.objects.get(revision=revision).pk
    tasks.build_artifacts.apply(args=[pk])
    assert RevisionBuild.objects.get(pk=pk).state == RevisionBuild.State.BUILT
    return list(services.artifacts_for(revision))


@pytest.fixture
def published(vetted_user, tmp_path):
    return publish(vetted_user, tmp_path)


def test_publishing_a_version_builds_parquet_and_manifests_in_a_fixed_order(published):
    artifacts = build(published)
    assert [(a.kind, a.path) for a in artifacts] == [
        ("parquet", "parquet/stations.parquet"),
        ("parquet", "parquet/observations.parquet"),
        ("manifest", "manifests/parquet/observations.parquet.json"),
        ("manifest", "manifests/parquet/stations.parquet.json"),
    ]
    obs = artifacts[1]
    with primary().open(obs.blob.key, "rb") as fh:
        table = pq.read_table(io.BytesIO(fh.read()))
    assert table.num_rows == 40 and table.schema.field("temperature").type == "double"
    assert table.schema.field("station").type.value_type == "string"  # dictionary-encoded codes
    assert table.schema.field("time").type.tz is None  # "YYYY-MM-DDThh:mm:ss": no zone in the format
    manifest = json.loads(primary().open(obs.manifest.blob.key, "rb").read())
    source = Entity.objects.get(revision=published, entity_id="observations").blob
    assert manifest["artifact"]["sha256"] == obs.blob.sha256
    assert {
        "name": "observations.csv",
        "role": "data",
        "sha256": source.sha256,
        "size": source.size,
    } in manifest["inputs"]
    assert manifest["inputs"][1]["sha256"] == published.eml_blob.sha256
    assert manifest["builder"]["libraries"]["pyarrow"] and manifest["builder"]["quayside_version"]
    assert manifest["config"]["writer_options"]["compression"] == "zstd"
    # Building again (a re-delivered task) does nothing; a second build of the same input is identical.
    assert tasks.build_artifacts.apply(args=[published.build.pk]).result == "taken or done"


def test_the_landing_page_lists_the_parquet_beside_the_csv_and_serves_it(published):
    parquet = build(published)[0]
    page = Client().get("/dataset/edi/5/1/")
    body = page.content.decode()
    named = "/dataset/edi/5/1/edi.5.1/parquet/stations.parquet"  # its name in the version's tree
    assert named in body and "build manifest" in body
    assert f'{named}>; rel="item"; type="application/vnd.apache.parquet"' in page["Link"]
    url = f"/dataset/edi/5/1/artifacts/{parquet.pk}"  # the artifact-id URL keeps working
    response = Client().get(url, HTTP_RANGE="bytes=0-3")
    assert response.status_code == 206 and b"".join(response.streaming_content) == b"PAR1"
    assert response["Content-Type"] == "application/vnd.apache.parquet"


def test_a_held_version_gets_no_parquet_and_its_artifacts_never_leak(vetted_user, data_manager):
    package = Package.objects.create(scope="edi", identifier=7, owner=vetted_user)
    held = Revision.objects.create(
        package=package, number=1, state=Revision.State.HELD, archived_at=timezone.now()
    )
    assert services.request_build(held) is None and not RevisionBuild.objects.filter(revision=held).exists()
    assert services.build_revision(held.pk)[0] == RevisionBuild.State.DUE
    assert not held.artifacts.exists() and not services.artifacts_for(held).exists()
    # When the hold ends and the version is published, its build is requested.
    from django.db import transaction

    from apps.publishing.services import release_held

    with transaction.atomic():
        release_held(Revision.objects.select_for_update().get(pk=held.pk))
    assert RevisionBuild.objects.get(revision=held).state == RevisionBuild.State.DUE
    Revision.objects.filter(pk=held.pk).update(state=Revision.State.HELD)
    # Even an artifact that exists (say, built before a hold) is served only under the data's rule.
    artifact = Artifact.objects.create(
        revision=held, kind="parquet", path="parquet/x.parquet", blob=store_bytes(b"x")
    )
    url = f"/dataset/edi/7/1/artifacts/{artifact.pk}"
    assert Client().get(url).status_code == 403
    stranger = Client()
    stranger.force_login(make_user("stranger@example.org"))
    assert stranger.get(url).status_code == 403
    owner = Client()
    owner.force_login(vetted_user)
    assert owner.get(url).status_code == 200
    Revision.objects.filter(pk=held.pk).update(state=Revision.State.TAINTED)
    manager = Client()
    manager.force_login(data_manager)
    assert manager.get(url).status_code == 403  # tainted: gone for everyone


def _tamper(blob) -> None:
    """Change one byte of a stored object in place (what bit rot or an intruder would do)."""
    path = Path(primary().path(blob.key))
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[-3] = ord("7") if data[-3] != ord("7") else ord("8")
    path.write_bytes(bytes(data))


def test_rebuild_verify_says_identical_then_different_after_a_changed_input(published, data_manager):
    obs = build(published)[1]
    out = io.StringIO()
    call_command("rebuild", "--verify", "edi.5.1/parquet/observations.parquet", stdout=out)
    assert out.getvalue().startswith("identical: edi.5.1:parquet/observations.parquet")
    call_command("rebuild", "--verify", obs.blob.sha256, stdout=io.StringIO())  # by the output's SHA-256
    out = io.StringIO()
    call_command("rebuild", "--verify", str(obs.manifest.pk), stdout=out)  # a manifest: what it describes
    assert out.getvalue().startswith("identical: edi.5.1:parquet/observations.parquet")

    _tamper(Entity.objects.get(revision=published, entity_id="observations").blob)
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("rebuild", "--verify", str(obs.pk), stdout=out)
    assert failed.value.returncode == 1
    report = out.getvalue()
    assert report.startswith("different:") and "now hashes to" in report
    assert "first differing byte at offset" in report and "first differing values: row group 0" in report

    # The nightly spot check finds it too, records it and tells the data managers.
    from django.conf import settings

    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.artifacts.tasks.spot_check_rebuilds", "apps.artifacts.tasks.sweep_builds"} <= beat
    results = _spot_check()
    assert any(r.startswith("different:") for r in results)
    obs.refresh_from_db()
    assert obs.verified_identical is False and obs.verified_at is not None
    assert [m.to for m in mail.outbox] == [[data_manager.email]]
    assert "observations.parquet" in mail.outbox[0].subject


def _spot_check() -> list[str]:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return tasks.spot_check_rebuilds(count=5)


def test_the_build_reads_and_writes_through_s3(s3_storage, vetted_user, tmp_path):
    revision = publish(vetted_user, tmp_path, package_id="edi.8.1")
    parquet = build(revision)[1]
    response = Client().get(f"/dataset/edi/8/1/artifacts/{parquet.pk}")
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and body[:4] == b"PAR1" and len(body) == parquet.blob.size
    assert pq.read_table(io.BytesIO(body)).num_rows == 40
    out = io.StringIO()
    call_command("rebuild", "--verify", str(parquet.pk), stdout=out)
    assert out.getvalue().startswith("identical:")
