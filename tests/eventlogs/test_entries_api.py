"""The event-log API writes every entry through the one path (``services.add_entries``): token and session
alike, one entry or an array of them, with both audit rows, contiguous numbers and idempotent retries."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import ApiToken
from apps.audit.models import AuditEvent
from apps.eventlogs import services
from apps.eventlogs.api.views import MAX_BATCH
from apps.eventlogs.models import Event, EventLog
from tests.conftest import api_client_for

ENTRY = {
    "instrument": "CTD",
    "action": "deploy",
    "station": "S01",
    "cast": "1",
    "latitude": 32.5,
    "longitude": -117.25,
}


def _url(cruise) -> str:
    return f"/api/eventlogs/{cruise.pk}/entries/"


def _audit_rows(since: int = 0):
    return list(
        AuditEvent.objects.filter(pk__gt=since)
        .order_by("id")
        .values_list("service", "service_method", "resource_id", "status_code", "user_id", "auth_system")
    )


def _last_audit_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("auth", ["token", "session"])
def test_an_entry_writes_the_service_row_and_the_request_row_with_how_the_writer_signed_in(
    open_eventlog, cruise, shipboard_staff, client, auth
):
    body = {**ENTRY, "idempotency_key": "k1", "time": "2024-03-02T12:00:00+02:00"}
    if auth == "token":
        before = _last_audit_id()
        response = api_client_for(shipboard_staff).post(
            _url(cruise), body, format="json", HTTP_USER_AGENT="ShipLogger/2"
        )
    else:
        client.force_login(shipboard_staff)
        before = _last_audit_id()  # after the sign-in's own row
        response = client.post(
            _url(cruise), body, content_type="application/json", HTTP_USER_AGENT="ShipLogger/2"
        )
    assert response.status_code == 201
    entry = response.json()
    assert (entry["event_id"], entry["time"], entry["author"]) == (
        "TE2401-0001",
        "2024-03-02T10:00:00Z",
        "Ship Staff",
    )
    assert _audit_rows(before) == [
        ("eventlogs", "addEntry", "TE2401-0001", 201, shipboard_staff.pk, auth),
        ("api", "POST api-eventlog-entries", "", 201, shipboard_staff.pk, auth),
    ]
    service_row = AuditEvent.objects.get(resource_id="TE2401-0001")
    assert (service_row.entry_text, service_row.user_agent, service_row.user_id_text) == (
        "CTD deploy",
        "ShipLogger/2",
        shipboard_staff.email,
    )


def test_a_retry_answers_the_first_entry_and_is_audited_only_as_a_request(
    open_eventlog, cruise, shipboard_staff
):
    api = api_client_for(shipboard_staff)
    first = api.post(_url(cruise), {**ENTRY, "idempotency_key": "same"}, format="json")
    before = _last_audit_id()
    retry = api.post(
        _url(cruise), {**ENTRY, "idempotency_key": "same", "comment": "sent again"}, format="json"
    )
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()  # the first entry, unchanged
    assert _audit_rows(before) == [("api", "POST api-eventlog-entries", "", 200, shipboard_staff.pk, "token")]
    assert EventLog.objects.get(pk=open_eventlog.pk).next_number == 2  # the retry took no number


def test_event_numbers_past_9999_keep_every_digit(open_eventlog, cruise, shipboard_staff):
    EventLog.objects.filter(pk=open_eventlog.pk).update(next_number=9999)
    api = api_client_for(shipboard_staff)
    ids = [
        api.post(_url(cruise), {**ENTRY, "idempotency_key": f"n{i}"}, format="json").json()["event_id"]
        for i in range(2)
    ]
    assert ids == ["TE2401-9999", "TE2401-10000"]


def test_refusals_say_why_and_a_closed_log_still_answers_retries_and_takes_amendments(
    open_eventlog, cruise, chief_scientist, shipboard_staff, plain_user
):
    url = _url(cruise)
    stranger = api_client_for(plain_user).post(url, ENTRY, format="json")
    assert stranger.status_code == 403 and "shipboard staff" in stranger.json()["detail"]
    bad_token = api_client_for(None)
    bad_token.credentials(HTTP_AUTHORIZATION="Token qs_not-a-real-token")
    assert bad_token.post(url, ENTRY, format="json").status_code == 401
    staff = api_client_for(shipboard_staff)
    assert staff.post(url, "instrument=CTD", content_type="text/plain").status_code in (400, 415)
    first = staff.post(url, {**ENTRY, "idempotency_key": "before-close"}, format="json").json()
    services.close_log(cruise, chief_scientist)
    closed = staff.post(url, {**ENTRY, "idempotency_key": "after-close"}, format="json")
    assert closed.status_code == 400 and closed.json()["errors"]["__all__"] == [services.CLOSED_MESSAGE]
    retry = staff.post(url, {**ENTRY, "idempotency_key": "before-close"}, format="json")
    assert retry.status_code == 200 and retry.json()["event_id"] == first["event_id"]
    amendment = staff.post(
        url,
        {
            "instrument": "CTD",
            "action": "amendment",
            "comment": "depth was 20 m",
            "amends": first["event_id"],
            "idempotency_key": "fix",
        },
        format="json",
    )
    assert amendment.status_code == 201 and amendment.json()["amendment"] is True
    assert amendment.json()["event_id"] == "TE2401-0002"  # the refusal took no number
    assert Event.objects.get(event_id="TE2401-0002").amends.event_id == first["event_id"]
    unknown = staff.post(
        url, {"instrument": "CTD", "action": "amendment", "amends": "TE2401-0999"}, format="json"
    )
    assert unknown.status_code == 400 and "amends" in unknown.json()["errors"]


def test_a_cruise_without_a_log_refuses_entries(cruise, shipboard_staff):
    response = api_client_for(shipboard_staff).post(_url(cruise), ENTRY, format="json")
    assert response.status_code == 400 and "not open yet" in response.json()["errors"]["__all__"][0]


def test_the_token_is_checked_by_the_authentication_class(
    open_eventlog, cruise, shipboard_staff, operator_user, data_manager
):
    url = _url(cruise)
    api = api_client_for(shipboard_staff)
    token = ApiToken.objects.filter(user=shipboard_staff).latest("created_at")
    assert token.last_used_at is None
    assert api.post(url, {**ENTRY, "idempotency_key": "a"}, format="json").status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None  # stamped (at most once a minute)
    operator = api_client_for(operator_user)
    assert operator.post(url, {**ENTRY, "idempotency_key": "b"}, format="json").status_code == 201
    curator = api_client_for(data_manager)
    assert curator.post(url, {**ENTRY, "idempotency_key": "c"}, format="json").status_code == 403
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api.post(url, {**ENTRY, "idempotency_key": "d"}, format="json").status_code == 401
    again = api_client_for(shipboard_staff)
    type(shipboard_staff).objects.filter(pk=shipboard_staff.pk).update(is_active=False)
    assert again.post(url, {**ENTRY, "idempotency_key": "e"}, format="json").status_code == 401
    keys = Event.objects.filter(log=open_eventlog).values_list("idempotency_key", flat=True)
    assert sorted(keys) == ["a", "b"]


def test_a_single_entry_post_makes_exactly_these_statements(open_eventlog, cruise, shipboard_staff):
    """Pins the single-entry POST (the figure bench/bench_eventlog.py measures), so a change that adds a
    round trip or a join to it shows here, not months later in the benchmark: the token with its user and
    the user's groups, the cruise row alone (no join), the writer check (member or operator, one
    statement); in one transaction the counter reservation, the entry and its audit row; after it the
    request's audit row."""
    api = api_client_for(shipboard_staff)
    api.post(_url(cruise), {**ENTRY, "idempotency_key": "warm"}, format="json")  # vocabulary, token stamp
    with CaptureQueriesContext(connection) as queries:
        response = api.post(_url(cruise), {**ENTRY, "idempotency_key": "one"}, format="json")
    assert response.status_code == 201
    statements = [q["sql"] for q in queries.captured_queries]
    # The test's transaction turns BEGIN and COMMIT into a savepoint and its release.
    kinds = [sql.split()[0].upper() for sql in statements]
    assert kinds == [
        "SELECT",  # the token, its user joined, the user's group names (for the audit rows)
        "SELECT",  # the cruise, and may this user write to its log? (staff, chief scientist, operator)
        "SAVEPOINT",
        "UPDATE",  # the log's counter: reserve the number, take the row lock
        "INSERT",  # the entry
        "INSERT",  # its audit event
        "RELEASE",
        "INSERT",  # the request's audit row
    ], statements
    assert "JOIN" not in statements[1].upper(), statements[1]
    assert "ORDER BY" not in statements[0].upper() + statements[1].upper()


