import pytest

from apps.audit.models import AuditEvent
from apps.cruises.models import Cruise, CruiseMember
from apps.cruises.services import designate_member, invitation_token


def _form(**over):
    data = {
        "cruise_id": "TE2405",
        "departure_port": "",
        "departure_date": "2024-07-01",
        "arrival_port": "",
        "arrival_date": "2024-07-10",
        "mission_summary": "Mooring turnaround",
        "survey_targets": "",
        "instruments_text": "CTD, MOORING",
        "chief_name": "Chief Scientist",
        "chief_email": "chief2@example.org",
        "award_funder": "",
        "award_number": "",
    }
    data.update(over)
    return data


@pytest.fixture
def ports(db):
    from apps.cruises.models import Port

    return Port.objects.create(name="San Diego", unlocode="USSAN"), Port.objects.create(
        name="Honolulu", unlocode="USHNL"
    )


@pytest.mark.parametrize(
    "path",
    [
        "/cruises/",
        "/cruises/vessels/",
        "/cruises/{pk}/",
        "/cruises/{pk}/sailing-orders.xml",
        "/cruises/{pk}/report/",
        "/cruises/schema/sailing-orders.xsd",
        "/api/cruises/",
        "/api/cruises/{pk}/",
        "/holds/",
        "/api/holds/",
    ],
)
def test_public_pages_open_for_everyone(client, cruise, path):
    assert client.get(path.format(pk=cruise.pk)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/cruises/new/",
        "/cruises/import/",
        "/cruises/{pk}/edit/",
        "/cruises/{pk}/people/",
        "/cruises/{pk}/packages/",
    ],
)
def test_writing_pages_send_anonymous_to_login_and_refuse_plain_users(client, plain_user, cruise, path):
    url = path.format(pk=cruise.pk)
    assert client.get(url).status_code == 302
    client.force_login(plain_user)
    assert client.get(url).status_code == 403


def test_operator_creates_a_cruise_by_form(client, operator_user, vessel, ports, chief_scientist):
    client.force_login(operator_user)
    assert client.get("/cruises/new/").status_code == 200
    response = client.post(
        "/cruises/new/", _form(vessel=vessel.pk, departure_port=ports[0].pk, arrival_port=ports[1].pk)
    )
    assert response.status_code == 302, response.content
    cruise = Cruise.objects.get(cruise_id="TE2405")
    assert cruise.instruments == ["CTD", "MOORING"] and cruise.operator == vessel.operator
    assert cruise.members.get(role="chief_scientist").email == "chief2@example.org"
    assert AuditEvent.objects.filter(service_method="createCruise", resource_id="TE2405").exists()


def test_form_refuses_a_duplicate_cruise_id(client, operator_user, cruise, ports):
    client.force_login(operator_user)
    response = client.post(
        "/cruises/new/",
        _form(
            cruise_id=cruise.cruise_id,
            vessel=cruise.vessel.pk,
            departure_port=ports[0].pk,
            arrival_port=ports[1].pk,
        ),
    )
    assert response.status_code == 200 and b"already exists" in response.content


def test_operator_edits_and_the_change_is_recorded(client, operator_user, cruise, ports):
    client.force_login(operator_user)
    response = client.post(
        f"/cruises/{cruise.pk}/edit/",
        {
            "departure_port": ports[0].pk,
            "departure_date": "2024-03-01",
            "arrival_port": ports[1].pk,
            "arrival_date": "2024-03-20",
            "mission_summary": "Revised survey",
            "instruments_text": "CTD",
            "undated_navigation_from_departure": "on",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/cruises/{cruise.pk}/").content.decode()
    assert "Revised survey" in page and "Change history" in page and "mission_summary" in page
    assert "undated_navigation_from_departure" in page and 'id="undated-navigation"' in page


def test_chief_designates_staff_by_email_and_the_invitee_accepts(
    client, chief_scientist, cruise, user_factory, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(chief_scientist)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/cruises/{cruise.pk}/people/",
            {"email": "deckhand@example.org", "name": "Deck Hand", "role": "shipboard_staff"},
        )
    assert response.status_code == 302
    member = CruiseMember.objects.get(cruise=cruise, email="deckhand@example.org")
    assert member.user is None
    assert mailoutbox[-1].to == ["deckhand@example.org"] and "/cruises/invitations/" in mailoutbox[-1].body
    link = mailoutbox[-1].body.split("http://127.0.0.1:8000")[1].split()[0]
    newcomer = user_factory("deckhand@example.org")
    other = user_factory("someone@example.org")
    client.force_login(other)
    assert client.post(link).status_code == 400  # not their invitation
    client.force_login(newcomer)
    assert client.post(link).status_code == 302
    member.refresh_from_db()
    assert member.user == newcomer


def test_designating_an_existing_user_links_at_once(chief_scientist, cruise, user_factory):
    existing = user_factory("known@example.org")
    member = designate_member(cruise, chief_scientist, email="KNOWN@example.org")
    assert member.user == existing


def test_shipboard_staff_cannot_designate(client, shipboard_staff, cruise):
    client.force_login(shipboard_staff)
    assert client.get(f"/cruises/{cruise.pk}/people/").status_code == 403


def test_a_forged_invitation_is_refused(client, cruise, plain_user):
    client.force_login(plain_user)
    assert client.post("/cruises/invitations/not-a-token/").status_code == 400
    assert invitation_token  # the signer exists; forged tokens fail its signature check


def test_data_manager_links_a_package(client, data_manager, cruise, vetted_user):
    from apps.packages.models import Package

    package = Package.objects.create(scope="edi", identifier=7, owner=vetted_user)
    client.force_login(data_manager)
    assert client.post(f"/cruises/{cruise.pk}/packages/", {"package_id": "edi.7"}).status_code == 302
    package.refresh_from_db()
    assert package.cruise == cruise


def test_cruise_list_and_detail_keep_their_query_count(
    client, cruise, vessel, organisation, chief_scientist, shipboard_staff, django_assert_max_num_queries
):
    for n in range(20):
        Cruise.objects.create(cruise_id=f"TE25{n:02d}", vessel=vessel, operator=organisation)
    with django_assert_max_num_queries(8):
        assert client.get("/cruises/").status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(f"/cruises/{cruise.pk}/").status_code == 200


def test_operations_report_lists_only_revisions_whose_metadata_is_public(client, cruise, vetted_user):
    from apps.packages.models import Package, Revision

    public = Package.objects.create(scope="edi", identifier=31, owner=vetted_user, cruise=cruise)
    Revision.objects.create(
        package=public, number=1, state=Revision.State.PUBLISHED, title="Published CTD casts"
    )
    Revision.objects.create(
        package=public, number=2, state=Revision.State.ARCHIVED, title="Unreleased second version"
    )
    hidden = Package.objects.create(scope="edi", identifier=32, owner=vetted_user, cruise=cruise)
    Revision.objects.create(
        package=hidden, number=1, state=Revision.State.FAILED, title="Failed draft upload"
    )
    page = client.get(f"/cruises/{cruise.pk}/report/").content.decode()
    assert "edi.31.1" in page
    assert "edi.31.2" not in page and "edi.32" not in page
    assert "Unreleased second version" not in page and "Failed draft upload" not in page
