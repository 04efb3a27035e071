"""Ingestion of NDJSON records (SPEC 5, 8): validate, resolve references, upsert, refresh facts.

One JSON object per line; blank lines are ignored. The input is cut into chunks of
``chunk_size`` lines (line numbers are counted over the whole input, blank lines included) and
each chunk is one transaction:

1. every line of the chunk is parsed and validated (types, enums, required fields, timestamps,
   money) and **all** errors are collected;
2. inside the transaction (the organization's row is locked first, so concurrent ingests of one
   organization are serialised), references are resolved against the records of the chunk and
   the rows already stored — one query per table, in lists of at most 10,000 ids;
3. any error -> the transaction is rolled back and :class:`IngestRejected` lists every bad line
   (earlier chunks stay stored; ``stored_chunks`` says how many);
4. otherwise rows are upserted by ``(organization_id, external_id)``: existing rows keep their
   surrogate id, new rows get ``max(id) + 1`` onwards. SQLite: ``INSERT .. ON CONFLICT DO
   UPDATE`` through the driver's ``executemany``; PostgreSQL: ``COPY`` (new rows straight into
   the table, replaced ones through a temporary table and ``INSERT .. SELECT .. ON CONFLICT DO
   UPDATE``). The derived columns of the written rows are set on the way in (phone -> E.164 and
   state, ``message.effective`` with :func:`tablero.derived.is_effective`) and
   :func:`tablero.derived.refresh` then brings the facts of the affected contacts and
   conversations up to date, in the same transaction.

While chunk n is written (by a worker thread: the database drivers release the GIL), chunk
n + 1 is read and validated; it is written only after chunk n is committed.

Records in a chunk may come in any order (a message before its contact). A record whose id is
already stored replaces it, so sending a batch twice leaves the same data. Within one chunk, the
last record with a given id wins.

Decisions beyond SPEC 8, written here:

* Unknown fields are errors (a typo such as ``"closed_a"`` would otherwise lose data silently);
  so is an ``organization`` field: the organization is the token's (HTTP) or ``--org`` (CLI).
* Ids and references may be JSON strings or integers (an integer is read as its decimal text).
* ``schedule`` and ``plan_usage`` have no id of their own (keys: advisor; day + channel); an
  ``id`` field on them is accepted and ignored. A ``schedule`` without ``holidays`` has no holiday
  calendar. Its ``weekly`` is stored as canonical JSON text.
* ``closed_at`` may not be before ``started_at`` (conversation) / ``opened_at`` (ticket);
  ``call_outcome`` is only for ``VOICE_CALL`` messages; amounts may not be negative.
* ``onboarding_step``: ``done_at`` is the ingestion time (``now``) when a step first becomes done
  and is kept while it stays done; an unknown key creates a step titled from the key, placed last.
* A phone that ``phonenumbers`` cannot normalise is stored as given, with no state.
"""

from __future__ import annotations

import gc
import json
import pickle
import re
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from . import business_hours, derived, geo
from .db import Database
from .models import (
    CALL_OUTCOMES,
    CHANNELS,
    CONVERSATION_KINDS,
    DIRECTIONS,
    MESSAGE_STATUSES,
    MONEY_SCALE,
    PROFILES,
    SENDERS,
    SENTIMENTS,
    STATUSES,
    BusinessSchedule,
    Campaign,
    CampaignSend,
    CloseFact,
    ClosingReason,
    Contact,
    ContactGroup,
    Conversation,
    Message,
    OnboardingStep,
    PlanUsage,
    SalesOrder,
    Ticket,
    User,
)

DEFAULT_CHUNK_SIZE = 50_000
# A bulk load's chunks (``defer_facts``) when no size is given: half as large, because two
# processes each hold about two of them (the validating worker and the one that stores): the
# medium set's ingestion peaked at 542 MB with 25,000-line chunks, 611 MB with 50,000, in about
# the same time (docs/ingestion.md). A chunk-by-chunk load keeps 50,000: each of its chunks
# recomputes the whole history of the contacts it touches.
BULK_CHUNK_SIZE = 25_000
IN_LIST_SIZE = 10_000  # ids per IN (...) list when looking rows up


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


@dataclass
class LineError:
    """A bad line: its 1-based number over the whole input, the field (if any), the reason."""

    line: int
    field: str | None
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field or '-'}: {self.reason}"


class IngestRejected(Exception):
    """A chunk had bad lines: nothing of that chunk was written; earlier chunks are stored."""

    def __init__(self, errors: list[LineError], chunk: int, stored_chunks: int):
        self.errors = errors
        self.chunk = chunk
        self.stored_chunks = stored_chunks
        n = len(errors)
        earlier = (
            "no earlier chunk was stored"
            if stored_chunks == 0
            else f"the {stored_chunks} earlier chunk{'s' if stored_chunks != 1 else ''} "
            f"{'are' if stored_chunks != 1 else 'is'} stored"
        )
        super().__init__(
            f"chunk {chunk} rejected, nothing of it was written ({n} bad line"
            f"{'s' if n != 1 else ''}); {earlier}"
        )


class ValidatingWorkerFailed(RuntimeError):
    """The worker process validating a bulk load stopped before handing over a chunk (killed,
    out of memory): ``first_line`` / ``last_line`` of the chunk it had; the chunks before it
    are stored."""

    def __init__(self, first_line: int, last_line: int, reason: str):
        self.first_line, self.last_line = first_line, last_line
        super().__init__(
            f"the worker process validating lines {first_line:,}-{last_line:,} stopped "
            f"({reason}); nothing of those lines was written"
        )


class UnknownOrganization(LookupError):
    pass


@dataclass
class IngestResult:
    counts: dict[str, int] = field(default_factory=dict)  # records upserted per type
    chunks: int = 0  # chunks stored
    lines: int = 0  # input lines read (blank lines included)


def ingest_lines(
    db: Database,
    organization_id: int,
    lines: Iterable[str | bytes],
    *,
    chunk_size: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    now: int | None = None,
    defer_facts: bool = False,
    on_refresh: Callable[[str], None] | None = None,
) -> IngestResult:
    """Ingest NDJSON ``lines`` into the organization; see the module docstring.

    ``chunk_size``: lines per chunk (default :data:`DEFAULT_CHUNK_SIZE`, or
    :data:`BULK_CHUNK_SIZE` with ``defer_facts``).

    ``on_chunk(chunks_stored, lines_read)`` is called after each chunk is committed. Raises
    :class:`IngestRejected` for a chunk with bad lines.

    ``defer_facts``: a bulk load. Chunks store their records only, and one whole refresh of the
    organization's derived facts (:func:`tablero.derived.refresh`) runs after the last chunk,
    or after the last stored chunk when a later one is rejected: the same facts as keeping them
    up to date chunk by chunk, computed once instead of once per chunk a contact appears in.
    Until it finishes, reports show the facts as of before the load. ``on_refresh(message)``
    receives that refresh's progress lines.
    """
    chunk_size = default_chunk_size(defer_facts) if chunk_size is None else chunk_size
    if defer_facts and chunk_size >= PARALLEL_MIN_CHUNK:
        chunks = _read_chunks_in_parallel(lines, chunk_size)
    else:
        chunks = _read_chunks(_parse_lines(lines), chunk_size)
    return _ingest(db, organization_id, chunks, chunk_size, on_chunk, now, defer_facts,
                   on_refresh)


def default_chunk_size(defer_facts: bool) -> int:
    """Lines per chunk when none is given: :data:`BULK_CHUNK_SIZE` for a bulk load."""
    return BULK_CHUNK_SIZE if defer_facts else DEFAULT_CHUNK_SIZE


def ingest_records(
    db: Database,
    organization_id: int,
    records: Iterable[dict],
    *,
    chunk_size: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    now: int | None = None,
    defer_facts: bool = False,
    on_refresh: Callable[[str], None] | None = None,
) -> IngestResult:
    """Like :func:`ingest_lines` for already-decoded records (record n is "line" n).

    Timestamps may also be aware :class:`datetime` objects and amounts :class:`Decimal`.
    """
    chunk_size = default_chunk_size(defer_facts) if chunk_size is None else chunk_size
    chunks = _read_chunks(((i, r) for i, r in enumerate(records, 1)), chunk_size)
    return _ingest(db, organization_id, chunks, chunk_size, on_chunk, now, defer_facts,
                   on_refresh)


