"""The distribution form pages (profile, restore request, accession): a valid form saves through the service
and redirects with a message; an invalid form answers 400; an error the service raises is shown on the form
with its status, and nothing is saved."""

import pytest
from django.urls import reverse

from apps.distributions.models import Accession, Dataset, Profile, RestoreRequest

pytestmark = pytest.mark.django_db


def test_the_profile_form_saves_a_fleet_template_and_shows_what_it_refuses(client, data_manager, delivery):
    client.force_login(data_manager)
    url = reverse("distributions:profile-new")
    operator = delivery.cruise.operator
    form = {"name": "Fleet", "operator": operator.pk, "rules": "ctd | Sea-Bird | SBE911plus | ctd/**"}

    answer = client.post(url, form, follow=True)
    assert answer.redirect_chain == [(reverse("distributions:profiles"), 302)]
    assert b"Profile &#x27;Fleet&#x27; saved." in answer.content
    saved = Profile.objects.get(name="Fleet")
    assert [(r.instrument_class, r.pattern) for r in saved.rules.all()] == [("ctd", "ctd/**")]

    assert client.post(url, {**form, "name": ""}).status_code == 400  # the form's own check
    refused = client.post(url, {**form, "name": "No rules", "rules": ""})  # the service's UserError
    assert refused.status_code == 400 and b"Add at least one rule" in refused.content
    assert not Profile.objects.filter(name="No rules").exists()


def test_a_second_vessel_profile_is_refused_on_the_form_with_409(client, data_manager, profiles):
    client.force_login(data_manager)
    _, vessel_profile = profiles
    form = {
        "name": "Another",
        "operator": vessel_profile.operator_id,
        "vessel": vessel_profile.vessel_id,
        "rules": "ctd | Sea-Bird | SBE911plus | ctd/**",
    }
    refused = client.post(reverse("distributions:profile-new"), form)
    assert refused.status_code == 409 and b"has a profile already" in refused.content
    assert not Profile.objects.filter(name="Another").exists()


def test_the_restore_form_records_a_request_and_shows_a_path_that_matches_nothing(
    client, chief_scientist, delivery
):
    client.force_login(chief_scientist)
    url = reverse("distributions:restore-request", kwargs={"delivery_pk": delivery.pk})
    form = {"scope": "file", "path": "adcp/OS75/os75_001.ENR", "target": "folder", "reason": "lost it"}

    answer = client.post(url, form)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("cruises:detail", kwargs={"pk": delivery.cruise_id})
    restore = RestoreRequest.objects.get()
    assert (restore.scope, restore.path, restore.reason) == ("file", "adcp/OS75/os75_001.ENR", "lost it")

    assert client.post(url, {**form, "scope": "everything"}).status_code == 400  # not a choice
    refused = client.post(url, {**form, "path": "no/such/file"})
    assert refused.status_code == 400 and b"Nothing in shipment S1 matches" in refused.content
    assert RestoreRequest.objects.count() == 1


def test_the_accession_form_refuses_a_dataset_not_yet_packaged_with_409(client, data_manager, delivery):
    client.force_login(data_manager)
    dataset = Dataset.objects.create(delivery=delivery, instrument_class="ctd")
    url = reverse("distributions:accession", kwargs={"pk": dataset.pk})
    form = {"accession_id": "0290001", "url": "https://www.ncei.noaa.gov/archive/accession/0290001"}

    assert client.post(url, {**form, "url": "not a url"}).status_code == 400
    refused = client.post(url, {**form, "archive": "NCEI"})
    assert refused.status_code == 409 and b"has not been packaged yet" in refused.content
    assert not Accession.objects.exists()
