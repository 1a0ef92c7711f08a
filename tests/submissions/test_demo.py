"""The demo data: real packages taken through the real pipeline, and idempotent."""

from __future__ import annotations

import pytest

from apps.packages.models import Package, Resource, Revision
from apps.submissions.models import Submission

pytestmark = pytest.mark.django_db


def test_the_demo_archives_packages_with_a_second_revision_warnings_and_a_failure():
    from apps.accounts import demo as accounts_demo
    from apps.cruises import demo as cruises_demo
    from apps.submissions import demo

    lines: list[str] = []
    accounts_demo.load(lines.append)
    cruises_demo.load(lines.append)
    demo.load(lines.append)
    archived = Revision.objects.filter(package__scope="quay", archived_at__isnull=False)
    assert archived.count() == 4
    assert list(
        Package.objects.get(scope="quay", identifier=1).revisions.values_list("number", flat=True)
    ) == [2, 1]
    assert Submission.objects.get(package_id_text="quay.2.1").report_status == "warn"
    assert Package.objects.get(scope="quay", identifier=2).cruise.cruise_id == "RR2401"
    failed = Submission.objects.get(package_id_text="quay.4.1")
    assert failed.state == "failed" and "(data row 42): 'n/a'" in failed.error and failed.report_xml
    assert not Resource.objects.filter(package_id="quay.4.1").exists()
    assert Resource.objects.filter(package_id="quay.1.2", resource_type="data").count() == 2
    before = (Submission.objects.count(), Resource.objects.count())
    demo.load(lines.append)
    assert (Submission.objects.count(), Resource.objects.count()) == before
    assert lines[-1] == "submissions: demo packages exist already"


@pytest.mark.django_db(transaction=True)
def test_every_demo_dataset_has_its_own_abstract(settings, tmp_path):
    import io

    from django.core.management import call_command

    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=io.StringIO())
    shown = Revision.objects.filter(state__in=Revision.METADATA_PUBLIC).select_related("package")
    abstracts: dict[str, list[str]] = {}
    for revision in shown:
        abstracts.setdefault(revision.abstract, []).append(revision.package_id_text)
    # Versions of one package may share theirs; two datasets may not.
    shared = {a: ids for a, ids in abstracts.items() if len({i.rsplit(".", 1)[0] for i in ids}) > 1}
    assert len(abstracts) >= 4 and not shared, shared