def load_demo(
    db: Database,
    org_key: str = "demo",
    scale: str = "small",
    seed: int = 1,
    *,
    end: date | None = None,
    progress: Callable[[str], None] | None = None,
    registry=None,
) -> int:
    """Create (if missing) organization ``org_key`` and a second small one ``f"{org_key}-other"``
    and ingest the demo data set (:func:`tablero.demo.generate`) into each.

    Loading again into existing organizations upserts the same records (idempotent).
    ``progress(message)`` receives a line of text after each stored chunk and after each range
    of the derived facts' refresh that follows. Returns the main organization's id.
    """
    from . import demo
    from .orgs import create_organization, installed_closing_rules

    timezone = "America/Sao_Paulo"

    rules = installed_closing_rules()

    def ensure(key: str) -> int:
        def fn(conn: Connection) -> int:
            org_id = organization_id_by_key(conn, key)
            if org_id is not None:
                return org_id
            return create_organization(conn, key, f"Demo ({key})", timezone, rules=rules)

        return db.write(fn)

    main_id = ensure(org_key)
    other_key = f"{org_key}-other"
    other_id = ensure(other_key)
    for key, org_id, org_scale, org_seed in (
        (org_key, main_id, scale, seed),
        (other_key, other_id, "small", seed + 1),
    ):
        started = time.monotonic()

        def chunk_done(chunks: int, records: int, key: str = key, started: float = started):
            if progress is not None:
                progress(f"{key}: {records:,} records read, {chunks} chunk(s) stored "
                         f"({time.monotonic() - started:.1f} s)")

        # a bulk load: the derived facts once at the end, not chunk by chunk
        def refreshing(message: str, key: str = key):
            if progress is not None:
                progress(f"{key}: {message}")

        result = ingest_records(
            db, org_id, demo.generate(org_scale, org_seed, end=end, timezone=timezone),
            on_chunk=chunk_done, defer_facts=True, on_refresh=refreshing,
        )
        if progress is not None:
            counts = ", ".join(f"{n:,} {t}" for t, n in sorted(result.counts.items()))
            progress(f"{key}: done in {time.monotonic() - started:.1f} s: {counts}")
    # Plugins' demo records (hook tablero_demo_records), after the core's, into the main org.
    from .plugin_manager import Registry, make_plugin_manager

    registry = registry or Registry.collect(make_plugin_manager())
    for plugin, function in registry.demo_record_plugins:
        records = list(function(scale=scale, seed=seed) or [])
        if records:
            extra = ingest_records(db, main_id, records)
            if progress is not None:
                progress(f"{org_key}: {extra.lines:,} demo records from plugin {plugin!r}")
    return main_id


def organization_id_by_key(conn: Connection, key: str) -> int | None:
    return conn.execute(
        text("SELECT id FROM organization WHERE key = :key"), {"key": key}
    ).scalar()


# ---------------------------------------------------------------------------------------------
# Field converters: (field name, JSON value, extra) -> stored value, or raise _Bad(reason)
# ---------------------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _json_type(v) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _c_id(name, v, _extra):
    t = type(v)
    if t is str:
        if v:
            return v
        raise _Bad(f'"{name}" must not be empty')
    if t is int:
        return str(v)
    raise _Bad(f'"{name}" must be a string id (got {_json_type(v)})')


def _c_str(name, v, _extra):
    if type(v) is str:
        return v
    raise _Bad(f'"{name}" must be a string (got {_json_type(v)})')


def _c_enum(name, v, allowed):
    if type(v) is str and v in allowed[0]:
        return v
    if type(v) is not str:
        raise _Bad(f'"{name}" must be one of {allowed[1]} (got {_json_type(v)})')
    raise _Bad(f'"{name}" must be one of {allowed[1]} (got "{v}")')


def _c_bool(name, v, _extra):
    if type(v) is bool:
        return v
    raise _Bad(f'"{name}" must be a boolean, true or false (got {_json_type(v)})')


def _c_count(name, v, _extra):
    if type(v) is int and v >= 0:
        return v
    if type(v) is int:
        raise _Bad(f'"{name}" must not be negative')
    raise _Bad(f'"{name}" must be a whole number (got {_json_type(v)})')


_fromiso = datetime.fromisoformat
_TS_HINT = 'use ISO 8601 with an offset, e.g. "2026-11-03T14:05:00-03:00" or "...Z"'


# The common timestamp shapes ("2026-11-03T14:05:00-03:00", "2026-11-03T14:05:00Z") take a fast
# path: the UTC epoch second of the start of the local hour, keyed by the text of date, hour and
# offset (filled by the full parser, so only validated texts get in), plus a table of the 3,600
# "MM:SS" texts. Most timestamps of a batch share a few thousand hours.
_HOUR_STARTS: dict[str, int] = {}
_MINUTE_SECONDS: dict[str, int] = {
    f"{m:02d}:{sec:02d}": m * 60 + sec for m in range(60) for sec in range(60)
}