@pytest.mark.parametrize("size", [1, 50])
def test_one_entry_or_an_array_of_them_costs_the_same_few_queries(
    open_eventlog, cruise, shipboard_staff, django_assert_max_num_queries, size
):
    """The busiest write in Quayside: the token, the cruise, the permission and the writer's groups, then
    in one transaction the counter reservation (the row lock), one insert of the entries and one of their
    audit rows; after it the request's audit row. The count does not grow with the array."""
    api = api_client_for(shipboard_staff)
    api.post(_url(cruise), {**ENTRY, "idempotency_key": "warm"}, format="json")  # vocabulary, token stamp
    body = [{**ENTRY, "idempotency_key": f"k{i}"} for i in range(size)]
    with django_assert_max_num_queries(10):  # the test's savepoints stand for BEGIN and COMMIT
        response = api.post(_url(cruise), body[0] if size == 1 else body, format="json")
    assert response.status_code == (201 if size == 1 else 200)
    assert Event.objects.filter(log=open_eventlog).count() == size + 1


@pytest.mark.parametrize("auth", ["token", "session"])
def test_an_array_answers_each_entry_in_order_with_its_own_status(
    open_eventlog, cruise, shipboard_staff, client, auth
):
    url = _url(cruise)
    if auth == "token":
        api = api_client_for(shipboard_staff)
        post = lambda body: api.post(url, body, format="json")  # noqa: E731
    else:
        client.force_login(shipboard_staff)
        post = lambda body: client.post(url, body, content_type="application/json")  # noqa: E731
    first = post({**ENTRY, "idempotency_key": "sent-before"}).json()
    batch = [
        {**ENTRY, "idempotency_key": "b1"},
        {**ENTRY, "idempotency_key": "sent-before"},  # already logged: the first entry back
        {**ENTRY, "action": "explode", "idempotency_key": "b2"},  # refused, the rest go on
        "not an object",
        {**ENTRY, "idempotency_key": "b1"},  # repeated inside the array
        {
            "instrument": "CTD",
            "action": "amendment",
            "amends": first["event_id"],
            "comment": "depth 20 m",
            "idempotency_key": "b3",
        },
        {**ENTRY, "idempotency_key": "b4", "time": "2024-03-02T12:00:00+02:00"},
    ]
    before = _last_audit_id()
    response = post(batch)
    assert response.status_code == 200
    body = response.json()
    assert [r["status"] for r in body["results"]] == [201, 200, 400, 400, 200, 201, 201]
    assert (body["created"], body["repeated"], body["refused"]) == (3, 2, 2)
    results = body["results"]
    assert results[0]["entry"]["event_id"] == results[4]["entry"]["event_id"] == "TE2401-0002"
    assert results[1]["entry"]["event_id"] == first["event_id"] == "TE2401-0001"
    assert "action" in results[2]["errors"] and "__all__" in results[3]["errors"]
    assert results[5]["entry"]["amendment"] is True and results[6]["entry"]["time"] == "2024-03-02T10:00:00Z"
    numbers = sorted(Event.objects.filter(log=open_eventlog).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]  # contiguous: refusals and repeats took no number
    assert EventLog.objects.get(pk=open_eventlog.pk).next_number == 5
    # One audit row for the request, one service row per new entry, all saying how the writer signed in.
    assert sorted(_audit_rows(before)) == sorted(
        [("api", "POST api-eventlog-entries", "", 200, shipboard_staff.pk, auth)]
        + [
            ("eventlogs", "addEntry", event_id, 201, shipboard_staff.pk, auth)
            for event_id in ("TE2401-0002", "TE2401-0003", "TE2401-0004")
        ]
    )


