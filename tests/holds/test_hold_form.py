"""The hold form and service hold only data a hold actually hides (issue 11 §1 "Hold form")."""

import datetime

import pytest
from django.utils import timezone

from apps.holds import services
from apps.holds.models import Hold
from apps.packages.models import Revision
from tests.factories import make_revision


def _soon(days=30):
    return timezone.now().date() + datetime.timedelta(days=days)


@pytest.fixture
def public_and_unpublished(approved_cruise, vetted_user):
    public = make_revision("published", owner=vetted_user, cruise=approved_cruise, identifier=401)
    waiting = make_revision("archived", owner=vetted_user, cruise=approved_cruise, identifier=402)
    return public, waiting


def test_the_service_refuses_a_hold_on_published_data(
    approved_cruise, chief_scientist, public_and_unpublished
):
    public, _ = public_and_unpublished
    day = public.published_at.date().isoformat()
    with pytest.raises(services.HoldError, match=f"published on {day}: public data cannot be held back"):
        services.assert_hold(
            approved_cruise, chief_scientist, ends_on=_soon(), reason="x", packages=[public.package]
        )
    assert not Hold.objects.exists()
    public.refresh_from_db()
    assert public.state == Revision.State.PUBLISHED


def test_the_form_disables_published_datasets_and_says_why(
    approved_cruise, chief_scientist, client, public_and_unpublished
):
    public, waiting = public_and_unpublished
    client.force_login(chief_scientist)
    page = client.get(f"/holds/cruise/{approved_cruise.pk}/new/").content.decode()
    day = public.published_at.date().isoformat()
    assert f"published on {day}: public data cannot be held back; a data manager can withdraw it" in page
    public_box = next(line for line in page.splitlines() if f'value="{public.package.pk}"' in line)
    waiting_box = next(line for line in page.splitlines() if f'value="{waiting.package.pk}"' in line)
    assert "disabled" in public_box and "disabled" not in waiting_box


def test_a_forged_post_naming_published_data_is_refused_and_nothing_is_listed(
    approved_cruise, chief_scientist, client, public_and_unpublished
):
    public, _ = public_and_unpublished
    client.force_login(chief_scientist)
    response = client.post(
        f"/holds/cruise/{approved_cruise.pk}/new/",
        {"scope": "some", "packages": [public.package.pk], "ends_on": _soon().isoformat(), "reason": "x"},
    )
    assert response.status_code == 200 and "cannot be held" in response.content.decode()
    assert not Hold.objects.exists()
    assert approved_cruise.cruise_id not in client.get("/holds/").content.decode()


def test_asserting_says_what_is_held_now_and_what_stays_public(
    approved_cruise, chief_scientist, client, public_and_unpublished
):
    public, waiting = public_and_unpublished
    client.force_login(chief_scientist)
    response = client.post(
        f"/holds/cruise/{approved_cruise.pk}/new/",
        {"scope": "all", "ends_on": _soon().isoformat(), "reason": "Thesis"},
        follow=True,
    )
    text = response.content.decode()
    assert f"data held now: {waiting.package.package_key}" in text
    assert f"Already public, not affected: {public.package.package_key}" in text


def test_ticking_an_unpublished_dataset_holds_it(
    approved_cruise, chief_scientist, client, public_and_unpublished
):
    _, waiting = public_and_unpublished
    client.force_login(chief_scientist)
    response = client.post(
        f"/holds/cruise/{approved_cruise.pk}/new/",
        {"scope": "some", "packages": [waiting.package.pk], "ends_on": _soon().isoformat(), "reason": "x"},
    )
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == Revision.State.HELD