def _c_ts(name, v, _extra):
    if type(v) is str:
        n = len(v)
        if n == 25 or n == 20:
            base = _HOUR_STARTS.get(v[:13] + v[19:])
            if base is not None and v[13] == ":":
                seconds = _MINUTE_SECONDS.get(v[14:19])
                if seconds is not None:
                    return base + seconds
        try:
            dt = _fromiso(v)
        except ValueError:
            raise _Bad(f'bad timestamp "{v}": {_TS_HINT}') from None
        if dt.tzinfo is None:
            raise _Bad(f'timestamp "{v}" has no offset: {_TS_HINT}')
        epoch = int(dt.timestamp() // 1)
        if (n == 25 or n == 20) and v[10] == "T" and v[13] == ":" and v[16] == ":" \
                and v[19] in "+-Z" and len(_HOUR_STARTS) < 200_000:
            _HOUR_STARTS[v[:13] + v[19:]] = epoch - (dt.minute * 60 + dt.second)
        return epoch
    if isinstance(v, datetime):
        if v.tzinfo is None or v.utcoffset() is None:
            raise _Bad(f'timestamp "{v}" has no offset: {_TS_HINT}')
        return int(v.timestamp() // 1)
    raise _Bad(f'"{name}" must be a timestamp string (got {_json_type(v)}): {_TS_HINT}')


_MONEY = re.compile(r"(\d+)(?:\.(\d{1,4}))?")


def _c_money(name, v, _extra):
    if isinstance(v, Decimal):
        v = format(v, "f")
    elif type(v) is not str:
        hint = (
            f' (got a number: send it as a string, e.g. "{v}", so it stays exact)'
            if isinstance(v, int | float) and not isinstance(v, bool)
            else f" (got {_json_type(v)})"
        )
        raise _Bad(f'"{name}" must be a decimal string such as "19.90"{hint}')
    m = _MONEY.fullmatch(v)
    if m is None:
        if v.startswith("-"):
            raise _Bad(f'"{name}" must not be negative (got "{v}")')
        raise _Bad(
            f'"{name}" must be a decimal string with at most 4 decimals, such as "19.90" '
            f'(got "{v}")'
        )
    frac = m.group(2) or ""
    return int(m.group(1)) * MONEY_SCALE + int(frac.ljust(4, "0"))


def _c_currency(name, v, _extra):
    if type(v) is str and len(v) == 3 and v.isascii() and v.isalpha() and v.isupper():
        return v
    raise _Bad(f'"{name}" must be a three-letter ISO 4217 code such as "BRL" (got {v!r})')


def _c_day(name, v, _extra):
    if type(v) is str and len(v) == 10:
        try:
            return date.fromisoformat(v).isoformat()
        except ValueError:
            pass
    raise _Bad(f'"{name}" must be a date "YYYY-MM-DD" (got {json.dumps(v)})')


def _c_timezone(name, v, _extra):
    if type(v) is not str:
        raise _Bad(f'"{name}" must be an IANA time zone name (got {_json_type(v)})')
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(
            f'unknown time zone "{v}": use an IANA name such as "America/Sao_Paulo"'
        ) from None
    return v


def _c_object(name, v, _extra):
    if type(v) is dict:
        return v
    raise _Bad(f'"{name}" must be an object (got {_json_type(v)})')


def _enum(values) -> tuple:
    return (frozenset(values), ", ".join(values))


# ---------------------------------------------------------------------------------------------
# Record types
# ---------------------------------------------------------------------------------------------

REQ, OPT = True, False


@dataclass
class _Type:
    name: str
    table: object  # the SQLModel class, or None
    # (field, converter, required, default, extra)
    fields: list[tuple]
    # (field, referenced record type) for reference fields
    refs: list[tuple[str, str]] = field(default_factory=list)
    has_id: bool = True
    allowed: frozenset = frozenset()
    validate: Callable | None = None  # generated, see _compile_validator
    check: Callable | None = None  # cross-field rules

    def __post_init__(self):
        extra = {"type"} | ({"id"} if not self.has_id else set())
        self.allowed = frozenset(f[0] for f in self.fields) | extra


def _F(name, conv, required=OPT, default=None, extra=None):
    return (name, conv, required, default, extra)


_ID = _F("id", _c_id, REQ)

TYPES: dict[str, _Type] = {
    t.name: t
    for t in [
        _Type(
            "user",
            User,
            [
                _ID,
                _F("name", _c_str, REQ),
                _F("email", _c_str),
                _F("profile", _c_enum, REQ, extra=_enum(PROFILES)),
                _F("is_bot", _c_bool, default=False),
            ],
        ),
        _Type("group", ContactGroup, [_ID, _F("name", _c_str, REQ)]),
        _Type(
            "closing_reason",
            ClosingReason,
            [_ID, _F("name", _c_str, REQ), _F("closes", _c_bool, default=True)],
        ),
        _Type(
            "campaign",
            Campaign,
            [
                _ID,
                _F("name", _c_str, REQ),
                _F("channel", _c_enum, REQ, extra=_enum(CHANNELS)),
                _F("journey", _c_str),
                _F("sent_at", _c_ts),
            ],
        ),
        _Type(
            "contact",
            Contact,
            [
                _ID,
                _F("name", _c_str),
                _F("phone", _c_str),
                _F("origin", _c_str),
                _F("entry_group", _c_id),
                _F("current_group", _c_id),
                _F("created_at", _c_ts, REQ),
                _F("deleted_at", _c_ts),
            ],
            refs=[("entry_group", "group"), ("current_group", "group")],
        ),
        _Type(
            "conversation",
            Conversation,
            [
                _ID,
                _F("contact", _c_id, REQ),
                _F("advisor", _c_id),
                _F("kind", _c_enum, REQ, extra=_enum(CONVERSATION_KINDS)),
                _F("channel", _c_enum, REQ, extra=_enum(CHANNELS)),
                _F("status", _c_enum, REQ, extra=_enum(STATUSES)),
                _F("started_at", _c_ts, REQ),
                _F("closed_at", _c_ts),
                _F("closing_reason", _c_id),
                _F("transferred_to", _c_id),
                _F("sentiment", _c_enum, extra=_enum(SENTIMENTS)),
            ],
            refs=[
                ("contact", "contact"),
                ("advisor", "user"),
                ("closing_reason", "closing_reason"),
                ("transferred_to", "user"),
            ],
        ),
        _Type(
            "message",
            Message,
            [
                _ID,
                _F("contact", _c_id, REQ),
                _F("conversation", _c_id),
                _F("channel", _c_enum, REQ, extra=_enum(CHANNELS)),
                _F("direction", _c_enum, REQ, extra=_enum(DIRECTIONS)),
                _F("sender", _c_enum, REQ, extra=_enum(SENDERS)),
                _F("advisor", _c_id),
                _F("campaign", _c_id),
                _F("status", _c_enum, extra=_enum(MESSAGE_STATUSES)),
                _F("sent_at", _c_ts, REQ),
                _F("call_outcome", _c_enum, extra=_enum(CALL_OUTCOMES)),
                _F("automatic", _c_bool, default=False),
            ],
            refs=[
                ("contact", "contact"),
                ("conversation", "conversation"),
                ("advisor", "user"),
                ("campaign", "campaign"),
            ],
        ),
        _Type(
            "ticket",
            Ticket,
            [
                _ID,
                _F("contact", _c_id),
                _F("status", _c_enum, REQ, extra=_enum(STATUSES)),
                _F("opened_at", _c_ts, REQ),
                _F("closed_at", _c_ts),
            ],
            refs=[("contact", "contact")],
        ),
        _Type(
            "order",
            SalesOrder,
            [
                _ID,
                _F("contact", _c_id, REQ),
                _F("amount", _c_money, REQ),
                _F("currency", _c_currency, default="BRL"),
                _F("ordered_at", _c_ts, REQ),
            ],
            refs=[("contact", "contact")],
        ),
        _Type(
            "schedule",
            BusinessSchedule,
            [
                _F("advisor", _c_id),
                _F("timezone", _c_timezone, REQ),
                _F("weekly", _c_object, REQ),
                _F("holidays", _c_object),
            ],
            refs=[("advisor", "user")],
            has_id=False,
        ),
        _Type(
            "plan_usage",
            PlanUsage,
            [
                _F("day", _c_day, REQ),
                _F("channel", _c_enum, REQ, extra=_enum(CHANNELS)),
                _F("used", _c_count, REQ),
                _F("quota", _c_count, REQ),
            ],
            has_id=False,
        ),
        _Type(
            "onboarding_step",
            OnboardingStep,
            [_ID, _F("done", _c_bool, REQ)],
        ),
    ]
}
TYPE_NAMES = ", ".join(TYPES)

# Record types with a surrogate id, in insertion order (referenced tables first).
_ID_TYPES = ["user", "group", "closing_reason", "campaign", "contact", "conversation", "message",
             "ticket", "order"]
# Columns of each id table copied from the record: (column, field, referenced type or None).
_COLUMNS: dict[str, list[tuple[str, str, str | None]]] = {
    "user": [("name", "name", None), ("email", "email", None), ("profile", "profile", None),
             ("is_bot", "is_bot", None)],
    "group": [("name", "name", None)],
    "closing_reason": [("name", "name", None), ("closes", "closes", None)],
    "campaign": [("name", "name", None), ("channel", "channel", None),
                 ("journey", "journey", None), ("sent_at", "sent_at", None)],
    "contact": [("name", "name", None), ("phone", "phone", None), ("origin", "origin", None),
                ("entry_group_id", "entry_group", "group"),
                ("current_group_id", "current_group", "group"),
                ("created_at", "created_at", None), ("deleted_at", "deleted_at", None),
                ("state", "state", None)],  # phone and state: see _Chunk.finish
    "conversation": [("contact_id", "contact", "contact"), ("advisor_id", "advisor", "user"),
                     ("kind", "kind", None), ("channel", "channel", None),
                     ("status", "status", None), ("started_at", "started_at", None),
                     ("closed_at", "closed_at", None),
                     ("closing_reason_id", "closing_reason", "closing_reason"),
                     ("transferred_to_id", "transferred_to", "user"),
                     ("sentiment", "sentiment", None)],
    "message": [("contact_id", "contact", "contact"),
                ("conversation_id", "conversation", "conversation"),
                ("channel", "channel", None), ("direction", "direction", None),
                ("sender", "sender", None), ("advisor_id", "advisor", "user"),
                ("campaign_id", "campaign", "campaign"), ("status", "status", None),
                ("sent_at", "sent_at", None), ("call_outcome", "call_outcome", None),
                ("automatic", "automatic", None)],
    "ticket": [("contact_id", "contact", "contact"), ("status", "status", None),
               ("opened_at", "opened_at", None), ("closed_at", "closed_at", None)],
    "order": [("contact_id", "contact", "contact"), ("amount_e4", "amount", None),
              ("currency", "currency", None), ("ordered_at", "ordered_at", None)],
}


def _check_conversation(rec: dict, lineno: int, errors: list[LineError]) -> bool:
    ok = True
    if rec["closed_at"] is None:
        for f in ("closing_reason", "transferred_to"):
            if rec[f] is not None:
                errors.append(LineError(lineno, "closed_at", f'"{f}" requires "closed_at" '
                                        "(a closed or transferred conversation has ended)"))
                ok = False
    elif rec["closed_at"] < rec["started_at"]:
        errors.append(LineError(lineno, "closed_at", '"closed_at" is before "started_at"'))
        ok = False
    return ok


def _check_message(rec: dict, lineno: int, errors: list[LineError]) -> bool:
    if rec["call_outcome"] is not None and rec["channel"] != "VOICE_CALL":
        errors.append(LineError(lineno, "call_outcome",
                                '"call_outcome" is only for channel VOICE_CALL'))
        return False
    return True


def _check_ticket(rec: dict, lineno: int, errors: list[LineError]) -> bool:
    if rec["closed_at"] is not None and rec["closed_at"] < rec["opened_at"]:
        errors.append(LineError(lineno, "closed_at", '"closed_at" is before "opened_at"'))
        return False
    return True


def _check_schedule(rec: dict, lineno: int, errors: list[LineError]) -> bool:
    """Validate with the business-hours clock; adds the stored forms of weekly and holidays."""
    holidays = rec["holidays"] or {}
    bad_keys = set(holidays) - {"country", "subdiv"}
    if bad_keys:
        errors.append(LineError(lineno, "holidays", f'unknown key "{min(bad_keys)}" '
                                '(expected {"country": "BR", "subdiv": "SP"})'))
        return False
    country, subdiv = holidays.get("country"), holidays.get("subdiv")
    for k, v in (("country", country), ("subdiv", subdiv)):
        if v is not None and type(v) is not str:
            errors.append(LineError(lineno, "holidays", f'"holidays.{k}" must be a string'))
            return False
    try:
        schedule = business_hours.Schedule.from_weekly(
            rec["timezone"], rec["weekly"], country, subdiv
        )
    except business_hours.ScheduleError as exc:
        reason = str(exc)
        where = "holidays" if "holiday" in reason.lower() else "weekly"
        errors.append(LineError(lineno, where, reason))
        return False
    rec["holiday_country"] = schedule.holiday_country
    rec["holiday_subdiv"] = schedule.holiday_subdiv
    rec["weekly_json"] = json.dumps(rec["weekly"], sort_keys=True, separators=(",", ":"))
    return True


_CHECKS = {
    "conversation": _check_conversation,
    "message": _check_message,
    "ticket": _check_ticket,
    "schedule": _check_schedule,
}


def _compile_validator(spec: _Type):
    """Generate ``validate(obj, lineno, errors, ref_adds) -> (ok, record)`` for one type.

    Generated code keeps the common case (a well-typed value) free of function calls; anything
    else goes through the field's converter, which knows the error message.
    """
    env: dict = {"LineError": LineError, "_Bad": _Bad}
    code = ["def validate(obj, lineno, errors, ref_adds):", "    ok = True", "    get = obj.get"]
    fast_tests = {
        _c_id: "type(v) is str and v",
        _c_str: "type(v) is str",
        _c_enum: "type(v) is str and v in E{i}",
        _c_bool: "v is True or v is False",
    }
    for i, (name, conv, required, default, extra) in enumerate(spec.fields):
        env[f"C{i}"], env[f"X{i}"], env[f"D{i}"] = conv, extra, default
        if conv is _c_enum:
            env[f"E{i}"] = extra[0]
        code.append(f"    v = get({name!r})")
        code.append("    if v is None:")
        if required:
            env[f"M{i}"] = f'missing required field "{name}"'
            code.append(f"        ok = False; f{i} = None")
            code.append(f"        errors.append(LineError(lineno, {name!r}, M{i}))")
        else:
            code.append(f"        f{i} = D{i}")
        test = fast_tests.get(conv)
        if test is not None:
            code.append(f"    elif {test.format(i=i)}:")
            code.append(f"        f{i} = v")
        code.append("    else:")
        code.append("        try:")
        code.append(f"            f{i} = C{i}({name!r}, v, X{i})")
        code.append("        except _Bad as exc:")
        code.append(f"            ok = False; f{i} = None")
        code.append(f"            errors.append(LineError(lineno, {name!r}, exc.args[0]))")
    names = [f[0] for f in spec.fields]
    for j, (name, _target) in enumerate(spec.refs):
        i = names.index(name)
        code.append(f"    if f{i} is not None:")
        code.append(f"        ref_adds[{j}](f{i})")
    items = ", ".join(f"{name!r}: f{i}" for i, name in enumerate(names))
    code.append(f"    return ok, {{{items}}}")
    namespace: dict = {}
    # The source is built from the field table above, never from input.
    source = compile("\n".join(code), f"<tablero.ingest validator {spec.name}>", "exec")
    exec(source, env, namespace)  # noqa: S102
    return namespace["validate"]


for _spec in TYPES.values():
    _spec.validate = _compile_validator(_spec)
    _spec.check = _CHECKS.get(_spec.name)


# ---------------------------------------------------------------------------------------------
# Parsing and validation (no database)
# ---------------------------------------------------------------------------------------------

_scan = json.JSONDecoder().scan_once  # the C scanner, without json.loads' wrappers


def _invalid_json(lineno: int, line: str | bytes, exc: Exception) -> LineError:
    lead = len(line) - len(line.lstrip())
    if isinstance(exc, json.JSONDecodeError):
        reason = f"{exc.msg} (column {exc.colno + lead})"
    elif isinstance(exc, StopIteration):
        reason = f"Expecting value (column {exc.value + 1 + lead})"
    elif isinstance(exc, UnicodeDecodeError):
        reason = f"the line is not UTF-8 ({exc.reason} at byte {exc.start + 1 + lead})"
    else:
        reason = str(exc)
    return LineError(lineno, None, f"invalid JSON: {reason}")


def _parse_lines(lines: Iterable[str | bytes], start: int = 1) -> Iterator[tuple[int, object]]:
    """(line number, decoded object | LineError | None for a blank line); the first line is
    number ``start``."""
    scan = _scan
    for lineno, line in enumerate(lines, start):
        text_ = line.strip()
        if not text_:
            yield lineno, None
            continue
        try:
            if type(text_) is bytes:
                text_ = text_.decode()
            if lineno == 1 and text_.startswith("\ufeff"):  # a byte order mark
                text_ = text_[1:]
            obj, end = scan(text_, 0)
            if end != len(text_):
                raise json.JSONDecodeError("Extra data", text_, end)
        except (ValueError, StopIteration) as exc:
            yield lineno, _invalid_json(lineno, line, exc)
            continue
        yield lineno, obj


class _Chunk:
    """The validated records of one chunk, keyed per type (last record with an id wins)."""

    def __init__(self):
        self.errors: list[LineError] = []
        # type -> key -> (line, record)
        self.records: dict[str, dict] = {name: {} for name in TYPES}
        # referenced type -> external ids referenced
        self.referenced: dict[str, set] = {name: set() for name in _ID_TYPES}
        # type -> the add methods of the sets its reference fields go to
        self.ref_adds = {
            name: tuple(self.referenced[target].add for _, target in spec.refs)
            for name, spec in TYPES.items()
        }

    def __getstate__(self) -> dict:
        # what a validating worker process sends back (the bound add methods stay behind)
        return {"errors": self.errors, "records": self.records, "referenced": self.referenced}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def finish(self) -> None:
        """Derived at ingestion, before the database is involved: each contact's phone in
        E.164 form (kept as given when it does not parse) and its state."""
        contacts = [rec for _, rec in self.records["contact"].values() if rec is not None]
        derived_ = geo.phones_and_states([rec["phone"] for rec in contacts])
        for rec, (phone, state) in zip(contacts, derived_, strict=True):
            if phone is not None:
                rec["phone"] = phone
            rec["state"] = state

    def add(self, lineno: int, obj) -> None:
        errors = self.errors
        if type(obj) is not dict:
            errors.append(LineError(lineno, None, "a line must be a JSON object "
                                    '{"type": ..., ...}'))
            return
        tname = obj.get("type")
        spec = TYPES.get(tname) if type(tname) is str else None
        if spec is None:
            if tname is None:
                errors.append(LineError(lineno, "type", 'missing required field "type"'))
            else:
                errors.append(LineError(lineno, "type", f"unknown type {json.dumps(tname)} "
                                        f"(expected one of {TYPE_NAMES})"))
            return
        ok = True
        if not spec.allowed.issuperset(obj):
            for k in obj:
                if k in spec.allowed:
                    continue
                if k in ("organization", "organization_id"):
                    reason = (f'"{k}" is not a field: the organization is the one of the '
                              "token (HTTP) or --org (CLI)")
                else:
                    reason = f'unknown field "{k}" for type {tname}'
                errors.append(LineError(lineno, k, reason))
                ok = False
        valid, rec = spec.validate(obj, lineno, errors, self.ref_adds[tname])
        if valid and spec.check is not None:
            valid = spec.check(rec, lineno, errors)
        ok = ok and valid
        if tname == "schedule":
            key = (rec["advisor"],)  # (None,) is the organization's schedule
        elif tname == "plan_usage":
            key = (rec["day"], rec["channel"])
        else:
            key = rec["id"]
        if key is None:
            return
        # An invalid record still counts as "in this batch" for references (no cascade).
        self.records[tname][key] = (lineno, rec if ok else None)


# ---------------------------------------------------------------------------------------------
# The database side
# ---------------------------------------------------------------------------------------------


def _chunks_of(seq: list, size: int = IN_LIST_SIZE) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


_BASE_COLUMNS = ["organization_id", "id", "external_id"]
_UPSERT_SQL: dict[tuple, str] = {}


def _upsert(conn: Connection, model, columns: list[str], rows: list, keys: tuple[str, ...],
            keep: tuple[str, ...] = (), stored: set | None = None) -> None:
    """INSERT .. ON CONFLICT (keys) DO UPDATE every column but keys, ``id`` and ``keep``.

    ``rows`` are tuples in ``columns`` order. SQLite: the statement (built with
    ``sqlalchemy.dialects.sqlite.insert``) is compiled once and handed to the driver's
    ``executemany`` with plain tuples, no per-row parameter processing. PostgreSQL: the rows
    are COPYed into a temporary table and upserted from it by one ``INSERT .. SELECT .. ON
    CONFLICT`` (far faster than row-by-row ``executemany``); rows whose external id is known
    not to be ``stored`` yet (the organization is locked) are COPYed straight into the table.
    """
    if not rows:
        return
    table = model.__table__
    # NOT NULL columns that are not ingested get their scalar default (closing_reason.archived)
    defaults = [
        (c.name, c.default.arg) for c in table.columns
        if c.name not in columns and not c.nullable and c.default is not None
        and c.default.is_scalar
    ]
    if defaults:
        columns = columns + [name for name, _ in defaults]
        tail = tuple(value for _, value in defaults)
        rows = [tuple(row) + tail for row in rows]
    skip = set(keys) | {"id", *keep}
    updated = [c for c in columns if c not in skip]
    if conn.dialect.name == "postgresql":
        if stored is not None:
            new = [row for row in rows if row[2] not in stored]  # row[2]: external_id
            derived.copy_rows(conn, table.name, columns, new)
            rows = [row for row in rows if row[2] in stored]
            if not rows:
                return
        stage = derived.staged(conn, table.name, columns, rows, "upsert")
        names = ", ".join(columns)
        conn.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}"
            f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
        )
        return
    cache_key = (table.name, tuple(columns), keys, keep)
    sql = _UPSERT_SQL.get(cache_key)
    if sql is None:
        stmt = sqlite_dialect.insert(table).values({c: bindparam(c) for c in columns})
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c[k] for k in keys],
            set_={c: stmt.excluded[c] for c in updated},
        )
        compiled = stmt.compile(dialect=conn.dialect)
        if list(compiled.positiontup) != columns:  # pragma: no cover - a model change
            raise RuntimeError(f"unexpected parameters for {table.name}: "
                               f"{compiled.positiontup}")
        sql = _UPSERT_SQL[cache_key] = str(compiled)
    if type(rows[0]) is not tuple:
        rows = list(map(tuple, rows))
    conn.exec_driver_sql(sql, rows)


