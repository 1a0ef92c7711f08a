"""Importing sailing orders as a newcomer meets it (issue 11 §5 and §7): every problem at once in plain
words, an example document to start from, the chosen file kept after a refusal, and nothing said about a
document's validity to someone who may not file it."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from apps.cruises import sailing_orders as so
from apps.cruises.models import Cruise
from apps.cruises.services import ingest_sailing_orders
from portal.errors import Forbidden
from tests import factories
from tests.conftest import make_user
from tests.cruises.helpers import sailing_orders
from tests.cruises.test_mailbox import _message

pytestmark = pytest.mark.django_db

MANY_PROBLEMS = (
    sailing_orders()
    .replace(b'date="2024-05-21"', b'date="2027-13-40"')
    .replace(b"<missionSummary>Hydrographic survey of the California Current.</missionSummary>", b"")
    .replace(b'role="shipboard_staff"', b'role="captain"')
    .replace(b'orcid="0000-0001-5109-3700"', b'orcid="12345"')
    .replace(b' funder="National Science Foundation"', b"")
)


def errors_of(data: bytes, user) -> list[str]:
    with pytest.raises(so.SailingOrdersError) as exc:
        ingest_sailing_orders(data, user)
    return exc.value.errors


def test_every_problem_is_reported_at_once_in_plain_words(operator_user, vessel):
    errors = errors_of(MANY_PROBLEMS, operator_user)
    assert errors == [
        "line 7: <arrival> date: 2027-13-40 is not a real date (YYYY-MM-DD)",
        "line 9: <cruise> is missing <missionSummary> before <surveyTargets>",
        "line 12: <member> orcid: '12345' is not an ORCID iD (0000-0000-0000-0000; the last character may be X)",
        "line 13: <member> role: 'captain' is not one of chief_scientist, science_party, shipboard_staff, "
        "operator_contact",
        "line 15: <award> needs the attribute funder",
    ]


def test_schema_problems_and_the_rules_after_them_come_together(operator_user, vessel):
    two_chiefs = sailing_orders().replace(b'role="shipboard_staff"', b'role="chief_scientist"')
    bad = two_chiefs.replace(b'date="2024-05-01"', b'date="1 May 2024"')
    errors = errors_of(bad, operator_user)
    assert any(e.startswith("line 6:") and "1 May 2024 is not a real date" in e for e in errors), errors
    assert any("exactly one chief_scientist (found 2)" in e for e in errors), errors


def test_a_misspelt_element_does_not_hide_the_problems_after_it(operator_user, vessel):
    bad = (
        sailing_orders()
        .replace(b"<missionSummary>", b"<mission>")
        .replace(b"</missionSummary>", b"</mission>")
        .replace(b'role="shipboard_staff"', b'role="captain"')
    )
    errors = errors_of(bad, operator_user)
    assert errors[0] == "line 8: <mission> is not expected here; expected <missionSummary>"
    assert any(e.startswith("line 13:") and "'captain' is not one of" in e for e in errors), errors


def test_unknown_vessel_names_only_the_vessels_this_person_operates(operator_user, vessel):
    elsewhere = factories.OrganisationFactory(name="Other Institute", short_name="OI")
    factories.VesselFactory(code="OV", name="Other Vessel", operator=elsewhere)
    [error] = errors_of(sailing_orders(vessel_code="ZZ"), operator_user)
    assert error == "line 4: unknown vessel code 'ZZ'; the vessels you may file for: TE"
    assert "OV" not in error


def test_an_outsider_learns_nothing_about_a_documents_validity(plain_user, vessel, api_client_factory):
    with pytest.raises(Forbidden):
        ingest_sailing_orders(MANY_PROBLEMS, plain_user)
    response = api_client_factory(plain_user).post(
        "/api/cruises/", MANY_PROBLEMS, content_type="application/xml"
    )
    assert response.status_code == 403
    assert b"line" not in response.content and b"date" not in response.content


def test_another_operator_naming_this_vessel_is_refused_before_validation(vessel, api_client_factory):
    other = make_user("other-operator@example.org")
    factories.OrganisationMemberFactory(
        user=other, organisation=factories.OrganisationFactory(name="Other Institute", short_name="OI")
    )
    with pytest.raises(Forbidden, match="Only operators of"):
        ingest_sailing_orders(MANY_PROBLEMS, other)
    response = api_client_factory(other).post("/api/cruises/", MANY_PROBLEMS, content_type="application/xml")
    assert response.status_code == 403 and b"not a real date" not in response.content


def test_the_example_document_is_valid_and_linked_from_the_import_page(client, operator_user, vessel):
    response = client.get("/cruises/schema/sailing-orders-example.xml")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    so.parse(response.content)  # valid: raises otherwise
    client.force_login(operator_user)
    assert b'href="/cruises/schema/sailing-orders-example.xml"' in client.get("/cruises/import/").content


def test_an_operators_example_names_their_vessel_and_imports_as_it_is(client, operator_user, vessel):
    client.force_login(operator_user)
    example = client.get("/cruises/schema/sailing-orders-example.xml").content
    assert b'code="TE"' in example and b"Test Oceanographic Institution" in example
    cruise = ingest_sailing_orders(example, operator_user)
    assert (cruise.cruise_id, cruise.vessel) == ("EX2601", vessel)


def kept_files(settings) -> list[Path]:
    return list((Path(settings.SCRATCH_DIR) / "kept-sailing-orders").glob("*.xml"))


def test_a_refused_file_is_kept_and_can_be_sent_again(client, operator_user, vessel, organisation, settings):
    client.force_login(operator_user)
    document = sailing_orders(vessel_code="NV")
    refused = client.post("/cruises/import/", {"document": SimpleUploadedFile("orders-nv.xml", document)})
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "unknown vessel code &#x27;NV&#x27;" in page
    assert "Use the same file again (orders-nv.xml)" in page
    assert [f.read_bytes() for f in kept_files(settings)] == [document]

    # The data manager registers the new vessel; the operator sends the same file without choosing it.
    factories.VesselFactory(code="NV", name="New Vessel", operator=organisation)
    accepted = client.post("/cruises/import/", {"use_kept": "on"})
    assert accepted.status_code == 302
    assert Cruise.objects.filter(cruise_id="TE2402", vessel__code="NV").exists()
    assert kept_files(settings) == []


def test_a_kept_file_is_only_offered_to_the_person_who_sent_it(client, operator_user, vessel, organisation):
    client.force_login(operator_user)
    client.post(
        "/cruises/import/", {"document": SimpleUploadedFile("mine.xml", sailing_orders(vessel_code="NV"))}
    )
    colleague = make_user("colleague@example.org")
    factories.OrganisationMemberFactory(user=colleague, organisation=organisation)
    client.force_login(colleague)
    page = client.get("/cruises/import/").content.decode()
    assert "mine.xml" not in page
    response = client.post("/cruises/import/", {"use_kept": "on"})
    assert response.status_code == 400 and not Cruise.objects.filter(cruise_id="TE2402").exists()


def test_the_mailbox_answers_with_every_problem_in_plain_words(
    tmp_path, operator_user, vessel, settings, mailoutbox
):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    box.add(_message(operator_user.email, MANY_PROBLEMS, "many.xml"))
    settings.CRUISE_MAILBOX_URL = f"maildir://{tmp_path / 'Maildir'}"
    call_command("read_mailbox")
    [reply] = [m.body for m in mailoutbox if m.to == [operator_user.email]]
    assert "many.xml: NOT accepted" in reply
    assert "2027-13-40 is not a real date (YYYY-MM-DD)" in reply and "'captain' is not one of" in reply


def test_the_invited_tag_marks_only_people_who_were_invited(client, operator_user, vessel, chief_scientist):
    no_address = sailing_orders(extra="").replace(
        b'<member role="shipboard_staff" email="newcomer@example.org"><name>New Comer</name></member>',
        b'<member role="shipboard_staff" email="newcomer@example.org"><name>New Comer</name></member>'
        b'<member role="science_party"><name>No Address</name></member>',
    )
    cruise = ingest_sailing_orders(no_address, operator_user)
    client.force_login(operator_user)
    for path in (f"/cruises/{cruise.pk}/", f"/cruises/{cruise.pk}/people/"):
        page = client.get(path).content.decode()
        items = {line.split(" — ")[0].split(">")[-1]: line for line in page.split("<li>") if " — " in line}
        assert "invited" in items["New Comer"], path
        assert "invited" not in items["No Address"] and "invited" not in items["Chief Scientist"], path
