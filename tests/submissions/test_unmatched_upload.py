"""An uploaded data file that no entity of the EML names is refused at submit, naming the file and what the
EML expects, before anything is stored or fetched (issue 11 §1 "Uploaded file that matches nothing")."""

from __future__ import annotations

import io

import pytest

from apps.packages.models import Revision
from apps.storage.models import Blob
from apps.submissions import services
from apps.submissions.models import Submission
from portal.errors import UserError
from tests.conftest import api_client_for
from tests.packages.helpers import eml_for, two_tables

pytestmark = pytest.mark.django_db


@pytest.fixture
def eml_and_files(tmp_path):
    """An EML whose entities point at a host that does not exist, and the two files it describes."""
    tables = two_tables(tmp_path / "data", "https://data.invalid/files")
    files = {t.object_name: (tmp_path / "data" / t.object_name).read_bytes() for t in tables}
    return eml_for("edi.800.1", tables), files


def test_an_upload_that_matches_no_entity_is_refused_before_anything_is_stored(vetted_user, eml_and_files):
    eml, files = eml_and_files
    uploads = [("stations.csv", io.BytesIO(files["stations.csv"])), ("obs.csv", io.BytesIO(b"x"))]
    with pytest.raises(UserError) as refused:
        services.submit(vetted_user, eml, files=uploads, start=False)
    message = str(refused.value)
    assert "obs.csv matches no data entity" in message
    assert "the EML expects: stations.csv, observations.csv" in message
    assert "stations.csv matches" not in message
    assert not Submission.objects.exists() and not Revision.objects.exists() and not Blob.objects.exists()


def test_uploads_that_match_go_through(vetted_user, eml_and_files):
    eml, files = eml_and_files
    uploads = [(name, io.BytesIO(data)) for name, data in files.items()]
    sub = services.run_all(services.submit(vetted_user, eml, files=uploads, start=False))
    assert sub.state == Submission.State.SUCCEEDED, sub.error


def test_the_pasta_path_answers_400_with_the_names(vetted_user, eml_and_files):
    eml, _ = eml_and_files
    upload, eml_part = io.BytesIO(b"a,b\n"), io.BytesIO(eml)
    upload.name, eml_part.name = "wrong.csv", "eml.xml"
    response = api_client_for(vetted_user).post(
        "/package/evaluate/eml", {"eml": eml_part, "data": [upload]}, format="multipart"
    )
    assert response.status_code == 400
    assert "wrong.csv matches no data entity" in response.content.decode()
    assert not Submission.objects.exists()


def test_the_submit_page_says_which_upload_matched_nothing(vetted_user, eml_and_files, client):
    eml, _ = eml_and_files
    client.force_login(vetted_user)
    upload, eml_part = io.BytesIO(b"a,b\n"), io.BytesIO(eml)
    upload.name, eml_part.name = "wrong.csv", "eml.xml"
    page = "/submissions/"
    response = client.post(
        page,
        {"eml": eml_part, "data": [upload], "kind": "create"},
        HTTP_REFERER=f"http://testserver{page}",
        follow=True,
    )
    assert "wrong.csv matches no data entity" in response.content.decode()
    assert not Submission.objects.exists()