def _sql(conn: Connection, sql: str) -> str:
    """``?`` placeholders for the driver: psycopg wants ``%s``."""
    return sql.replace("?", "%s") if conn.dialect.name == "postgresql" else sql


def _select_by_external_ids(
    conn: Connection, table: str, columns: str, org_id: int, external_ids: list[str]
) -> Iterator[tuple]:
    """Rows of ``table`` with these external ids: one query per 10,000 ids (a PostgreSQL
    array / a SQLite JSON array as the one parameter, so no statement is rebuilt per size)."""
    if conn.dialect.name == "postgresql":
        sql = (f"SELECT {columns} FROM {table}"
               " WHERE organization_id = %s AND external_id = ANY(%s)")
        for part in _chunks_of(external_ids):
            yield from conn.exec_driver_sql(sql, (org_id, part))
    else:
        sql = (f"SELECT {columns} FROM {table}"
               " WHERE organization_id = ? AND external_id IN (SELECT value FROM json_each(?))")
        for part in _chunks_of(external_ids):
            yield from conn.exec_driver_sql(sql, (org_id, json.dumps(part)))


_MISSING = '{target} "{value}" does not exist (not in this batch nor stored)'
# Columns each table's rows end with, filled after the references are resolved.
_TRAILING = {
    # derived.is_effective, the SQL rule's Python twin; ``bots`` are the bot users' ids
    "message": [("effective", ("is_effective(rec['sender'], rec['direction'], rec['automatic'],"
                 " {advisor}, rec['channel'], rec['call_outcome'], bots)"))],
}


