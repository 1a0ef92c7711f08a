import pytest
from lxml import etree

from apps.cruises import sailing_orders as so
from apps.cruises.models import Cruise, CruiseFile, CruiseMember
from apps.cruises.services import ingest_sailing_orders
from tests.cruises.helpers import sailing_orders


def test_api_ingest_creates_the_cruise_with_party_and_awards(
    operator_user, vessel, api_client_factory, chief_scientist
):
    response = api_client_factory(operator_user).post(
        "/api/cruises/", sailing_orders(), content_type="application/xml"
    )
    assert response.status_code == 201, response.content
    cruise = Cruise.objects.get(vessel=vessel, cruise_id="TE2402")
    assert response.json()["cruise_id"] == "TE2402"
    assert cruise.departure_port.unlocode == "USSAN" and str(cruise.arrival_date) == "2024-05-21"
    assert cruise.instruments == ["CTD", "MBES"]
    chief = cruise.members.get(role=CruiseMember.Role.CHIEF_SCIENTIST)
    assert chief.user == chief_scientist  # the address belongs to a user: linked at once
    assert cruise.members.get(role=CruiseMember.Role.SHIPBOARD_STAFF).user is None  # invited
    assert cruise.awards.get().number == "OCE-2400001"
    assert cruise.files.get(kind=CruiseFile.Kind.SAILING_ORDERS).size == len(sailing_orders())


def test_invalid_document_gets_line_numbered_errors(operator_user, vessel, api_client_factory):
    bad = (
        sailing_orders()
        .replace(b'date="2024-05-21"', b'date="21 May 2024"')
        .replace(b"<missionSummary>", b"<mission>")
        .replace(b"</missionSummary>", b"</mission>")
    )
    response = api_client_factory(operator_user).post("/api/cruises/", bad, content_type="application/xml")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(e.startswith("line 7:") and "date" in e for e in errors), errors
    assert not Cruise.objects.filter(cruise_id="TE2402").exists()


def test_malformed_xml_reports_its_line(operator_user, vessel):
    with pytest.raises(so.SailingOrdersError) as exc:
        ingest_sailing_orders(sailing_orders().replace(b"</party>", b"</partyy>"), operator_user)
    assert exc.value.errors[0].startswith("line 14:") and "well-formed" in exc.value.errors[0]


def test_duplicate_cruise_id_for_the_vessel_is_refused(operator_user, cruise, api_client_factory):
    response = api_client_factory(operator_user).post(
        "/api/cruises/", sailing_orders(cruise_id=cruise.cruise_id), content_type="application/xml"
    )
    assert response.status_code == 400
    assert "already exists for vessel Test Explorer" in response.json()["errors"][0]
    assert Cruise.objects.filter(cruise_id=cruise.cruise_id).count() == 1


def test_unknown_vessel_is_refused_with_its_line(operator_user, vessel):
    with pytest.raises(so.SailingOrdersError) as exc:
        ingest_sailing_orders(sailing_orders(vessel_code="ZZ"), operator_user)
    assert exc.value.errors[0].startswith("line 4: unknown vessel code 'ZZ'")


def test_entities_and_doctype_are_refused(operator_user, vessel):
    evil = sailing_orders().replace(
        b"<sailingOrders",
        b'<!DOCTYPE sailingOrders [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<sailingOrders',
        1,
    )
    evil = evil.replace(b"Hydrographic", b"&x; Hydrographic")
    with pytest.raises(so.SailingOrdersError) as exc:
        ingest_sailing_orders(evil, operator_user)
    assert "DOCTYPE" in exc.value.errors[0]
    assert not Cruise.objects.filter(cruise_id="TE2402").exists()


def test_only_the_vessels_operator_may_file_sailing_orders(plain_user, vessel, api_client_factory):
    assert (
        api_client_factory(plain_user)
        .post("/api/cruises/", sailing_orders(), content_type="application/xml")
        .status_code
        == 403
    )
    assert api_client_factory(None).post(
        "/api/cruises/", sailing_orders(), content_type="application/xml"
    ).status_code in (401, 403)
    assert not Cruise.objects.exists()


def test_export_validates_and_round_trips(operator_user, vessel, organisation):
    cruise = ingest_sailing_orders(sailing_orders(), operator_user)
    exported = so.build(cruise, with_emails=True)
    assert so.schema().validate(etree.fromstring(exported))
    assert so.schema().validate(etree.fromstring(so.build(cruise, with_report=True)))
    again = so.read(exported)
    assert (again.cruise_id, again.vessel_code, again.instruments) == ("TE2402", "TE", ["CTD", "MBES"])
    assert {m.email for m in again.members} == {"chief@example.org", "newcomer@example.org"}
    assert so.build(cruise, with_emails=True) == exported  # deterministic


def test_public_export_leaves_out_email_addresses(operator_user, vessel, client, chief_scientist):
    cruise = ingest_sailing_orders(sailing_orders(), operator_user)
    assert b"newcomer@example.org" not in client.get(f"/cruises/{cruise.pk}/sailing-orders.xml").content
    assert b"newcomer@example.org" not in client.get(f"/api/cruises/{cruise.pk}/sailing-orders.xml").content
    client.force_login(chief_scientist)
    assert b"newcomer@example.org" in client.get(f"/cruises/{cruise.pk}/sailing-orders.xml").content


def test_operations_report_shows_vessel_party_awards_and_events(
    operator_user, cruise, chief_scientist, client
):
    from apps.eventlogs.services import add_entry
    from tests.cruises.helpers import open_log

    open_log(cruise, operator_user)
    add_entry(cruise, chief_scientist, {"instrument": "CTD", "action": "deploy", "station": "S1"})
    client.force_login(chief_scientist)  # the open log's counts are for the cruise's people
    html = client.get(f"/cruises/{cruise.pk}/report/").content.decode()
    assert "Operations Report: TE2401" in html and "Test Explorer" in html and "Chief Scientist" in html
    assert "1 events (log open)" in html and "National" not in html  # the fixture cruise has no awards
    assert "No awards recorded." in html


def test_upload_form_shows_errors_and_creates_on_success(operator_user, vessel, client):
    client.force_login(operator_user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = client.post(
        "/cruises/import/", {"document": SimpleUploadedFile("o.xml", sailing_orders(vessel_code="ZZ"))}
    )
    assert bad.status_code == 400 and b"unknown vessel code" in bad.content
    good = client.post("/cruises/import/", {"document": SimpleUploadedFile("o.xml", sailing_orders())})
    assert good.status_code == 302
    assert Cruise.objects.filter(cruise_id="TE2402").exists()
