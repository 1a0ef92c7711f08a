"""Large files come through the resumable drop zone: a tus upload to the ``share`` target is stored by the
worker as a blob in the page's basket, and "Continue" takes the basket's files by reference."""

from __future__ import annotations

import secrets

import pytest
from django.urls import reverse

from apps.shares.models import Basket, Draft
from apps.uploads import services as uploads
from apps.uploads.models import Upload
from tests.uploads.conftest import create, patch, tus_client

from .conftest import STATIONS, signed_in

pytestmark = pytest.mark.django_db


def test_a_dropped_file_joins_the_draft_by_reference(vetted_user):
    token = secrets.token_hex(16)
    client = tus_client(vetted_user)
    created = create(client, len(STATIONS), filename="stations.csv", share=token)
    assert created.status_code == 201, created.content
    url = created["Location"]
    # Not yet complete: Continue is refused (409) until the worker has stored it.
    page = signed_in(vetted_user)
    form = {"title": "Dropped", "licence": "CC-BY-4.0", "description": "", "basket": token}
    upload = Upload.objects.get(user=vetted_user)
    assert (upload.target_kind, upload.target_id) == ("share", token)
    refused = page.post(reverse("shares:share"), form)
    assert refused.status_code == 409
    assert patch(client, url, 0, STATIONS).status_code == 204
    uploads.place_upload(Upload.objects.get(user=vetted_user).pk)
    dropped = Basket.objects.get(token=token)
    assert dropped.name == "stations.csv" and dropped.blob.size == len(STATIONS)
    assert page.post(reverse("shares:share"), form).status_code == 302
    draft = Draft.objects.get(sharer=vetted_user)
    assert [(f["name"], f["sha256"]) for f in draft.files] == [("stations.csv", dropped.blob.sha256)]
    assert draft.files[0]["attributes"][1]["kind"] == "int"


def test_only_sharers_may_drop_and_only_with_a_page_token(plain_user, vetted_user):
    assert create(tus_client(plain_user), 3, filename="a.txt", share=secrets.token_hex(16)).status_code == 403
    assert create(tus_client(vetted_user), 3, filename="a.txt", share="../../etc").status_code == 400