def _compile_row_builder(tname: str):
    """Generate ``build(items, org_id, ids, lookups, errors, bots) -> [row tuple]`` for one
    type: the columns in order, references resolved through ``lookups`` (external ->
    surrogate id)."""
    columns = _BASE_COLUMNS + [col for col, _, _ in _COLUMNS[tname]]
    code = [
        "def build(items, org_id, ids, lookups, errors, bots):",
        "    out = []",
        "    append = out.append",
    ]
    values = ["org_id", "ids[ext]", "ext"]
    body = []
    resolved = {}
    for k, (col, fld, target) in enumerate(_COLUMNS[tname]):
        if target is None:
            values.append(f"rec[{fld!r}]")
            continue
        code.append(f"    get{k} = lookups[{k}].get")
        body += [
            f"        v = rec[{fld!r}]",
            "        if v is None:",
            f"            r{k} = None",
            "        else:",
            f"            r{k} = get{k}(v)",
            f"            if r{k} is None:",
            (f"                errors.append(LineError(lineno, {fld!r},"
             f" MISSING.format(target={target!r}, value=v)))"),
        ]
        values.append(f"r{k}")
        resolved[col] = f"r{k}"
    for col, expression in _TRAILING.get(tname, []):
        columns.append(col)
        values.append(expression.format(advisor=resolved.get("advisor_id")))
    code += [
        "    for ext, (lineno, rec) in items:",
        "        if rec is None:",
        "            continue",
        *body,
        f"        append(({', '.join(values)},))",
        "    return out",
    ]
    namespace: dict = {}
    source = compile("\n".join(code), f"<tablero.ingest rows {tname}>", "exec")
    env = {"LineError": LineError, "MISSING": _MISSING, "is_effective": derived.is_effective}
    exec(source, env, namespace)  # noqa: S102
    return columns, namespace["build"]


_ROW_BUILDERS = {tname: _compile_row_builder(tname) for tname in _ID_TYPES}


