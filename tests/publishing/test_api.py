from apps.publishing import services
from apps.publishing.models import Doi


def test_doi_queue_api_is_for_data_managers(
    api_client_factory, make_revision, plain_user, vetted_user, data_manager, datacite
):
    revision = make_revision()
    datacite.outage = True
    services.sync_doi(revision.version_doi.pk)
    assert api_client_factory(None).get("/api/publishing/dois/").status_code in (401, 403)
    assert api_client_factory(plain_user).get("/api/publishing/dois/").status_code == 403
    assert api_client_factory(vetted_user).get("/api/publishing/dois/").status_code == 403
    body = api_client_factory(data_manager).get("/api/publishing/dois/").json()
    failing = [d for d in body["results"] if d["doi"] == revision.doi][0]
    assert failing["attempts"] == 1 and "500" in failing["last_error"]


def test_retry_api_makes_the_doi_due_now(
    api_client_factory, make_revision, plain_user, data_manager, datacite
):
    revision = make_revision()
    datacite.outage = True
    services.sync_doi(revision.version_doi.pk)
    url = f"/api/publishing/dois/{revision.version_doi.pk}/retry/"
    assert api_client_factory(plain_user).post(url).status_code == 403
    response = api_client_factory(data_manager).post(url)
    assert response.status_code == 202 and response.json()["next_try_at"] is None
    assert Doi.objects.get(pk=revision.version_doi.pk).next_try_at is None


def test_withdraw_api(api_client_factory, make_revision, plain_user, data_manager):
    revision = make_revision()
    url = f"/api/publishing/datasets/edi/{revision.package.identifier}/1/withdraw/"
    assert api_client_factory(None).post(url, {"reason": "x"}).status_code in (401, 403)
    assert api_client_factory(plain_user).post(url, {"reason": "x"}).status_code == 403
    client = api_client_factory(data_manager)
    assert client.post(url, {}).status_code == 400
    response = client.post(url, {"reason": "Mislabelled units"})
    assert response.status_code == 200 and response.json()["state"] == "withdrawn"
    assert client.post(url, {"reason": "again"}).status_code == 409


def test_version_doi_status_is_public_for_public_versions(api_client_factory, make_revision, plain_user):
    revision = make_revision()
    body = (
        api_client_factory(None)
        .get(f"/api/publishing/datasets/edi/{revision.package.identifier}/1/dois/")
        .json()
    )
    assert body["version"]["doi"] == revision.doi and body["version"]["state"] == "pending"
    hidden = make_revision("archived")
    url = f"/api/publishing/datasets/edi/{hidden.package.identifier}/1/dois/"
    assert api_client_factory(plain_user).get(url).status_code == 404
