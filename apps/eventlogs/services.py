"""Event-log verbs: open, write an entry (race-free numbering, idempotent), close into a final copy."""

from __future__ import annotations

import csv
import datetime
import io
import json
import uuid

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps import access
from apps.audit.services import record_event, record_events
from apps.cruises.models import Cruise, CruiseFile
from apps.cruises.services import attach_file
from portal import sqlrows

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


def _reserve_numbers(cruise: Cruise, count: int) -> tuple[int, int, str] | None:
    """Take the log's counter row lock and reserve ``count`` numbers: returns (log id, the first reserved
    number, the log's state), or None when the cruise has no log.

    One statement (UPDATE … RETURNING, on PostgreSQL and SQLite): the row lock is held to our commit, so
    writers to one log queue here and nothing else inserts into the log meanwhile — what the caller then
    reads of the log's entries is the whole truth. A rolled-back transaction rolls its reservation back,
    so numbers stay contiguous.
    """
    table = connection.ops.quote_name(EventLog._meta.db_table)
    with sqlrows.cursor() as cursor:  # prepared on PostgreSQL: the same text for every entry
        cursor.execute(
            f"UPDATE {table} SET next_number = next_number + %s WHERE cruise_id = %s "
            "RETURNING id, next_number, state",
            [count, cruise.pk],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    log_id, next_number, state = row
    return log_id, next_number - count, state


def add_entry(cruise: Cruise, user, data: dict, request=None) -> tuple[Event, bool]:
    """Write one entry; returns (event, created), or raises EventLogError (what to fix) or
    portal.errors.Forbidden. A retry with the same idempotency key returns the first entry unchanged.

    One entry is a batch of one: ``add_entries`` is the only write path."""
    (result,) = add_entries(cruise, user, [data], request=request)
    if isinstance(result, EventLogError):
        raise result
    return result


def add_entries(cruise: Cruise, user, items: list, request=None) -> list[tuple[Event, bool] | EventLogError]:
    """Write entries in order; one answer per item, in order: ``(event, created)`` or the EventLogError
    that refused it. Raises portal.errors.Forbidden (for all of them) when ``user`` may not write to the log.

    Each entry stands alone: a refused one takes no number and the rest go on; a repeated idempotency key
    (from an earlier request or earlier in ``items``) answers the first entry, unchanged and not audited
    again. The new entries are numbered contiguously, in one transaction under the log's counter row lock
    (``_reserve_numbers``), with one audit event each.

    Keys are not looked up first: the unique (log, idempotency_key) constraint decides. A key sent before
    (a client's retry, rare) makes the insert fail, which rolls the whole transaction back, reservation
    included, and the entries are written again in a second transaction that looks their keys up first.
    """
    access.require_eventlog_writer(user, cruise)
    results: list = [None] * len(items)
    candidates: list[tuple[int, dict, dict]] = []  # (position, cleaned values, raw item)
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            results[position] = EventLogError("Each entry is a JSON object.")
            continue
        try:
            candidates.append((position, validate_entry(item), item))
        except EventLogError as exc:
            results[position] = exc
    if candidates:
        # The audit rows need the writer's groups (a query): read them now, not while holding the lock.
        user.group_names  # noqa: B018
        try:
            with transaction.atomic():
                _write_under_lock(cruise, user, candidates, results, request, look_up_keys=False)
        except IntegrityError:
            with transaction.atomic():
                _write_under_lock(cruise, user, candidates, results, request, look_up_keys=True)
    return results


def _write_under_lock(
    cruise: Cruise, user, candidates: list, results: list, request, *, look_up_keys: bool
) -> None:
    """Write ``candidates`` (validated entries) holding the counter row lock; fill in their ``results``."""
    reserved = _reserve_numbers(cruise, len(candidates))
    if reserved is None:
        for position, _, _ in candidates:
            results[position] = EventLogError("The event log of this cruise is not open yet.")
        return
    log_id, number, state = reserved
    by_key: dict[str, Event] = {}  # what each key answers: entries from before, then this batch's own
    if look_up_keys or state != EventLog.State.OPEN:  # a closed log answers retries before it refuses
        keys = {clean["idempotency_key"] for _, clean, _ in candidates}
        by_key.update(
            (e.idempotency_key, e) for e in Event.objects.filter(log_id=log_id, idempotency_key__in=keys)
        )
    refs = {str(item["amends"]).strip() for _, _, item in candidates if item.get("amends")}
    by_event_id = (
        {e.event_id: e for e in Event.objects.filter(log_id=log_id, event_id__in=refs)} if refs else {}
    )
    pending: list[Event] = []  # built, not yet inserted
    author_name = getattr(user, "name", "") or user.email
    for position, clean, item in candidates:
        key = clean["idempotency_key"]
        if key in by_key:
            results[position] = (by_key[key], False)
            continue
        amendment = clean["action"] == AMENDMENT or bool(item.get("is_amendment"))
        if state != EventLog.State.OPEN and not amendment:
            results[position] = EventLogError(CLOSED_MESSAGE)
            continue
        amends = None
        if item.get("amends"):
            amends = by_event_id.get(str(item["amends"]).strip())
            if amends is None:
                results[position] = EventLogError({"amends": [f"No event {item['amends']} in this log."]})
                continue
            if amends.pk is None:  # it amends an entry of this batch: insert that one first
                sqlrows.insert(pending)
                pending = []
        event = Event(
            log_id=log_id,
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
            author_name=author_name,
            comment=clean["comment"],
            is_amendment=amendment,
            amends=amends,
        )
        number += 1
        pending.append(event)
        by_key[key] = by_event_id[event.event_id] = event
        results[position] = (event, True)
    sqlrows.insert(pending)
    created = [r[0] for r in results if isinstance(r, tuple) and r[1]]
    unused = len(candidates) - len(created)
    if unused:  # repeats and refusals give their reserved numbers back
        EventLog.objects.filter(pk=log_id).update(next_number=F("next_number") - unused)
    if created:
        record_events(
            [
                (f"{e.instrument} {e.action}" + (" (amendment)" if e.is_amendment else ""), e.event_id)
                for e in created
            ],
            service="eventlogs",
            method="addEntry",
            status=201,
            user=user,
            request=request,
        )


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