def test_an_array_may_amend_an_entry_it_brings_itself(open_eventlog, cruise, shipboard_staff):
    batch = [
        {**ENTRY, "idempotency_key": "a"},
        {"instrument": "CTD", "action": "amendment", "amends": "TE2401-0001", "idempotency_key": "fix-a"},
        {**ENTRY, "idempotency_key": "b"},
    ]
    body = api_client_for(shipboard_staff).post(_url(cruise), batch, format="json").json()
    assert [r["status"] for r in body["results"]] == [201, 201, 201]
    fix = Event.objects.get(idempotency_key="fix-a")
    assert (fix.number, fix.amends.event_id) == (2, "TE2401-0001")
    assert Event.objects.get(idempotency_key="b").number == 3


def test_an_array_is_refused_whole_for_a_stranger_or_when_too_long(
    open_eventlog, cruise, plain_user, shipboard_staff
):
    url = _url(cruise)
    assert api_client_for(plain_user).post(url, [ENTRY], format="json").status_code == 403
    staff = api_client_for(shipboard_staff)
    too_long = staff.post(url, [ENTRY] * (MAX_BATCH + 1), format="json")
    assert too_long.status_code == 400 and str(MAX_BATCH) in too_long.json()["errors"]["__all__"][0]
    assert staff.post(url, "3", content_type="application/json").status_code == 400
    assert not Event.objects.filter(log=open_eventlog).exists()


