"""Event-log verbs: open, write an entry (race-free numbering, idempotent), close into a final copy."""

from __future__ import annotations

import contextlib
import csv
import datetime
import functools
import hashlib
import io
import json
import re
import uuid

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps import access
from apps.audit.middleware import request_method, request_service
from apps.audit.services import record_event
from apps.cruises.models import Cruise, CruiseFile
from apps.cruises.services import attach_file

from .models import Event, EventLog, Instrument, ensure_default_instruments

AMENDMENT = "amendment"
CLOSED_MESSAGE = "The event log is closed; corrections are new entries with the action 'amendment'."
CSV_COLUMNS = [
    "event_id",
    "number",
    "time_utc",
    "latitude",
    "longitude",
    "station",
    "cast",
    "instrument",
    "action",
    "author",
    "comment",
    "amendment",
    "amends",
]


class EventLogError(ValueError):
    """A user-fixable problem with an entry or a log action; ``errors`` maps field → messages."""

    def __init__(self, errors: dict[str, list[str]] | str):
        self.errors = errors if isinstance(errors, dict) else {"__all__": [errors]}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items()))


@transaction.atomic(durable=True)
def open_log(cruise: Cruise, user, request=None) -> EventLog:
    access.require_eventlog_manager(user, cruise)
    if not Instrument.objects.exists():
        ensure_default_instruments()  # a vocabulary to log with, even on a freshly flushed database
        _VOCAB["at"] = 0.0
    log, created = EventLog.objects.get_or_create(cruise=cruise, defaults={"opened_by": user})
    if not created:
        raise EventLogError(
            "The event log of this cruise is already open."
            if log.is_open
            else "The event log was closed; it cannot be reopened."
        )
    cruise.mark_at_sea()
    record_event(
        service="eventlogs",
        method="openLog",
        resource_id=cruise.cruise_id,
        user=user,
        request=request,
        text=f"event log of {cruise.cruise_id} opened",
    )
    return log


_VOCAB: dict = {"at": 0.0, "by_code": {}}
VOCAB_TTL = 30.0  # seconds: vocabulary edits in the admin reach every worker within this time


def instrument_vocabulary() -> dict[str, Instrument]:
    """Instruments by upper-case code, cached per process briefly (read on every entry)."""
    import time

    now = time.monotonic()
    if now - _VOCAB["at"] > VOCAB_TTL or not _VOCAB["by_code"]:
        _VOCAB["by_code"] = {i.code.upper(): i for i in Instrument.objects.all()}
        _VOCAB["at"] = now
    return _VOCAB["by_code"]


def validate_entry(data: dict) -> dict:
    """Check an entry against the vocabulary; return cleaned values or raise EventLogError."""
    errors: dict[str, list[str]] = {}
    clean: dict = {
        k: str(data.get(k) or "").strip() for k in ("station", "cast", "instrument", "action", "comment")
    }
    for k, limit in (("station", 40), ("cast", 40), ("instrument", 40), ("action", 60)):
        if len(str(clean[k])) > limit:
            errors.setdefault(k, []).append(f"At most {limit} characters.")
    t = data.get("time")
    if t in (None, ""):
        clean["time"] = timezone.now()
    elif isinstance(t, datetime.datetime):
        clean["time"] = t if timezone.is_aware(t) else t.replace(tzinfo=datetime.UTC)
    else:
        try:
            parsed = datetime.datetime.fromisoformat(str(t).strip().replace("Z", "+00:00"))
            clean["time"] = parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=datetime.UTC)
        except ValueError:
            errors.setdefault("time", []).append("Use an ISO 8601 UTC time such as 2024-03-05T14:30:00Z.")
    for k, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        v = data.get(k)
        if v in (None, ""):
            clean[k] = None
            continue
        try:
            clean[k] = float(v)
            if not low <= clean[k] <= high:
                raise ValueError
        except (TypeError, ValueError):
            errors.setdefault(k, []).append(f"A number of decimal degrees between {low} and {high}.")
    if (
        (clean.get("latitude") is None) != (clean.get("longitude") is None)
        and "latitude" not in errors
        and "longitude" not in errors
    ):
        errors.setdefault("longitude", []).append("Give both latitude and longitude, or neither.")
    vocabulary = instrument_vocabulary()
    instrument = vocabulary.get(clean["instrument"].upper()) if clean["instrument"] else None
    if not clean["instrument"]:
        errors.setdefault("instrument", []).append("Choose an instrument.")
    elif instrument is None:
        errors.setdefault("instrument", []).append(
            f"Unknown instrument '{clean['instrument']}'. Known: {', '.join(sorted(i.code for i in vocabulary.values()))}."
        )
    else:
        clean["instrument"] = instrument.code
        allowed = instrument.actions + [AMENDMENT]
        if clean["action"] not in allowed:
            errors.setdefault("action", []).append(
                f"For {instrument.code} the action must be one of: {', '.join(instrument.actions)}."
            )
    key = (data.get("idempotency_key") or "").strip()
    if len(key) > 64:
        errors.setdefault("idempotency_key", []).append("At most 64 characters.")
    clean["idempotency_key"] = key or uuid.uuid4().hex
    if errors:
        raise EventLogError(errors)
    return clean


