import pytest

from apps.artifacts.models import Artifact, RevisionBuild
from apps.packages.models import Revision


@pytest.mark.slow  # the cruise and package demos go through the real pipeline (~25 s)
def test_the_demo_builds_the_parquet_of_every_published_version_once(db, settings):
    from apps.accounts import demo as accounts_demo
    from apps.artifacts import demo as artifacts_demo
    from apps.cruises import demo as cruises_demo
    from apps.publishing import demo as publishing_demo
    from apps.submissions import demo as submissions_demo

    settings.DATACITE_API_URL = ""
    lines = []
    for _ in range(2):
        for demo in (accounts_demo, cruises_demo, submissions_demo, publishing_demo, artifacts_demo):
            demo.load(lines.append)
    published = Revision.objects.filter(state=Revision.State.PUBLISHED)
    assert set(RevisionBuild.objects.filter(revision__in=published).values_list("state", flat=True)) == {
        "built"
    }
    parquet = Artifact.objects.filter(kind="parquet")
    assert parquet.filter(revision__package__scope="quay", path="parquet/mooring.parquet").exists()
    assert parquet.count() == Artifact.objects.filter(kind="manifest").count()
    reports = [line for line in lines if line.startswith("artifacts:")]
    assert len(reports) == 2 and reports[0] == reports[1]  # the second run changes nothing