def _lock_organization(conn: Connection, org_id: int) -> str:
    """Serialise ingests of one organization; returns its time zone."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            text("SELECT timezone FROM organization WHERE id = :id FOR UPDATE"), {"id": org_id}
        ).first()
        derived.plan_for_cached_pages(conn)
    else:
        # A write as the transaction's first statement takes SQLite's write lock (with the
        # latest snapshot) before anything is read.
        conn.execute(
            text("UPDATE organization SET refreshed_at = refreshed_at WHERE id = :id"),
            {"id": org_id},
        )
        row = conn.execute(
            text("SELECT timezone FROM organization WHERE id = :id"), {"id": org_id}
        ).first()
    if row is None:
        raise UnknownOrganization(f"organization {org_id} does not exist")
    return row[0]


def _store_chunk(
    conn: Connection, org_id: int, chunk: _Chunk, now: int, defer_facts: bool = False
) -> dict[str, int]:
    errors = chunk.errors
    records = chunk.records
    _lock_organization(conn, org_id)

    # 1. Look up stored rows for every id defined or referenced in the chunk, per table.
    ids: dict[str, dict] = {}  # type -> external id -> surrogate id (stored and new)
    old_message_refs: list[tuple] = []  # (contact_id, conversation_id) of replaced messages
    old_conversation_contacts: list[int] = []  # contact_id of replaced conversations, orders
    stored: dict[str, set] = {}  # type -> external ids already stored
    bots: set[int] = set()  # ids of the bot users (for message.effective)
    changed_users = False
    for tname in _ID_TYPES:
        table = TYPES[tname].table.__table__.name
        defined = records[tname]
        referenced = chunk.referenced[tname]
        found: dict = {}
        if not defined and not referenced:
            ids[tname] = found
            continue
        max_id = conn.exec_driver_sql(
            _sql(conn, f"SELECT COALESCE(MAX(id), 0) FROM {table} WHERE organization_id = ?"),
            (org_id,),
        ).scalar()
        if max_id:
            extra = {"message": ", contact_id, conversation_id", "user": ", is_bot",
                     "conversation": ", contact_id", "order": ", contact_id"}.get(tname, "")
            for row in _select_by_external_ids(conn, table, f"external_id, id{extra}", org_id,
                                               list(referenced.union(defined))):
                found[row[0]] = row[1]
                if tname == "message" and row[0] in defined:
                    old_message_refs.append((row[2], row[3]))
                elif tname in ("conversation", "order") and row[0] in defined:
                    old_conversation_contacts.append(row[2])
                elif tname == "user":
                    if row[0] in defined:
                        new = defined[row[0]][1]
                        if new is not None and bool(new["is_bot"]) != bool(row[2]):
                            changed_users = True
                    elif row[2]:
                        bots.add(row[1])
        stored[tname] = set(found)
        next_id = max_id + 1
        for ext in defined:
            if ext not in found:
                found[ext] = next_id
                next_id += 1
        ids[tname] = found
    for ext, (_, rec) in records["user"].items():
        if rec is not None and rec["is_bot"]:
            bots.add(ids["user"][ext])

    # 2. Closing reason names are unique per organization.
    reasons = records["closing_reason"]
    if reasons:
        owners: dict[str, str] = {}
        names = list({rec["name"] for _, rec in reasons.values() if rec is not None})
        for part in _chunks_of(names):
            for ext, name in conn.execute(
                select(ClosingReason.external_id, ClosingReason.name).where(
                    ClosingReason.organization_id == org_id, ClosingReason.name.in_(part)
                )
            ):
                owners[name] = ext
        for ext, (lineno, rec) in reasons.items():
            if rec is None:
                continue
            owner = owners.setdefault(rec["name"], ext)
            if owner != ext:
                errors.append(LineError(lineno, "name", f'closing reason name "{rec["name"]}" '
                                        f'is already used by closing_reason "{owner}"'))

    # 3. Build rows (tuples in column order), resolving references: a reference to nothing
    # is an error.
    rows: dict[str, tuple[list[str], list[tuple]]] = {}  # type -> (columns, rows)
    for tname in _ID_TYPES:
        defined = records[tname]
        if defined:
            columns, build = _ROW_BUILDERS[tname]
            lookups = [ids[target] if target else None for _, _, target in _COLUMNS[tname]]
            rows[tname] = (columns, build(defined.items(), org_id, ids[tname], lookups, errors,
                                          bots))
    if records["schedule"]:
        for (advisor,), (lineno, rec) in records["schedule"].items():
            if advisor is not None and advisor not in ids["user"]:
                errors.append(LineError(lineno, "advisor", f'user "{advisor}" does not exist '
                                        "(not in this batch nor stored)"))

    if errors:
        raise _Rejected()

    # A reason whose "closes" changes: its conversations' close facts (which conversations
    # count as closed) are recomputed, with their contacts'.
    reclosed_contacts = _contacts_of_reasons_whose_closes_changes(conn, org_id, reasons)
    # A campaign whose journey changes: its contacts' campaign sends count in another journey.
    rejourneyed_contacts = _contacts_of_campaigns_whose_journey_changes(
        conn, org_id, records["campaign"]
    )

    # 4. Upsert, referenced tables first.
    for tname in _ID_TYPES:
        if tname in rows:
            columns, table_rows = rows[tname]
            keep = ("archived",) if tname == "closing_reason" else ()
            _upsert(conn, TYPES[tname].table, columns, table_rows,
                    ("organization_id", "external_id"), keep, stored=stored[tname])

    full_refresh = changed_users
    if records["schedule"]:
        full_refresh |= _store_schedules(conn, org_id, records["schedule"], ids["user"])
    if records["plan_usage"]:
        _upsert(conn, PlanUsage, ["organization_id", "day", "channel", "used", "quota"], [
            (org_id, rec["day"], rec["channel"], rec["used"], rec["quota"])
            for _, rec in records["plan_usage"].values()
        ], ("organization_id", "day", "channel"))
    if records["onboarding_step"]:
        _store_steps(conn, org_id, records["onboarding_step"], now)
    if conn.dialect.name == "postgresql":
        _keep_statistics_fresh(conn, {
            TYPES[t].table.__tablename__: len(r) for t, (_, r) in rows.items()
        })

    # 5. Derived facts of what changed, in this transaction (everything when a schedule or a
    # user's is_bot changed); a bulk load (defer_facts) refreshes everything once at its end.
    if defer_facts:
        pass
    elif full_refresh:
        derived.refresh(conn, org_id, now=now)
    else:
        no_rows: tuple[list, list] = ([], [])
        contact_ids = {r[1] for r in rows.get("contact", no_rows)[1]}
        conversation_ids = {r[1] for r in rows.get("conversation", no_rows)[1]}
        columns, messages = rows.get("message", no_rows)
        if messages:
            at_contact = columns.index("contact_id")
            at_conversation = columns.index("conversation_id")
            contact_ids.update(r[at_contact] for r in messages)
            conversation_ids.update(r[at_conversation] for r in messages)
            conversation_ids.discard(None)
        # a conversation started counts in its contact's activity (contact_activity)
        # ... and an order in its customer_orders row
        for tname in ("conversation", "order"):
            owned_columns, owned = rows.get(tname, no_rows)
            if owned:
                at_contact = owned_columns.index("contact_id")
                contact_ids.update(r[at_contact] for r in owned)
        contact_ids.update(old_conversation_contacts)
        contact_ids.update(reclosed_contacts)
        contact_ids.update(rejourneyed_contacts)
        for contact_id, conversation_id in old_message_refs:
            contact_ids.add(contact_id)
            if conversation_id is not None:
                conversation_ids.add(conversation_id)
        derived.refresh(conn, org_id, contact_ids=contact_ids, conversation_ids=conversation_ids,
                        now=now, _phone_states=False, _effective_known=True)
    return {t: len(r) for t, r in records.items() if r}


def _contacts_of_reasons_whose_closes_changes(conn: Connection, org_id: int, reasons) -> list[int]:
    """The contacts with a conversation closed with a stored reason this batch changes
    ``closes`` of (read before the upsert)."""
    if not reasons:
        return []
    new_closes = {ext: bool(rec["closes"]) for ext, (_, rec) in reasons.items() if rec is not None}
    changed = []
    for part in _chunks_of(list(new_closes)):
        for id_, ext, closes in conn.execute(
            select(ClosingReason.id, ClosingReason.external_id, ClosingReason.closes).where(
                ClosingReason.organization_id == org_id, ClosingReason.external_id.in_(part)
            )
        ):
            if bool(closes) != new_closes[ext]:
                changed.append(id_)
    if not changed:
        return []
    # through the close facts' index on their row (a transferred conversation counts as closed
    # whatever its reason: its facts do not change)
    return list(conn.execute(
        select(CloseFact.contact_id).distinct().where(
            CloseFact.organization_id == org_id, CloseFact.row_key.in_(changed)
        )
    ).scalars())


def _contacts_of_campaigns_whose_journey_changes(
    conn: Connection, org_id: int, campaigns
) -> list[int]:
    """The contacts sent messages of a stored campaign this batch moves to another journey (read
    before the upsert): their ``campaign_gap`` journey cells change."""
    new_journeys = {
        ext: rec.get("journey") for ext, (_, rec) in campaigns.items() if rec is not None
    }
    changed = []
    for part in _chunks_of(list(new_journeys)):
        for id_, ext, journey in conn.execute(
            select(Campaign.id, Campaign.external_id, Campaign.journey).where(
                Campaign.organization_id == org_id, Campaign.external_id.in_(part)
            )
        ):
            if journey != new_journeys[ext]:
                changed.append(id_)
    if not changed:
        return []
    return list(conn.execute(
        select(CampaignSend.contact_id).distinct().where(
            CampaignSend.organization_id == org_id, CampaignSend.campaign_id.in_(changed)
        )
    ).scalars())


ANALYZE_FRACTION = 0.2


def _keep_statistics_fresh(conn: Connection, written: dict[str, int]) -> None:
    """PostgreSQL: ANALYZE a table this chunk grew by more than 20% (or that was never
    analyzed), before the derived-facts queries are planned. A bulk load outruns autovacuum
    (or runs without it); planned on an empty table's statistics, the per-chunk queries
    would scan the whole organization instead of its few changed conversations."""
    if "message" in written:
        written["response_interval"] = written["message"] // 2  # grows with the messages
    # the order facts, whose old rows each chunk reads back to take them out of the rollups
    if "sales_order" in written:
        for derived_table in ("customer_orders", "order_day"):
            written[derived_table] = written["sales_order"]
    # ... and the close facts, read back the same way
    if "conversation" in written:
        written["close_fact"] = written["conversation"]
    # ... and the contact activity, read back for its rollups (a row per contact and day, about
    # one per message)
    activity = written.get("message", 0) + written.get("conversation", 0)
    if activity:
        written["contact_activity"] = activity
    names = [name for name, n in written.items() if n > 0]
    if not names:
        return
    sizes = dict(conn.exec_driver_sql(
        "SELECT name, c.reltuples FROM unnest(%s::text[]) AS name"
        " JOIN pg_class c ON c.oid = to_regclass(name)", (names,)
    ).all())
    for name in names:
        tuples = sizes.get(name)
        if tuples is not None and (tuples < 0 or written[name] > ANALYZE_FRACTION * tuples):
            conn.exec_driver_sql(f"ANALYZE {name}")


def _store_schedules(conn: Connection, org_id: int, schedules: dict, user_ids: dict) -> bool:
    """Upsert schedules; True when any stored schedule changed (-> refresh everything)."""
    stored = {
        row[0]: tuple(row[1:])
        for row in conn.execute(
            select(BusinessSchedule.advisor_id, BusinessSchedule.timezone,
                   BusinessSchedule.weekly_json, BusinessSchedule.holiday_country,
                   BusinessSchedule.holiday_subdiv).where(
                BusinessSchedule.organization_id == org_id)
        )
    }
    rows, changed = [], False
    for (advisor,), (_, rec) in schedules.items():
        advisor_id = 0 if advisor is None else user_ids[advisor]
        values = (rec["timezone"], rec["weekly_json"], rec["holiday_country"],
                  rec["holiday_subdiv"])
        changed |= stored.get(advisor_id) != values
        rows.append((org_id, advisor_id, *values))
    columns = ["organization_id", "advisor_id", "timezone", "weekly_json", "holiday_country",
               "holiday_subdiv"]
    _upsert(conn, BusinessSchedule, columns, rows, ("organization_id", "advisor_id"))
    return changed


def _store_steps(conn: Connection, org_id: int, steps: dict, now: int) -> None:
    stored = {
        key: (position, done_at)
        for key, position, done_at in conn.execute(
            select(OnboardingStep.key, OnboardingStep.position, OnboardingStep.done_at).where(
                OnboardingStep.organization_id == org_id)
        )
    }
    last = max((p for p, _ in stored.values()), default=0)
    rows = []
    for key, (_, rec) in steps.items():
        if key in stored:
            position, done_at = stored[key]
            title = None
        else:
            last += 1
            position, done_at = last, None
            title = re.sub(r"[_\-\s]+", " ", key).strip().capitalize() or key
        if rec["done"]:
            done_at = done_at if done_at is not None else now
        else:
            done_at = None
        if title is None:
            conn.execute(
                text("UPDATE onboarding_step SET done = :done, done_at = :done_at "
                     "WHERE organization_id = :org AND key = :key"),
                {"done": rec["done"], "done_at": done_at, "org": org_id, "key": key},
            )
        else:
            rows.append({"organization_id": org_id, "key": key, "title": title,
                         "position": position, "done": rec["done"], "done_at": done_at})
    if rows:
        conn.execute(OnboardingStep.__table__.insert(), rows)


class _Rejected(Exception):
    """Raised inside the chunk's transaction to roll it back."""


