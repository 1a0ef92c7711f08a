import hashlib
import threading

import pytest
from django.db import connection

from apps.cruises.models import Cruise
from apps.eventlogs import services
from apps.eventlogs.models import Event, EventLog
from apps.storage.services import open_blob
from portal.errors import Forbidden

ENTRY = {
    "instrument": "CTD",
    "action": "deploy",
    "station": "S01",
    "cast": "1",
    "latitude": "32.5",
    "longitude": "-117.25",
}


def test_opening_sets_the_cruise_at_sea_and_only_operator_or_chief_may(
    cruise, shipboard_staff, chief_scientist
):
    with pytest.raises(Forbidden):
        services.open_log(cruise, shipboard_staff)
    services.open_log(cruise, chief_scientist)
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.AT_SEA
    with pytest.raises(services.EventLogError):
        services.open_log(cruise, chief_scientist)


def test_staff_writes_numbered_entries_through_the_api(
    open_eventlog, cruise, shipboard_staff, api_client_factory
):
    api = api_client_factory(shipboard_staff)
    first = api.post(
        f"/api/eventlogs/{cruise.pk}/entries/", {**ENTRY, "idempotency_key": "k1"}, format="json"
    )
    second = api.post(
        f"/api/eventlogs/{cruise.pk}/entries/",
        {**ENTRY, "action": "at bottom", "idempotency_key": "k2", "time": "2024-03-02T10:00:00Z"},
        format="json",
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert [first.json()["event_id"], second.json()["event_id"]] == ["TE2401-0001", "TE2401-0002"]
    assert second.json()["time"] == "2024-03-02T10:00:00Z"
    assert first.json()["author"] == "Ship Staff" and first.json()["latitude"] == 32.5


def test_a_retry_with_the_same_key_makes_one_entry(
    open_eventlog, cruise, shipboard_staff, api_client_factory
):
    api = api_client_factory(shipboard_staff)
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    responses = [api.post(url, {**ENTRY, "idempotency_key": "same"}, format="json") for _ in range(3)]
    assert [r.status_code for r in responses] == [201, 200, 200]
    assert {r.json()["event_id"] for r in responses} == {"TE2401-0001"}
    assert Event.objects.filter(log=open_eventlog).count() == 1


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"instrument": "TELEPORTER"}, "instrument"),
        ({"action": "explode"}, "action"),
        ({"latitude": "95"}, "latitude"),
        ({"time": "yesterday"}, "time"),
        ({"latitude": "10", "longitude": ""}, "longitude"),
    ],
)
def test_invalid_entries_say_which_field_to_fix(
    open_eventlog, cruise, shipboard_staff, api_client_factory, bad, field
):
    response = api_client_factory(shipboard_staff).post(
        f"/api/eventlogs/{cruise.pk}/entries/", {**ENTRY, **bad}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Event.objects.exists()


def test_others_cannot_write(open_eventlog, cruise, plain_user, api_client_factory, client):
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    assert api_client_factory(plain_user).post(url, ENTRY, format="json").status_code == 403
    assert api_client_factory(None).post(url, ENTRY, format="json").status_code in (401, 403)
    client.force_login(plain_user)
    assert client.post(f"/eventlogs/{cruise.pk}/", ENTRY).status_code == 403
    assert not Event.objects.exists()


def test_open_log_is_read_by_the_cruise_people_only(
    open_eventlog, cruise, plain_user, shipboard_staff, client, api_client_factory
):
    assert client.get(f"/eventlogs/{cruise.pk}/").status_code == 403
    assert api_client_factory(plain_user).get(f"/api/eventlogs/{cruise.pk}/entries/").status_code == 403
    client.force_login(shipboard_staff)
    page = client.get(f"/eventlogs/{cruise.pk}/")
    assert page.status_code == 200 and b'name="idempotency_key"' in page.content


def test_web_form_logs_once_even_when_resubmitted(open_eventlog, cruise, shipboard_staff, client):
    client.force_login(shipboard_staff)
    page = client.get(f"/eventlogs/{cruise.pk}/").content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    data = {**ENTRY, "idempotency_key": key, "time": "", "comment": "first cast"}
    assert client.post(f"/eventlogs/{cruise.pk}/", data).status_code == 302
    assert client.post(f"/eventlogs/{cruise.pk}/", data).status_code == 302  # the browser retried
    assert Event.objects.filter(log=open_eventlog).count() == 1
    listing = client.get(f"/eventlogs/{cruise.pk}/?instrument=CTD&station=S01&cast=1").content.decode()
    assert "TE2401-0001" in listing and "first cast" in listing


def test_web_form_shows_field_errors(open_eventlog, cruise, shipboard_staff, client):
    client.force_login(shipboard_staff)
    response = client.post(f"/eventlogs/{cruise.pk}/", {**ENTRY, "action": "explode", "idempotency_key": "x"})
    assert response.status_code == 400 and b"the action must be one of" in response.content


def test_closing_writes_a_stable_final_copy_and_refuses_entries(
    open_eventlog, cruise, chief_scientist, shipboard_staff, plain_user, client
):
    for i in range(3):
        services.add_entry(
            cruise, shipboard_staff, {**ENTRY, "idempotency_key": f"k{i}", "comment": f"cast {i}, with comma"}
        )
    log = services.close_log(cruise, chief_scientist)
    csv_bytes = open_blob(log.final_csv.blob).read()
    json_bytes = open_blob(log.final_json.blob).read()
    assert hashlib.sha256(csv_bytes).hexdigest() == log.final_csv.sha256
    assert csv_bytes.count(b"\n") == 4 and b'"cast 2, with comma"' in csv_bytes
    # The same log always gives the same bytes: the checksum is stable.
    again_csv, again_json = services.final_copy(EventLog.objects.get(pk=log.pk))
    assert (hashlib.sha256(again_csv).hexdigest(), hashlib.sha256(again_json).hexdigest()) == (
        log.final_csv.sha256,
        log.final_json.sha256,
    )
    with pytest.raises(services.EventLogError):
        services.add_entry(cruise, shipboard_staff, {**ENTRY, "idempotency_key": "late"})
    amendment, created = services.add_entry(
        cruise,
        shipboard_staff,
        {
            "instrument": "CTD",
            "action": "amendment",
            "amends": "TE2401-0002",
            "comment": "cast 1 was at S02",
            "idempotency_key": "fix",
        },
    )
    assert created and amendment.is_amendment and amendment.amends.event_id == "TE2401-0002"
    cruise.refresh_from_db()
    assert cruise.state == Cruise.State.COMPLETED
    # Closed: public, and the final copy downloads for anyone.
    client.force_login(plain_user)
    assert client.get(f"/eventlogs/{cruise.pk}/").status_code == 200
    response = client.get(f"/cruises/{cruise.pk}/files/{log.final_json.pk}/{log.final_json.filename}")
    assert response.status_code == 200 and b"".join(response.streaming_content) == json_bytes


def test_close_page_actions_need_operator_or_chief(open_eventlog, cruise, shipboard_staff, client):
    client.force_login(shipboard_staff)
    assert client.post(f"/eventlogs/{cruise.pk}/close/").status_code == 403
    assert client.post(f"/eventlogs/{cruise.pk}/open/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_get_contiguous_numbers_without_duplicates(cruise, operator_user, shipboard_staff):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    services.open_log(cruise, operator_user)
    errors = []

    def writer(n):
        from django.db import connections

        try:
            for i in range(15):
                key = f"w{n}-{i % 10}"  # every writer retries some of its own keys
                services.add_entry(cruise, shipboard_staff, {**ENTRY, "idempotency_key": key})
                if i < 5:  # and all writers race on the same five keys
                    services.add_entry(cruise, shipboard_staff, {**ENTRY, "idempotency_key": f"shared-{i}"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    numbers = sorted(Event.objects.filter(log__cruise=cruise).values_list("number", flat=True))
    assert numbers == list(range(1, 66))  # 6 writers × 10 own keys + 5 shared keys, no gaps
    assert Event.objects.filter(log__cruise=cruise, idempotency_key__startswith="shared-").count() == 5
