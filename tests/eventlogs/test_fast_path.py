"""The one-statement path for plain token-authenticated entries (PostgreSQL) must answer exactly as the
full path does, write the same rows and audit events, and keep numbers contiguous under races."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEvent
from apps.eventlogs import services
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
postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the one-statement path is PostgreSQL's"
)


def _prepared_runs() -> int:
    """How often this connection ran the prepared one-statement entry (PostgreSQL counts its plans)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans, statement FROM pg_prepared_statements "
            "WHERE statement LIKE '%%INSERT INTO \"eventlogs_event\"%%'"
        )
        rows = cursor.fetchall()
    assert len(rows) <= 1
    tables = ("accounts_apitoken", "eventlogs_eventlog", "cruises_cruisemember", "audit_auditevent")
    assert all(all(table in statement for table in tables) for _, statement in rows)
    return rows[0][0] if rows else 0


def _django_statements(queries) -> list[str]:
    """What Django's cursor ran, leaving out the test transaction's savepoints and the vocabulary
    (cached per process for 30 s)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"] and "eventlogs_instrument" not in q["sql"]
    ]


def _audit_rows(resource_or_path):
    return sorted(
        AuditEvent.objects.filter(entry_text__in=["CTD deploy", resource_or_path]).values_list(
            "service",
            "service_method",
            "resource_id",
            "status_code",
            "user_id",
            "user_id_text",
            "groups",
            "category",
        )
    )


@postgres_only
def test_a_plain_token_entry_is_one_statement_and_answers_like_the_full_path(
    open_eventlog, cruise, shipboard_staff, client
):
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    api = api_client_for(shipboard_staff)
    runs = _prepared_runs()
    with CaptureQueriesContext(connection) as queries:
        fast = api.post(
            url, {**ENTRY, "idempotency_key": "fast", "time": "2024-03-02T12:00:00+02:00"}, format="json"
        )
    assert fast.status_code == 201
    # Token, permission, number, entry and audit are one prepared statement on the request's connection,
    # run once per entry; Django's own cursor runs nothing but the (cached) vocabulary.
    assert _django_statements(queries) == []
    assert _prepared_runs() == runs + 1
    fast_audit = _audit_rows(url)

    client.force_login(shipboard_staff)  # session auth: the full DRF path
    full = client.post(
        url,
        {**ENTRY, "idempotency_key": "full", "time": "2024-03-02T12:00:00+02:00"},
        content_type="application/json",
    )
    assert full.status_code == 201
    a, b = fast.json(), full.json()
    assert set(a) == set(b)
    assert (a["event_id"], b["event_id"]) == ("TE2401-0001", "TE2401-0002")
    assert a["time"] == b["time"] == "2024-03-02T10:00:00Z"
    for key in (
        "latitude",
        "longitude",
        "station",
        "cast",
        "instrument",
        "action",
        "author",
        "comment",
        "amendment",
    ):
        assert a[key] == b[key], key
    stored = {e.idempotency_key: e for e in Event.objects.filter(log=open_eventlog)}
    for field in (
        "time",
        "latitude",
        "longitude",
        "station",
        "cast",
        "instrument",
        "action",
        "author_id",
        "author_name",
        "comment",
        "is_amendment",
        "amends_id",
    ):
        assert getattr(stored["fast"], field) == getattr(stored["full"], field), field

    # The same two audit events for each: the service's (with the event id) and the request's.
    full_audit = _audit_rows(url)
    for row in fast_audit:
        full_audit.remove(row)
    assert [r[:4] for r in fast_audit] == [
        ("api", "POST api-eventlog-entries", "", 201),
        ("eventlogs", "addEntry", "TE2401-0001", 201),
    ]
    assert [r[:4] for r in full_audit] == [
        ("api", "POST api-eventlog-entries", "", 201),
        ("eventlogs", "addEntry", "TE2401-0002", 201),
    ]
    assert {r[4:] for r in fast_audit + full_audit} == {
        (shipboard_staff.pk, shipboard_staff.email, "", "info")
    }
    assert set(
        AuditEvent.objects.filter(resource_id="TE2401-0001").values_list("auth_system", flat=True)
    ) == {"token"}

    with CaptureQueriesContext(connection) as queries:
        assert (
            api.post(url, {**ENTRY, "idempotency_key": "fast-2"}, format="json").json()["event_id"]
            == "TE2401-0003"
        )
    assert _django_statements(queries) == [] and _prepared_runs() == runs + 2


def test_event_numbers_past_9999_keep_every_digit(open_eventlog, cruise, shipboard_staff):
    EventLog.objects.filter(pk=open_eventlog.pk).update(next_number=9999)
    api = api_client_for(shipboard_staff)
    ids = [
        api.post(
            f"/api/eventlogs/{cruise.pk}/entries/", {**ENTRY, "idempotency_key": f"n{i}"}, format="json"
        ).json()["event_id"]
        for i in range(2)
    ]
    assert ids == ["TE2401-9999", "TE2401-10000"]


def test_refusals_through_a_token_are_the_full_paths_answers(
    open_eventlog, cruise, chief_scientist, shipboard_staff, plain_user
):
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    stranger = api_client_for(plain_user).post(url, ENTRY, format="json")
    assert stranger.status_code == 403 and "shipboard staff" in stranger.json()["detail"]
    bad_token = api_client_for(None)
    bad_token.credentials(HTTP_AUTHORIZATION="Token qs_not-a-real-token")
    assert bad_token.post(url, ENTRY, format="json").status_code == 401
    staff = api_client_for(shipboard_staff)
    not_json = staff.post(url, "instrument=CTD", content_type="text/plain")
    assert not_json.status_code in (400, 415)
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
    assert Event.objects.filter(log=open_eventlog).count() == 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_racing_http_clients_get_contiguous_numbers_and_one_entry_per_key(
    cruise, operator_user, shipboard_staff
):
    services.open_log(cruise, operator_user)
    url = f"/api/eventlogs/{cruise.pk}/entries/"
    statuses, errors = [], []

    def writer(n):
        from django.db import connections

        api = api_client_for(shipboard_staff)
        try:
            for i in range(12):
                own = api.post(
                    url, {**ENTRY, "idempotency_key": f"w{n}-{i % 8}"}, format="json"
                )  # own retries
                shared = api.post(
                    url, {**ENTRY, "idempotency_key": f"shared-{i % 4}"}, format="json"
                )  # races
                statuses.extend([own.status_code, shared.status_code])
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
    assert numbers == list(range(1, 5 * 8 + 4 + 1))  # 5 writers × 8 own keys + 4 shared keys, no gaps
    assert statuses.count(201) == len(numbers)
    assert EventLog.objects.get(cruise=cruise).next_number == len(numbers) + 1


def test_the_token_is_checked_as_the_authentication_class_checks_it(
    open_eventlog, cruise, shipboard_staff, operator_user, data_manager
):
    from django.utils import timezone

    from apps.accounts.models import ApiToken

    url = f"/api/eventlogs/{cruise.pk}/entries/"
    api = api_client_for(shipboard_staff)
    token = ApiToken.objects.filter(user=shipboard_staff).latest("created_at")
    assert token.last_used_at is None
    assert api.post(url, {**ENTRY, "idempotency_key": "a"}, format="json").status_code == 201
    token.refresh_from_db()
    assert token.last_used_at is not None  # stamped (at most once a minute)
    assert (
        api_client_for(operator_user).post(url, {**ENTRY, "idempotency_key": "b"}, format="json").status_code
        == 201
    )
    assert (
        api_client_for(data_manager).post(url, {**ENTRY, "idempotency_key": "c"}, format="json").status_code
        == 403
    )
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert api.post(url, {**ENTRY, "idempotency_key": "d"}, format="json").status_code == 401
    again = api_client_for(shipboard_staff)
    type(shipboard_staff).objects.filter(pk=shipboard_staff.pk).update(is_active=False)
    assert again.post(url, {**ENTRY, "idempotency_key": "e"}, format="json").status_code == 401
    assert sorted(Event.objects.filter(log=open_eventlog).values_list("idempotency_key", flat=True)) == [
        "a",
        "b",
    ]


@pytest.mark.parametrize("auth", ["token", "session"])
def test_a_batch_answers_each_entry_in_order(open_eventlog, cruise, shipboard_staff, client, auth):
    url = f"/api/eventlogs/{cruise.pk}/entries/"
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
        {**ENTRY, "idempotency_key": "b1"},  # repeated inside the batch
        {
            "instrument": "CTD",
            "action": "amendment",
            "amends": first["event_id"],
            "comment": "depth 20 m",
            "idempotency_key": "b3",
        },
        {**ENTRY, "idempotency_key": "b4", "time": "2024-03-02T12:00:00+02:00"},
    ]
    audit_before = AuditEvent.objects.count()
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
    # One audit row for the request, one service row per new entry.
    new_rows = list(
        AuditEvent.objects.order_by("id")[audit_before:].values_list(
            "service", "service_method", "status_code"
        )
    )
    assert sorted(new_rows) == sorted(
        [("api", "POST api-eventlog-entries", 200)] + [("eventlogs", "addEntry", 201)] * 3
    )


def test_a_batch_is_refused_whole_for_a_stranger_or_when_too_long(
    open_eventlog, cruise, plain_user, shipboard_staff
):
    from apps.eventlogs.api.views import MAX_BATCH

    url = f"/api/eventlogs/{cruise.pk}/entries/"
    assert api_client_for(plain_user).post(url, [ENTRY], format="json").status_code == 403
    too_long = api_client_for(shipboard_staff).post(url, [ENTRY] * (MAX_BATCH + 1), format="json")
    assert too_long.status_code == 400 and str(MAX_BATCH) in too_long.json()["errors"]["__all__"][0]
    assert api_client_for(shipboard_staff).post(url, "3", content_type="application/json").status_code == 400
    assert not Event.objects.filter(log=open_eventlog).exists()