def _read_chunks(
    items: Iterable[tuple[int, object]], chunk_size: int
) -> Iterator[tuple[_Chunk, int]]:
    """Validated chunks of ``chunk_size`` input lines, with the number of their last line."""
    chunk = _Chunk()
    add = chunk.add
    in_chunk = 0
    lineno = 0
    for lineno, obj in items:
        in_chunk += 1
        if obj is not None:
            if type(obj) is LineError:
                chunk.errors.append(obj)
            else:
                add(lineno, obj)
        if in_chunk >= chunk_size:
            chunk.finish()
            yield chunk, lineno
            chunk = _Chunk()
            add = chunk.add
            in_chunk = 0
    if in_chunk:
        chunk.finish()
        yield chunk, lineno


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a block that builds many containers and no
    cycles (a chunk's records: dicts in tuples in dicts). Each collection it would trigger walks
    every container alive, the chunk's own included: unpickling a validated chunk of 300,000
    lines took 1.5-1.7 s with the collector running, 0.5 s paused. Reference counting still
    frees everything, and the collector's usual schedule resumes after the block."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _validate_batch(start: int, lines: list) -> bytes:
    """One chunk's lines (the first is number ``start``) parsed and validated: what
    :func:`_read_chunks` gives for them, run in a worker process, pickled (the caller
    unpickles it with :func:`_collector_paused`; the pool would unpickle it in its own thread
    with the collector running)."""
    with _collector_paused():
        chunk = next(iter(_read_chunks(_parse_lines(lines, start), len(lines) or 1)))[0]
        return pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)


# A bulk load (``defer_facts``) of more than one chunk of at least this many lines is parsed and
# validated in a worker process while this one stores: Python validation and SQLite's writes
# each need a core, and in one process the GIL lets them take turns only (the medium set's
# records: 151 s -> 99 s). A chunk-by-chunk load gains less (its chunks' facts take most of its
# time: 437 s -> 399-422 s) and its process held 550 MB instead of 483 MB, over the 500 MB
# target: it validates in-process. Smaller chunks (most tests) too. Figures: docs/ingestion.md.
PARALLEL_MIN_CHUNK = 5_000


def _read_chunks_in_parallel(
    lines: Iterable[str | bytes], chunk_size: int
) -> Iterator[tuple[_Chunk, int]]:
    """:func:`_read_chunks` of ``_parse_lines(lines)``, the same chunks in the same order, with
    the parsing and validation done by one worker process once the input turns out to hold
    more than one chunk. The worker is forked (it starts at once and imports nothing; a spawned
    one would re-run the caller's script), so only from a process without other threads (the
    CLI, a script; not a server, which ingests in-process): a fork copies a thread's locks, not
    the thread."""
    import multiprocessing
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from itertools import islice

    iterator = iter(lines)
    first = list(islice(iterator, chunk_size))
    second = list(islice(iterator, chunk_size)) if len(first) == chunk_size else []
    if not second or threading.active_count() > 1:
        yield from _read_chunks(_parse_lines(chain(first, second, iterator)), chunk_size)
        return
    batches = chain((first, second), iter(lambda: list(islice(iterator, chunk_size)), []))
    del first, second
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    workers = None
    others = set(multiprocessing.active_children())  # the caller's own child processes
    try:
        start = 1
        for batch in batches:
            # validated while the caller stores the chunk before; handed over only when asked
            # for, so this process holds two chunks at most, as when validating in-process
            future = pool.submit(_validate_batch, start, batch)
            if workers is None:  # the worker process now exists: kept, to say how it ended
                workers = [p for p in multiprocessing.active_children() if p not in others]
            first_line, last_line = start, start + len(batch) - 1
            start = last_line + 1
            del batch
            try:
                pickled = future.result()
            except BrokenProcessPool as exc:
                raise ValidatingWorkerFailed(first_line, last_line,
                                             _why_stopped(workers)) from exc
            with _collector_paused():
                chunk = pickle.loads(pickled)
            del pickled
            yield chunk, last_line
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _why_stopped(processes) -> str:
    """How the (first ended of the) worker ``processes`` of a broken pool ended, in words."""
    import signal

    for process in processes:
        process.join(timeout=1)
    codes = [p.exitcode for p in processes if p.exitcode is not None]
    if not codes:
        return "it ended unexpectedly"
    code = codes[0]
    if code < 0:
        name = signal.Signals(-code).name
        hint = ", as the kernel does when memory runs out" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"it exited with status {code}"