def _take_number(log_id: int) -> tuple[int, str]:
    """Bump the log's counter and return (our number, the log's state) in one statement.

    The UPDATE takes the row lock and holds it to our commit, so writers queue here for the shortest
    possible time (insert, audit, commit) and never share a number; a rolled-back transaction rolls
    its bump back too, so numbers stay contiguous. Works on PostgreSQL and SQLite (RETURNING).
    """
    table = connection.ops.quote_name(EventLog._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET next_number = next_number + 1 WHERE id = %s RETURNING next_number, state",
            [log_id],
        )
        next_number, state = cursor.fetchone()
    return next_number - 1, state


def add_entry(cruise: Cruise, user, data: dict, request=None) -> tuple[Event, bool]:
    """Write one entry; returns (event, created). A retry with the same idempotency key returns the
    first entry unchanged (also when the two race: the unique key refuses the second insert, whose
    transaction, counter bump included, rolls back)."""
    access.require_eventlog_writer(user, cruise)
    clean = validate_entry(data)
    key = clean["idempotency_key"]
    try:
        with transaction.atomic():
            log = EventLog.objects.filter(cruise=cruise).only("id", "state").first()
            if log is None:
                raise EventLogError("The event log of this cruise is not open yet.")
            # No look-up of the key first: the unique (log, idempotency_key) constraint decides, and a
            # retry (rare) pays for the failed insert instead of every entry paying for a SELECT.
            amendment = clean["action"] == AMENDMENT or bool(data.get("is_amendment"))
            amends = None
            if data.get("amends"):
                amends = Event.objects.filter(log=log, event_id=str(data["amends"]).strip()).first()
                if amends is None:
                    raise EventLogError({"amends": [f"No event {data['amends']} in this log."]})
            if log.state != EventLog.State.OPEN and not amendment:
                existing = Event.objects.filter(log=log, idempotency_key=key).first()
                if existing is not None:  # a retry of an entry made before the log closed
                    return existing, False
                raise EventLogError(CLOSED_MESSAGE)
            number, state = _take_number(log.pk)
            if state != EventLog.State.OPEN and not amendment:
                raise EventLogError(CLOSED_MESSAGE)  # closed while we were on our way
            event = Event.objects.create(
                log=log,
                number=number,
                event_id=f"{cruise.cruise_id}-{number:04d}",
                idempotency_key=key,
                time=clean["time"],
                latitude=clean["latitude"],
                longitude=clean["longitude"],
                station=clean["station"],
                cast=clean["cast"],
                instrument=clean["instrument"],
                action=clean["action"],
                author=user,
                author_name=(getattr(user, "name", "") or user.email),
                comment=clean["comment"],
                is_amendment=amendment,
                amends=amends,
            )
            record_event(
                service="eventlogs",
                method="addEntry",
                resource_id=event.event_id,
                user=user,
                request=request,
                text=f"{event.instrument} {event.action}" + (" (amendment)" if amendment else ""),
                status=201,
            )
            return event, True
    except IntegrityError:
        # Only the unique idempotency key can collide (numbers are serialised by the counter row).
        existing = Event.objects.filter(log__cruise=cruise, idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False


# The whole of a plain entry in one statement (PostgreSQL, autocommit): the API token (as
# ApiTokenAuthentication checks it, with its once-a-minute last-used stamp), the write permission (the
# rule of access.can_write_eventlog), the open-log check, the counter bump, the insert, and both audit
# rows (the request's, as AuditWritesMiddleware writes it, and the service's, as add_entry writes it).
# A repeated idempotency key makes the insert violate the unique (log, idempotency_key) index: the
# statement fails as a whole, counter bump included, so numbers stay contiguous, and the caller answers
# through add_entry with the first entry.
_FAST_PARAMS = [  # (name, type) in $n order
    ("key_hash", "text"),
    ("cruise", "bigint"),
    ("key", "text"),
    ("time", "timestamptz"),
    ("latitude", "float8"),
    ("longitude", "float8"),
    ("station", "text"),
    ("cast", "text"),
    ("instrument", "text"),
    ("action", "text"),
    ("comment", "text"),
    ("now", "timestamptz"),
    ("agent", "text"),
    ("what", "text"),
    ("path", "text"),
    ("request_service", "text"),
    ("request_method", "text"),
    ("request_row", "boolean"),
]
_FAST_INSERT = """
WITH tok AS (
    SELECT t.id AS token_id, u.id AS user_id, u.email, left(coalesce(nullif(u.name, ''), u.email), 200) AS author
    FROM {token} t JOIN {user} u ON u.id = t.user_id
    WHERE t.key_hash = $key_hash AND t.revoked_at IS NULL AND u.is_active
), touched AS (
    UPDATE {token} t SET last_used_at = $now FROM tok
    WHERE t.id = tok.token_id AND (t.last_used_at IS NULL OR t.last_used_at < $now - interval '60 seconds')
), allowed AS (
    SELECT l.id, c.cruise_id AS cruise_text FROM {log} l JOIN {cruise} c ON c.id = l.cruise_id CROSS JOIN tok
    WHERE l.cruise_id = $cruise AND l.state = '{open}'
      AND (EXISTS (SELECT 1 FROM {member} m WHERE m.cruise_id = c.id AND m.user_id = tok.user_id
                   AND m.role IN ('{chief_scientist}', '{shipboard_staff}'))
           OR EXISTS (SELECT 1 FROM {orgmember} o WHERE o.organisation_id = c.operator_id AND o.user_id = tok.user_id
                      AND o.role = '{operator}'))
), bumped AS (
    UPDATE {log} l SET next_number = next_number + 1 FROM allowed
    WHERE l.id = allowed.id AND l.state = '{open}'
    RETURNING l.id, l.next_number - 1 AS number,
              allowed.cruise_text || '-' || CASE WHEN l.next_number - 1 < 10000
                  THEN lpad((l.next_number - 1)::text, 4, '0') ELSE (l.next_number - 1)::text END AS event_id
), inserted AS (
    INSERT INTO {event} ("log_id", "number", "event_id", "idempotency_key", "time", "latitude", "longitude",
                         "station", "cast", "instrument", "action", "author_id", "author_name", "comment",
                         "is_amendment", "amends_id", "created_at")
    SELECT bumped.id, bumped.number, bumped.event_id, $key, $time, $latitude, $longitude, $station, $cast,
           $instrument, $action, tok.user_id, tok.author, $comment, false, NULL, $now FROM bumped, tok
    RETURNING number, event_id, author_name
), groups AS (
    SELECT coalesce(string_agg(g.name, ',' ORDER BY g.name), '') AS names
    FROM {user_groups} ug JOIN {group} g ON g.id = ug.group_id WHERE ug.user_id = (SELECT user_id FROM tok)
), audited AS (
    INSERT INTO {audit} ("entry_time", "service", "category", "service_method", "entry_text", "resource_id",
                         "status_code", "user_id", "user_id_text", "user_agent", "groups", "auth_system")
    SELECT $now, a.service, 'info', a.method, a.text, CASE WHEN a.is_service THEN inserted.event_id ELSE '' END,
           201, tok.user_id, tok.email, $agent, groups.names, 'token'
    FROM inserted, tok, groups, (VALUES ('eventlogs', 'addEntry', $what, true),
                                        ($request_service, $request_method, $path, false)) AS a(service, method, text, is_service)
    WHERE a.is_service OR $request_row
)
SELECT number, event_id, author_name FROM inserted
"""


def _statement_names() -> dict[str, str]:
    """Table names and the state and role values the statement compares, from the models."""
    from django.contrib.auth.models import Group

    from apps.accounts.models import ApiToken, User
    from apps.audit.models import AuditEvent
    from apps.cruises.models import CruiseMember, OrganisationMember

    q = connection.ops.quote_name
    return {
        "open": EventLog.State.OPEN,
        "chief_scientist": CruiseMember.Role.CHIEF_SCIENTIST,
        "shipboard_staff": CruiseMember.Role.SHIPBOARD_STAFF,
        "operator": OrganisationMember.Role.OPERATOR,
        "log": q(EventLog._meta.db_table),
        "event": q(Event._meta.db_table),
        "cruise": q(Cruise._meta.db_table),
        "member": q(CruiseMember._meta.db_table),
        "orgmember": q(OrganisationMember._meta.db_table),
        "audit": q(AuditEvent._meta.db_table),
        "group": q(Group._meta.db_table),
        "token": q(ApiToken._meta.db_table),
        "user": q(User._meta.db_table),
        "user_groups": q(User.groups.through._meta.db_table),
    }


@functools.cache
def _fast_insert_sql() -> str:
    sql = _FAST_INSERT.format(**_statement_names())
    for name, sql_type in _FAST_PARAMS:
        sql = re.sub(rf"\${name}\b", f"%({name})s::{sql_type}", sql)
    return sql


def add_plain_entry_fast(
    cruise_pk: int, token_key: str, clean: dict, request, *, request_row: bool = True
) -> dict | None:
    """The busiest write in Quayside — a plain entry posted with an API token by science software —
    as one statement, with no transaction around it.

    Returns the new entry (the API's ``event_json`` shape) or None when anything is not plain: not PostgreSQL,
    an amendment, an unknown or revoked token, no right to write, a closed log,
    or a repeated key. The caller then takes the DRF view and ``add_entry``, which decide the same
    things one by one and explain them (tests/eventlogs/test_fast_path.py runs each through both).
    """
    from apps.accounts.models import hash_token

    if connection.vendor != "postgresql" or clean["action"] == AMENDMENT:
        return None
    params = {
        "key_hash": hash_token(token_key),
        "cruise": cruise_pk,
        "key": clean["idempotency_key"],
        "time": clean["time"],
        "latitude": clean["latitude"],
        "longitude": clean["longitude"],
        "station": clean["station"],
        "cast": clean["cast"],
        "instrument": clean["instrument"],
        "action": clean["action"],
        "comment": clean["comment"],
        "now": timezone.now(),
        "agent": request.META.get("HTTP_USER_AGENT", "")[:500],
        "what": f"{clean['instrument']} {clean['action']}",
        "path": request.path_info,
        # The request's own audit row, as AuditWritesMiddleware would write it (the caller tells it not to).
        "request_service": request_service(request),
        "request_method": request_method(request)[:120],
        "request_row": request_row,  # False in a batch: the request's one row is the middleware's
    }
    # A psycopg cursor of our own: server-side parameters (no quoting in Python) and a statement
    # prepared once per database connection (planning it cost as much as running it).
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's automatic preparing off (Django's own cursors bind client-side and never
        # prepare); this one statement asks for it explicitly. Behind PgBouncer in transaction mode this
        # needs PgBouncer ≥ 1.21 with max_prepared_statements set (README, deployment).
        raw.prepare_threshold = 2**31 - 1
    # Alone it needs no transaction; inside a caller's, a savepoint keeps a refused insert from aborting it.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with guard, psycopg.Cursor(raw) as cursor:
            cursor.execute(_fast_insert_sql(), params, prepare=True)
            row = cursor.fetchone()
    except psycopg.IntegrityError:
        return None  # a repeated idempotency key: nothing was written
    if row is None:
        return None
    number, event_id, author = row
    return {
        "event_id": event_id,
        "number": number,
        "idempotency_key": clean["idempotency_key"],
        "time": clean["time"].astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "latitude": clean["latitude"],
        "longitude": clean["longitude"],
        "station": clean["station"],
        "cast": clean["cast"],
        "instrument": clean["instrument"],
        "action": clean["action"],
        "author": author,
        "comment": clean["comment"],
        "amendment": False,
    }


def _utc(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rows(log: EventLog):
    for e in log.events.select_related("amends").order_by("number").iterator(chunk_size=2000):
        yield {
            "event_id": e.event_id,
            "number": e.number,
            "time_utc": _utc(e.time),
            "latitude": e.latitude,
            "longitude": e.longitude,
            "station": e.station,
            "cast": e.cast,
            "instrument": e.instrument,
            "action": e.action,
            "author": e.author_name,
            "comment": e.comment,
            "amendment": e.is_amendment,
            "amends": e.amends.event_id if e.amends else "",
        }


def final_copy(log: EventLog) -> tuple[bytes, bytes]:
    """The deterministic CSV and JSON of a log: same entries, same bytes, same SHA-256."""
    rows = list(_rows(log))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ("" if v is None else ("true" if v is True else "false" if v is False else v))
                for k, v in row.items()
            }
        )
    cruise = log.cruise
    doc = {
        "cruise_id": cruise.cruise_id,
        "vessel": cruise.vessel.name,
        "vessel_code": cruise.vessel.code,
        "opened_at": _utc(log.opened_at),
        "closed_at": _utc(log.closed_at) if log.closed_at else None,
        "count": len(rows),
        "events": rows,
    }
    data_json = json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode() + b"\n"
    return out.getvalue().encode(), data_json


