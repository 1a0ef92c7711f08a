"""Bad bodies on the ingest paths answer a clear 4xx in the endpoint's own format, never a 500 or an
HTML page: PASTA's paths answer text/plain, /api/packages/ answers JSON (issue 11 §7 "500s on bad input")."""

from __future__ import annotations

import io

import pytest

from apps.submissions.models import Submission

pytestmark = pytest.mark.django_db

PASTA = ["/package/eml", "/package/evaluate/eml"]
API = ["/api/packages/", "/api/packages/evaluate/"]


def _data_only():
    data = io.BytesIO(b"a,b\n1,2\n")
    data.name = "table.csv"
    return {"data": data}


@pytest.mark.parametrize("path", PASTA)
def test_pasta_multipart_without_an_eml_part_is_a_plain_text_400(vetted_user, api_client_factory, path):
    response = api_client_factory(vetted_user).post(path, _data_only(), format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "no part named 'eml'" in response.content.decode()
    assert not Submission.objects.exists()


@pytest.mark.parametrize("path", API)
def test_api_multipart_without_an_eml_part_is_a_json_400(vetted_user, api_client_factory, path):
    response = api_client_factory(vetted_user).post(path, _data_only(), format="multipart")
    assert response.status_code == 400
    assert "no part named 'eml'" in response.json()["detail"]
    assert not Submission.objects.exists()


def test_pasta_update_without_an_eml_part_is_a_plain_text_400(vetted_user, api_client_factory):
    from tests.factories import make_revision

    rev = make_revision(owner=vetted_user)
    path = f"/package/eml/{rev.package.scope}/{rev.package.identifier}"
    response = api_client_factory(vetted_user).put(path, _data_only(), format="multipart")
    assert response.status_code == 400 and "no part named 'eml'" in response.content.decode()


def _big_eml(size: int) -> bytes:
    head = b'<eml:eml xmlns:eml="https://eml.ecoinformatics.org/eml-2.2.0" packageId="edi.1.1"><!--'
    return head + b"x" * (size - len(head) - 13) + b"--></eml:eml>"


@pytest.mark.parametrize("path", PASTA)
def test_pasta_oversized_raw_eml_is_a_plain_text_413_naming_the_limit(
    vetted_user, api_client_factory, settings, path
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = api_client_factory(vetted_user).post(
        path, data=_big_eml(3 * 1024 * 1024), content_type="application/xml"
    )
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    message = response.content.decode().replace("\xa0", " ")
    assert "3.0 MB" in message and "largest EML document accepted is 1.0 MB" in message
    assert not Submission.objects.exists()


@pytest.mark.parametrize("path", API)
def test_api_oversized_raw_eml_is_a_json_413_naming_the_limit(
    vetted_user, api_client_factory, settings, path
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    response = api_client_factory(vetted_user).post(
        path, data=_big_eml(3 * 1024 * 1024), content_type="application/xml"
    )
    assert response.status_code == 413
    assert "largest EML document accepted is 1.0 MB" in response.json()["detail"].replace("\xa0", " ")


def test_oversized_eml_part_is_refused_too(vetted_user, api_client_factory, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    eml = io.BytesIO(_big_eml(2 * 1024 * 1024))
    eml.name = "eml.xml"
    response = api_client_factory(vetted_user).post("/package/eml", {"eml": eml}, format="multipart")
    assert response.status_code == 413 and "largest EML document accepted" in response.content.decode()


def test_default_limit_answers_a_15_mb_eml_in_the_endpoints_format(vetted_user, api_client_factory):
    """The report's case with the shipped settings: a 15 MB EML was an HTML 400."""
    response = api_client_factory(vetted_user).post(
        "/package/eml", data=_big_eml(15 * 1024 * 1024), content_type="application/xml"
    )
    assert response.status_code == 413 and response["Content-Type"].startswith("text/plain")
    assert "10.0 MB" in response.content.decode().replace("\xa0", " ")


@pytest.mark.parametrize("path", ["/api/packages/", "/api/packages/evaluate/", "/package/eml"])
def test_an_eml_with_a_nul_byte_is_a_400_and_nothing_is_stored(vetted_user, path):
    from tests.conftest import api_client_for

    response = api_client_for(vetted_user).post(path, b"<eml>\x00</eml>", content_type="application/xml")
    assert response.status_code == 400 and b"NUL byte" in response.content
    assert not Submission.objects.exists()
