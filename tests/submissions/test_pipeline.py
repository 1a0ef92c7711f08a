"""The whole life cycle, step by step, with data fetched over real HTTP from 127.0.0.1."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEvent
from apps.packages.models import Entity, Package, Resource, Revision
from apps.storage.models import Blob
from apps.submissions import services
from apps.submissions.models import Step, Submission
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


def run(user, eml, **kw):
    sub = services.submit(user, eml, start=False, **kw)
    return services.run_all(sub)


def test_a_valid_two_table_package_goes_through_every_step(vetted_user, data_server, allow_loopback, cruise):
    from apps.cruises.models import CruiseMember

    # Only the cruise's people link a package to it by keyword (tests/submissions/test_cruise_link.py).
    CruiseMember.objects.create(
        cruise=cruise, user=vetted_user, name="V", role=CruiseMember.Role.SCIENCE_PARTY
    )
    tables = two_tables(data_server.root, data_server.url)
    sub = run(vetted_user, eml_for("edi.100.1", tables, cruise_id=cruise.cruise_id))

    assert sub.state == Submission.State.SUCCEEDED, sub.error
    assert [s.state for s in sub.steps.all()] == ["done"] * 6
    rev = sub.revision
    rev.refresh_from_db()
    assert rev.state in (Revision.State.PUBLISHED, Revision.State.HELD)
    assert rev.archived_at is not None and rev.eml_blob is not None
    assert rev.title.startswith("Nearshore temperature")
    assert rev.creators[0]["orcid"] == "0000-0002-1825-0097"
    assert rev.coverage["bbox"] == [-124.5, 44.0, -124.0, 44.6]
    assert rev.licence == "CC-BY-4.0"
    assert rev.package.cruise == cruise
    entities = {e.entity_id: e for e in rev.entities.all()}
    assert set(entities) == {"stations", "observations"}
    for e, t in zip([entities["stations"], entities["observations"]], tables, strict=True):
        assert e.blob.md5 == t.md5 and e.blob.size == t.size
    kinds = sorted(rev.resources.values_list("resource_type", flat=True))
    assert kinds == ["data", "data", "dataPackage", "metadata", "report"]
    assert Resource.objects.get(revision=rev, resource_type="report").blob.size > 0
    assert "qualityReport" in sub.report_xml and sub.report_status in ("valid", "warn", "info")
    methods = set(AuditEvent.objects.filter(resource_id="edi.100.1").values_list("service_method", flat=True))
    assert {
        "createDataPackage",
        "step:validate",
        "step:fetch",
        "step:check",
        "archive",
        "step:index",
        "step:register",
    } <= methods
    assert "DOI pending" in sub.steps.get(name="register").message


def test_revision_two_is_accepted_and_a_repeated_or_lower_one_refused(
    vetted_user, data_server, allow_loopback
):
    tables = two_tables(data_server.root, data_server.url)
    assert run(vetted_user, eml_for("edi.101.1", tables)).state == "succeeded"
    second = run(vetted_user, eml_for("edi.101.2", tables), kind="update", scope="edi", identifier=101)
    assert second.state == "succeeded", second.error
    assert second.revision.number == 2
    for number in (2, 1):
        again = run(
            vetted_user, eml_for(f"edi.101.{number}", tables), kind="update", scope="edi", identifier=101
        )
        assert again.state == "failed"
        assert "not higher than the last revision, 2" in again.error
        assert again.revision is None
    assert list(Package.objects.get(identifier=101).revisions.values_list("number", flat=True)) == [2, 1]


def test_creating_an_existing_package_is_refused(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    assert run(vetted_user, eml_for("edi.102.1", tables)).state == "succeeded"
    again = run(vetted_user, eml_for("edi.102.2", tables))
    assert again.state == "failed" and "exists already" in again.error


def test_a_failed_revision_can_be_resubmitted_fixed(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    good_md5 = tables[0].md5
    tables[0].md5 = "0" * 32
    first = run(vetted_user, eml_for("edi.103.1", tables))
    assert first.state == "failed"
    tables[0].md5 = good_md5
    second = run(vetted_user, eml_for("edi.103.1", tables))
    assert second.state == "succeeded", second.error
    assert Revision.objects.filter(package__identifier=103).count() == 1


def test_uploaded_files_need_no_url(vetted_user, tmp_path):
    tables = two_tables(tmp_path / "up")
    files = [(t.object_name, open(tmp_path / "up" / t.object_name, "rb")) for t in tables]
    sub = run(vetted_user, eml_for("edi.104.1", tables), files=files)
    assert sub.state == "succeeded", sub.error
    assert Entity.objects.filter(revision=sub.revision, blob__isnull=False).count() == 2
    assert Blob.objects.filter(md5=tables[1].md5).count() == 1


def test_a_redelivered_step_does_nothing(vetted_user, data_server, allow_loopback):
    tables = two_tables(data_server.root, data_server.url)
    sub = run(vetted_user, eml_for("edi.105.1", tables))
    for name in Step.ORDER:
        assert services.run_step(sub.pk, name) == "skipped"
    assert Resource.objects.filter(revision=sub.revision).count() == 5


def test_an_update_whose_package_id_names_another_package_is_refused(
    vetted_user, data_server, allow_loopback
):
    tables = two_tables(data_server.root, data_server.url)
    assert run(vetted_user, eml_for("edi.106.1", tables)).state == "succeeded"
    sub = run(vetted_user, eml_for("edi.107.2", tables), kind="update", scope="edi", identifier=106)
    assert sub.state == "failed" and "does not belong to edi.106" in sub.error
    assert sub.revision is None


def test_an_empty_or_non_xml_body_fails_with_a_report(vetted_user):
    for body in (b"", b"\xff\xfe not xml"):
        sub = run(vetted_user, body)
        assert sub.state == "failed" and "not well-formed" in sub.error
        assert sub.steps.get(name="validate").state == "failed"
        assert "qualityReport" in sub.report_xml


def test_lost_scratch_copies_are_fetched_again_and_changed_data_refused(
    vetted_user, data_server, allow_loopback
):
    import shutil

    tables = two_tables(data_server.root, data_server.url)
    sub = services.submit(vetted_user, eml_for("edi.108.1", tables), start=False)
    for name in ("validate", "fetch", "check"):
        assert services.run_step(sub.pk, name) == "done"
    shutil.rmtree(services.scratch_dir(sub))  # e.g. a worker restarted on a host with a fresh SCRATCH_DIR
    assert services.run_step(sub.pk, "archive") == "done"
    sub.refresh_from_db()
    assert sub.revision.entities.filter(blob__md5=tables[1].md5).exists()

    other = services.submit(vetted_user, eml_for("edi.109.1", tables), start=False)
    for name in ("validate", "fetch", "check"):
        services.run_step(other.pk, name)
    shutil.rmtree(services.scratch_dir(other))
    (data_server.root / "stations.csv").write_text("changed after the check\n")
    assert services.run_step(other.pk, "archive") == "failed"
    other.refresh_from_db()
    assert "changed after it was fetched" in other.error
    assert other.revision.state == Revision.State.FAILED
    assert not Resource.objects.filter(revision=other.revision).exists()
