"""The demo's held dataset (quay.2401) keeps its EML document: its landing page's export links all work for
the data manager, and it shows no quality report link (it did not come through the pipeline)."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.packages.models import Revision

pytestmark = pytest.mark.django_db


def test_the_demo_hold_holds_a_dataset_whose_exports_all_answer(settings):
    from apps.accounts import demo as accounts_demo
    from apps.cruises import demo as cruises_demo
    from apps.holds import demo as holds_demo
    from apps.reviews import demo as reviews_demo

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for demo in (accounts_demo, cruises_demo, reviews_demo, holds_demo):
        demo.load(lambda line: None)
    held = Revision.objects.get(package__scope="quay", package__identifier=2401, number=1)
    assert held.state == Revision.State.HELD
    client = Client()
    client.force_login(User.objects.get(email="dm@quayside.example"))
    page = client.get("/dataset/quay/2401/1/").content.decode()
    assert "Quality report" not in page
    for fmt in ("datacite.xml", "eml.xml", "oai_dc.xml", "jsonld", "bibtex"):
        assert f"/dataset/quay/2401/1/export/{fmt}" in page
        assert client.get(f"/dataset/quay/2401/1/export/{fmt}").status_code == 200, fmt