@transaction.atomic(durable=True)
def close_log(cruise: Cruise, user, request=None) -> EventLog:
    access.require_eventlog_manager(user, cruise)
    log = EventLog.objects.select_for_update().filter(cruise=cruise).first()
    if log is None or not log.is_open:
        raise EventLogError("The event log is not open.")
    log.state = EventLog.State.CLOSED
    log.closed_at = timezone.now()
    log.closed_by = user
    data_csv, data_json = final_copy(log)
    stem = f"{cruise.cruise_id}_eventlog"
    log.final_csv = attach_file(
        cruise,
        kind=CruiseFile.Kind.EVENTLOG_CSV,
        filename=f"{stem}.csv",
        data=data_csv,
        content_type="text/csv",
        by=user,
    )
    log.final_json = attach_file(
        cruise,
        kind=CruiseFile.Kind.EVENTLOG_JSON,
        filename=f"{stem}.json",
        data=data_json,
        content_type="application/json",
        by=user,
    )
    log.save(update_fields=["state", "closed_at", "closed_by", "final_csv", "final_json"])
    cruise.mark_completed()
    record_event(
        service="eventlogs",
        method="closeLog",
        resource_id=cruise.cruise_id,
        user=user,
        request=request,
        text=f"event log closed; final copy {log.final_csv.filename} sha256={log.final_csv.sha256}, "
        f"{log.final_json.filename} sha256={log.final_json.sha256}",
    )
    return log


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