@pytest.mark.django_db(transaction=True)
def test_racing_http_clients_get_contiguous_numbers_and_one_entry_per_key(
    cruise, operator_user, shipboard_staff
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    services.open_log(cruise, operator_user)
    url = _url(cruise)
    statuses, errors = [], []

    def writer(n):
        from django.db import connections

        api = api_client_for(shipboard_staff)
        try:
            for i in range(12):
                own = api.post(url, {**ENTRY, "idempotency_key": f"w{n}-{i % 8}"}, format="json")
                shared = api.post(url, {**ENTRY, "idempotency_key": f"shared-{i % 4}"}, format="json")
                batch = api.post(
                    url,
                    [
                        {**ENTRY, "idempotency_key": f"shared-{(i + 1) % 4}"},
                        {**ENTRY, "idempotency_key": f"a{n}"},
                    ],
                    format="json",
                )
                statuses.extend([own.status_code, shared.status_code])
                statuses.extend(r["status"] for r in batch.json()["results"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert set(statuses) <= {200, 201}
    numbers = sorted(Event.objects.filter(log__cruise=cruise).values_list("number", flat=True))
    # 5 writers × (8 own keys + 1 array key) + 4 shared keys, no gaps, no duplicates
    assert numbers == list(range(1, 5 * 9 + 4 + 1))
    assert statuses.count(201) == len(numbers)
    assert EventLog.objects.get(cruise=cruise).next_number == len(numbers) + 1
    assert AuditEvent.objects.filter(service="eventlogs", service_method="addEntry").count() == len(numbers)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_single_entry_posts_statements_are_prepared_once_per_connection(
    open_eventlog, cruise, shipboard_staff
):
    """portal.sqlrows prepares the POST's fixed statements (the token, the cruise, the writer check, the
    reservation, the inserts): the database plans them once per connection, not once per entry."""
    api = api_client_for(shipboard_staff)
    for key in ("p1", "p2"):
        assert api.post(_url(cruise), {**ENTRY, "idempotency_key": key}, format="json").status_code == 201
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = " ".join(row[0] for row in cursor.fetchall())
    for table in ("accounts_apitoken", "cruises_cruise", "cruises_cruisemember", "eventlogs_eventlog"):
        assert f'"{table}"' in prepared
    assert 'INSERT INTO "eventlogs_event"' in prepared and 'INSERT INTO "audit_auditevent"' in prepared
