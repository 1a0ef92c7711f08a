"""Reviewing an inventory: the invitation e-mail, flags raised, answered and closed with e-mail both ways,
the hold that hides checksums from the public, the feeds and the page."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.deliveries import services
from apps.deliveries.models import Flag
from apps.holds.models import Hold
from portal.errors import Forbidden

from .helpers import make_tree

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(operator_user, chief_scientist, cruise, dropbox, django_capture_on_commit_callbacks):
    delivery = services.register_delivery(operator_user, cruise, str(make_tree(dropbox / "review")))
    with django_capture_on_commit_callbacks(execute=True):
        services.run_inventory(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_the_operator_and_chief_scientist_are_invited_to_review(delivered, cruise):
    to = {m.to[0] for m in mail.outbox}
    assert {"operator@example.org", "chief@example.org"} <= to
    assert all("please review" in m.subject for m in mail.outbox)
    assert f"/deliveries/{delivered.pk}/" in mail.outbox[0].body


def test_flags_are_raised_answered_and_closed_with_email_both_ways(
    delivered, chief_scientist, data_manager, plain_user, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        flag = services.raise_flag(
            chief_scientist, delivered, kind="instrument_class", target="adcp", comment="The OS150 is missing"
        )
    assert [m.to for m in mail.outbox] == [[data_manager.email]]
    with pytest.raises(Forbidden):
        services.raise_flag(plain_user, delivered, kind="file", target="x", comment="y")
    with pytest.raises(Forbidden):
        services.answer_flag(chief_scientist, flag, "no")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.answer_flag(data_manager, flag, "Asked the ship; shipment 2 will carry it.")
    assert chief_scientist.email in {m.to[0] for m in mail.outbox}
    flag.refresh_from_db()
    assert flag.state == Flag.State.ANSWERED and flag.answered_by == data_manager
    with django_capture_on_commit_callbacks(execute=True):
        services.close_flag(data_manager, flag)
    flag.refresh_from_db()
    assert flag.state == Flag.State.CLOSED
    methods = set(
        AuditEvent.objects.filter(resource_id__startswith=f"delivery/{delivered.pk}/flag/").values_list(
            "service_method", flat=True
        )
    )
    assert methods == {"raiseFlag", "answerFlag", "closeFlag"}


def test_a_hold_shows_paths_and_sizes_but_hides_checksums_from_the_public(delivered, cruise, chief_scientist):
    Hold.objects.create(
        cruise=cruise, ends_on=datetime.date.today() + datetime.timedelta(days=365), reason="PI"
    )
    public = Client()
    page = public.get(reverse("deliveries:detail", args=[delivered.pk]))
    row = delivered.files.get(path="README.txt")
    assert page.status_code == 200
    assert "README.txt" in page.content.decode() and row.sha256 not in page.content.decode()
    csv_text = b"".join(public.get(reverse("deliveries:csv", args=[delivered.pk])).streaming_content).decode()
    assert "README.txt" in csv_text and row.md5 not in csv_text
    assert public.get(reverse("deliveries:hashdeep", args=[delivered.pk])).status_code == 403
    api = public.get(reverse("api-delivery-files", args=[delivered.pk])).json()
    assert {f["sha256"] for f in api["results"]} == {None}
    chief = Client()
    chief.force_login(chief_scientist)
    assert row.sha256 in chief.get(reverse("deliveries:detail", args=[delivered.pk])).content.decode()
    assert chief.get(reverse("deliveries:hashdeep", args=[delivered.pk])).status_code == 200


def test_the_page_filters_by_folder_and_the_feeds_list_the_inventory(
    delivered, cruise, django_assert_max_num_queries
):
    client = Client()
    with django_assert_max_num_queries(20):
        page = client.get(
            reverse("deliveries:detail", args=[delivered.pk]), {"folder": "ctd"}
        ).content.decode()
    assert "ctd/cast001.hex" in page and "nav/gps.nmea" not in page
    for url in (reverse("deliveries:feed"), reverse("deliveries:operator-feed", args=[cruise.operator_id])):
        feed = client.get(url)
        assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
        assert f"{cruise.cruise_id} shipment {delivered.shipment}" in feed.content.decode()
    cruise_page = client.get(reverse("cruises:detail", args=[cruise.pk])).content.decode()
    assert f"Shipment {delivered.shipment}" in cruise_page


def test_the_api_registers_and_reports_progress(operator_user, cruise, dropbox, api_client_factory):
    client = api_client_factory(operator_user)
    root = make_tree(dropbox / "api")
    created = client.post(
        reverse("api-deliveries"), {"cruise": cruise.pk, "source": str(root)}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "registered" and body["inventory_url"].endswith(f"/deliveries/{body['id']}/")
    services.run_inventory(body["id"])
    detail = client.get(reverse("api-delivery", args=[body["id"]])).json()
    assert detail["progress"]["files_done"] == detail["progress"]["files_total"] > 0
    refused = client.post(reverse("api-deliveries"), {"cruise": cruise.pk, "source": "/etc"}, format="json")
    assert refused.status_code == 400
    # A body that is not a JSON object is a 400 that says so (schemathesis found the 500).
    not_an_object = client.post(reverse("api-deliveries"), [None, None], format="json")
    assert not_an_object.status_code == 400 and "JSON object" in not_an_object.content.decode()