def _ingest(
    db: Database,
    org_id: int,
    chunks: Iterator[tuple[_Chunk, int]],
    chunk_size: int,
    on_chunk: Callable[[int, int], None] | None,
    now: int | None,
    defer_facts: bool = False,
    on_refresh: Callable[[str], None] | None = None,
) -> IngestResult:
    """Store chunk after chunk (``chunks``: validated chunks with their last line number).
    Pipelined: while a worker thread writes chunk n, this thread reads and validates chunk
    n + 1 (or, for a large input, collects it from the validating worker process). Chunk n + 1
    is submitted only once chunk n is committed, so a rejected chunk stops everything after it
    and nothing but validation happened to the next one."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    result = IngestResult()
    deferred = False  # a bulk load's report indexes are off (DEFERRED_INDEXES)

    def restore(conn: Connection) -> None:
        started = time.monotonic()
        if restore_report_indexes(conn) and on_refresh is not None:
            on_refresh(f"built the message indexes by period ({time.monotonic() - started:.0f} s)")

    def store(number: int, chunk: _Chunk) -> dict[str, int]:
        nonlocal deferred
        if number == 2 and defer_facts:
            # a bulk load of more than one chunk: the report indexes are built at its end
            # (restored below even if dropping them fails half-way: SQLite commits each DROP)
            deferred = True
            deferred = db.bulk_write(defer_report_indexes)
        if not chunk.errors and not any(chunk.records.values()):
            return {}  # only blank lines
        stamp = int(time.time()) if now is None else now
        try:
            # Even with bad lines the chunk goes to the database, so that references are
            # checked too and every error is reported at once; nothing is written before.
            return db.bulk_write(
                lambda conn: _store_chunk(conn, org_id, chunk, stamp, defer_facts)
            )
        except _Rejected:
            chunk.errors.sort(key=lambda e: e.line)
            raise IngestRejected(chunk.errors, number, number - 1) from None

    def finish(pending: Future, last_line: int) -> None:
        counts = pending.result()  # raises IngestRejected
        result.chunks += 1
        for t, n in counts.items():
            result.counts[t] = result.counts.get(t, 0) + n
        if on_chunk is not None:
            on_chunk(result.chunks, last_line)

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tablero-ingest") as writer:
            pending: tuple[Future, int] | None = None
            numbered = enumerate(chunks, 1)
            while True:
                try:
                    number, (chunk, last_line) = next(numbered)
                except StopIteration:
                    break
                except BaseException:
                    # (reading failed, or the validating worker died): the chunk being
                    # written is committed first and counted, so its facts follow below
                    if pending is not None:
                        finish(*pending)
                    raise
                result.lines = last_line
                if pending is not None:
                    finish(*pending)
                pending = (writer.submit(store, number, chunk), last_line)
            if pending is not None:
                finish(*pending)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # a validating worker process stops here, not when the traceback goes
        try:
            # a bulk load's facts: once, for what was stored (a rejected chunk stored nothing)
            if defer_facts and result.chunks:
                if db.is_sqlite:
                    db.write(_analyze_sqlite)  # the refresh's plans need the new rows' statistics
                # (each stored contact's state was derived from its phone as it was validated.
                # The refresh reads none of the report indexes. SQLite builds them first thing
                # on the refresh's main connection, while its side connection works; not
                # PostgreSQL: it would hold the message table's SHARE lock, which blocks every
                # write to it, until the refresh commits)
                derived.refresh(db, org_id, now=int(time.time()) if now is None else now,
                                progress=on_refresh, _phone_states=False, in_two=True,
                                before=restore if deferred and db.is_sqlite else None)
        finally:
            if deferred:  # (PostgreSQL, or the refresh failed, or there was none: built here)
                db.bulk_write(restore)
    if db.is_sqlite and sum(result.counts.values()) >= SQLITE_ANALYZE_AFTER:
        db.write(_analyze_sqlite)
    return result


# SQLite keeps no statistics by itself; a bulk load of at least this many records refreshes them.
SQLITE_ANALYZE_AFTER = 10_000


def _analyze_sqlite(conn: Connection) -> None:
    """Refresh SQLite's planner statistics after a bulk load. Without them its planner picks bad
    join orders for some report queries (the journeys of the contacts behaviour panel took
    minutes). ``analysis_limit`` samples each index, so this takes well under a second even on
    millions of rows."""
    conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
    conn.exec_driver_sql("ANALYZE")


# A bulk load keeps the message table's indexes by period off while it writes, and builds them
# once at its end: the indexes that only reports read (ingestion looks messages up by external
# id, the refresh by contact and by conversation; both keep their indexes). Rows arriving in an
# order other than an index's are inserted all over it (on SQLite each chunk's commit then
# writes every page it touched again): the medium set's records took 47.0-51.6 s into SQLite
# without these three and 62.8-64.5 s with them, and building them afterwards 4.9 s; on
# PostgreSQL the records and the build took 49.8 s instead of 58.2 s (docs/ingestion.md).
DEFERRED_INDEXES = ("ix_message_org_sent", "ix_message_org_campaign_sends",
                    "ix_message_org_effective")
# ... only while the message table (every organization's) holds at most this many rows when the
# load starts: building the indexes again reads the whole table, and meanwhile the reports of the
# organizations already stored run without them.
DEFER_INDEXES_MAX_ROWS = 1_000_000


def _deferred_indexes() -> list:
    return [index for index in Message.__table__.indexes if index.name in DEFERRED_INDEXES]


def _existing_indexes(conn: Connection) -> set[str]:
    return {index["name"] for index in inspect(conn).get_indexes("message")}


def defer_report_indexes(conn: Connection) -> bool:
    """Drop :data:`DEFERRED_INDEXES` for a bulk load, if the message table holds at most
    :data:`DEFER_INDEXES_MAX_ROWS` rows; True if it did (then :func:`restore_report_indexes`
    must follow, whatever happens)."""
    rows = conn.execute(
        text("SELECT COUNT(*) FROM (SELECT 1 FROM message LIMIT :n) m"),
        {"n": DEFER_INDEXES_MAX_ROWS + 1},
    ).scalar()
    if rows > DEFER_INDEXES_MAX_ROWS:
        return False
    existing = _existing_indexes(conn)
    dropped = False
    for index in _deferred_indexes():
        if index.name in existing:
            index.drop(conn)
            dropped = True
    return dropped


def restore_report_indexes(conn: Connection) -> list[str]:
    """Create those of :data:`DEFERRED_INDEXES` that are missing (a bulk load's end, or after
    one that was killed: ``tablero db upgrade`` and every server start call this); returns
    their names."""
    existing = _existing_indexes(conn)
    created = []
    for index in _deferred_indexes():
        if index.name not in existing:
            index.create(conn)
            created.append(index.name)
    return created


__all__ = [
    "BULK_CHUNK_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "IngestRejected",
    "IngestResult",
    "LineError",
    "UnknownOrganization",
    "ValidatingWorkerFailed",
    "defer_report_indexes",
    "ingest_lines",
    "ingest_records",
    "load_demo",
    "organization_id_by_key",
    "restore_report_indexes",
]
