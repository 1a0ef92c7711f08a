"""Fixtures for quick shares: a client signed in as the sharer, and a helper that shares through the pages
and runs the pipeline in this process (preview, then publish)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.shares.models import Draft
from apps.submissions import services as submissions

STATIONS = b"station,depth_m,temperature\nA1,10,12.5\nA2,20,11.0\nA3,,9.75\n"
README = b"Stations of the harbour mooring line, 2024.\n"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "text/csv" if name.endswith(".csv") else "text/plain")


def publish_draft(client, draft: Draft, extra: dict | None = None):
    """Press "Preview" on the draft page, run the checks, press "Publish", run the rest: the revision."""
    form = {"title": draft.title, "description": draft.description, "licence": draft.licence, **(extra or {})}
    response = client.post(reverse("shares:draft", args=[draft.pk]), form)
    assert response.status_code == 302, response.content[:800]
    draft.refresh_from_db()
    sub = submissions.run_all(draft.submission)
    assert sub.state == sub.State.AWAITING, sub.error
    assert client.post(reverse("submissions:publish", args=[sub.transaction])).status_code == 302
    sub = submissions.run_all(sub)
    assert sub.state == sub.State.SUCCEEDED, sub.error
    return sub.revision


@pytest.fixture
def shared(vetted_user):
    """A published quick share of two files (stations.csv, README.txt) by the vetted user."""
    client = signed_in(vetted_user)
    response = client.post(
        reverse("shares:share"),
        {
            "title": "Harbour stations 2024",
            "licence": "CC-BY-4.0",
            "description": "Temperatures at three stations.",
            "files": [upload("stations.csv", STATIONS), upload("README.txt", README)],
        },
    )
    assert response.status_code == 302, response.content[:800]
    draft = Draft.objects.get(sharer=vetted_user)
    revision = publish_draft(client, draft)
    draft.refresh_from_db()
    return draft.share, revision, client
