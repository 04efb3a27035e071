"""Derived facts (SPEC 4, 6.3): computed in bulk when data arrives or changes, never at query time.

:func:`refresh` brings these columns up to date for some contacts and conversations (ingestion
calls it at the end of every chunk, inside the chunk's transaction) or for a whole organization:

1. ``contact.state``: the Brazilian state (UF) of the phone's DDD (:mod:`tablero.geo`), null
   when unknown.
2. ``message.effective``: an effective contact by a human advisor — sender ``ADVISOR``, direction
   ``OUTBOUND``, not automatic, with an advisor who is not a bot, on WhatsApp, Facebook
   Messenger, e-mail or SMS, or a ``VOICE_CALL`` whose outcome is ``ACCEPTED`` or ``REJECTED``.
   Bot replies, automatic (welcome) messages, campaign and system messages never count. One SQL
   ``UPDATE`` (:data:`EFFECTIVE_SQL`); ingestion sets the flag of the rows it writes with the
   same rule in Python (:func:`is_effective`), and a changed user (``is_bot``) makes it refresh
   the whole organization.
3. ``conversation.first_response_*``: the first effective message of the conversation at or
   after ``started_at``; calendar seconds and business seconds (schedule of the advisor who
   answered). ``close_calendar_s`` / ``close_business_s``: ``started_at`` -> ``closed_at``
   (schedule of the conversation's advisor) when ``closed_at`` is set (a transfer sets it).
4. ``contact.first_contact_*``: the contact's first effective message at or after its
   ``created_at`` (in any conversation, or none), the advisor who sent it, and the calendar and
   business seconds from ``created_at`` (that advisor's schedule).
5. ``response_interval`` rows, recomputed per conversation: messages in ``(sent_at, id)`` order;
   a contact message (``INBOUND`` from ``CONTACT``) opens a wait if none is open (further contact
   messages do not reset it); the next effective message ends it. Bot and automatic replies do
   not end a wait. The pairing is done in SQL with window functions: ``k`` = number of effective
   messages before a message; the contact messages with count ``k`` form the wait answered by
   the effective message that has ``k`` effective messages before it. Messages without a
   conversation produce no interval.
6. ``contact_activity`` rows, recomputed per contact: per local day (organization's time zone)
   and channel, and for all channels (``channel = '*'``), the contact's messages, outbound
   messages, campaign messages and the commercial and support conversations started; a copy of
   the contact's state and deletion; and the contact's previous day (in the same channel) with
   any activity, with outbound messages, with campaign sends and with a commercial and a support
   conversation started, so that "distinct contacts in a period" is a plain count of the rows
   that are a contact's first in the period. One ``INSERT .. SELECT`` grouped and windowed in
   SQL. The ``activity_gap`` rollup counts those rows per channel, measure, day, gap since the
   previous day (and state), updated by subtracting the replaced rows and adding the new ones:
   the same counts, read in a few rows per day.
7. ``customer_orders`` and ``order_day`` rows, recomputed per contact: the contact's orders in
   total (count, last order and its local day, sum, smallest and largest currency, a copy of its
   deletion), and per local day and currency with the contact's next order day; and the rollups
   ``order_day_total`` (orders and revenue per day and currency) and ``buyer_day`` (contacts per
   order day and next order day) and ``customer_cell`` (single-currency customers not deleted per
   last order day, frequency and currency), updated by subtracting the replaced rows' sums and
   adding the new ones', for the success monitor's RFM scoring and sales.

8. ``close_fact`` rows per contact (its conversations closed with a reason or a transfer) and
   the ``reason_close_day`` / ``reason_close_bucket`` rollups; ``contact.first_closed_at``, when
   its first conversation closed (transferred, or a reason whose stored ``closes`` is true).
9. Histograms for exact medians: ``response_interval.day`` / ``*_bucket`` and
   ``response_bucket`` (answers per measure, local day, channel and ``'*'``, duration bucket);
   ``contact.first_*_bucket`` and ``first_response_bucket`` (answered contacts per measure,
   creation day, bucket), kept with ``contact.created_day`` / ``deleted_day`` and
   ``contact_day``.
10. ``interaction`` rows per contact (its distinct local day, advisor, channel with an
    effective contact) and ``interaction_day``; ``conversation.started_hour`` /
    ``counted_channel`` / ``counted_kind`` and ``conversation_hour`` (conversations, and
    commercial ones, per channel and local hour).
11. ``campaign_send`` per campaign message (local day, status rank, journey, the contact's next
    commercial conversation and order) and ``campaign_gap`` (each contact's days with sends per
    status rank and journey, with the gap since its previous one), rebuilt per contact.

Every rollup is kept by subtracting what the rebuilt rows counted before and adding what they
count now; a whole refresh empties them first and analyzes the facts as it writes them (after
ranges 1, 2, 4, ...), and collects the largest rollup's cells (``activity_gap``) range by range
to write each once at its end. A whole-organization refresh works in ranges of ids (bounded
memory); a bulk load's on two connections at once (:func:`_refresh_all_in_two`: on PostgreSQL
two transactions, on SQLite a side connection, in a forked process when it can, writing into a
scratch file that the main transaction copies in), and writes each conversation row once (its
hour with its first response). On PostgreSQL the written rows go through ``COPY`` (into a
temporary table, then one ``UPDATE .. FROM`` or ``INSERT``). The derived tables carry no database foreign keys
(migration 0018).

Schedules (whose business seconds): the advisor's own ``business_schedule`` row (``advisor_id`` =
the user's id), else the organization's (``advisor_id = 0``), else the **default schedule:
Monday to Friday 09:00-18:00 in the organization's time zone, with Brazilian national holidays
(``holidays`` country ``BR``)**. A conversation or interval without an advisor uses the
organization's schedule. Business seconds are computed vectorised with numpy, one
:func:`tablero.business_hours.business_seconds` call per distinct schedule.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from . import business_hours, geo
from .campaigns import campaign_rank_sql
from .db import Database
from .models import (
    ACTIVITY_MEASURES,
    ALL_CHANNELS,
    ALL_STATES,
    BY_STATE,
    CAMPAIGN_PREVIOUS_DAYS,
    CAMPAIGN_RANKS,
    CLOSED_ROW_KEY,
    CONVERSATION_DAY_COUNTS,
    EFFECTIVE_MESSAGE_CHANNELS,
    GAP_CAP,
    JOURNEY_TRACK_PREFIX,
    NO_ADVISOR,
    NO_JOURNEY_TRACK,
    NO_NEXT_DAY,
    NO_PREVIOUS_DAY,
    NOT_DELETED,
    ResponseInterval,
)
from .sql import duration_bucket_sql, duration_buckets
from .timeseries import DAY as DAY_SECONDS
from .timeseries import offset_segments

DEFAULT_HOLIDAY_COUNTRY = "BR"
# ids per step of a whole-organization refresh (bounds memory): PostgreSQL computes in its
# server; on SQLite each step's rows, sorts and caches are this process's (and, in a bulk
# load's refresh on two connections, its side process's): with 10,000 the medium set's bulk
# load peaked at 485 MB over its processes, with 20,000 at 542 MB, in about the same time
RANGE_SIZE = 20_000
SQLITE_RANGE_SIZE = 10_000


UPDATE_BATCH = 10_000


def _range_size(conn: Connection) -> int:
    return SQLITE_RANGE_SIZE if conn.dialect.name == "sqlite" else RANGE_SIZE


_Where = Callable[[str], str]

_EFFECTIVE_CHANNELS = ", ".join(f"'{c}'" for c in EFFECTIVE_MESSAGE_CHANNELS)
EFFECTIVE_SQL = (
    "CASE WHEN message.sender = 'ADVISOR' AND message.direction = 'OUTBOUND'"
    " AND NOT message.automatic AND message.advisor_id IS NOT NULL"
    f" AND (message.channel IN ({_EFFECTIVE_CHANNELS})"
    "  OR (message.channel = 'VOICE_CALL' AND message.call_outcome IN ('ACCEPTED', 'REJECTED')))"
    " AND EXISTS (SELECT 1 FROM app_user u WHERE u.organization_id = message.organization_id"
    "  AND u.id = message.advisor_id AND NOT u.is_bot)"
    " THEN TRUE ELSE FALSE END"
)
"""SQL for "this message row is an effective contact" (SPEC 6.3)."""

_CALLED = frozenset(("ACCEPTED", "REJECTED"))
_EFFECTIVE_SET = frozenset(EFFECTIVE_MESSAGE_CHANNELS)


def is_effective(sender: str, direction: str, automatic: bool, advisor_id: int | None,
                 channel: str, call_outcome: str | None, bot_ids: set[int]) -> bool:
    """:data:`EFFECTIVE_SQL` in Python, for rows about to be written (ingestion sets the flag
    as it inserts, sparing an UPDATE of every new message); a test holds the two equal."""
    return (
        sender == "ADVISOR" and direction == "OUTBOUND" and not automatic
        and advisor_id is not None and advisor_id not in bot_ids
        and (channel in _EFFECTIVE_SET or (channel == "VOICE_CALL" and call_outcome in _CALLED))
    )


def refresh(
    db_or_conn: Database | Connection,
    organization_id: int,
    *,
    contact_ids: Iterable[int] | None = None,
    conversation_ids: Iterable[int] | None = None,
    now: int | None = None,
    _phone_states: bool = True,
    _effective_known: bool = False,
    progress: Callable[[str], None] | None = None,
    in_two: bool = False,
    before: Callable[[Connection], object] | None = None,
) -> None:
    """Recompute the derived facts of the given contacts and conversations (surrogate ids).

    With neither given, everything of the organization is recomputed; given either, only those
    (the other counts as empty). Sets ``organization.refreshed_at = now`` (default: the current
    time). With a :class:`Database`, runs in its own transaction; with a connection, in the
    caller's. (Ingestion passes ``_phone_states=False, _effective_known=True``: it wrote those
    columns itself for the rows it upserted.) ``progress(message)``: a whole refresh reports a
    line after each range of records it has recomputed. ``in_two``: a whole refresh with a
    :class:`Database` (PostgreSQL, or a SQLite file) runs on two connections at once
    (:func:`_refresh_all_in_two`; a bulk load's); elsewhere it is ignored. ``before(conn)``:
    the caller's own work, run first on the refresh's (main) connection (a SQLite bulk load
    builds its report indexes there, while the side connection works; SQLite commits such
    DDL at once when it comes before the transaction's first write).
    """
    whole = contact_ids is None and conversation_ids is None
    if (in_two and whole and isinstance(db_or_conn, Database)
            and (not db_or_conn.is_sqlite or _sqlite_file(db_or_conn) is not None)):
        _refresh_all_in_two(db_or_conn, organization_id,
                            int(time.time()) if now is None else now, _phone_states, progress,
                            before)
        return
    if isinstance(db_or_conn, Database):

        def in_transaction(conn: Connection) -> None:
            plan_for_cached_pages(conn)
            refresh(
                conn,
                organization_id,
                contact_ids=contact_ids,
                conversation_ids=conversation_ids,
                now=now,
                _phone_states=_phone_states,
                _effective_known=_effective_known,
                progress=progress,
                before=before,
            )

        db_or_conn.bulk_write(in_transaction)
        return
    conn = db_or_conn
    if before is not None:
        before(conn)
    now = int(time.time()) if now is None else now
    schedules = _Schedules(conn, organization_id)
    org = {"org": organization_id}
    if contact_ids is None and conversation_ids is None:
        _refresh_all(conn, organization_id, schedules, _phone_states, progress)
    else:
        contacts = sorted(set(contact_ids or ()))
        conversations = sorted(set(conversation_ids or ()))
        if contacts:
            where_contact = _scope(conn, "contact", contacts)
            if _phone_states:
                _states(conn, org, where_contact)
            if not _effective_known:
                _effective(conn, org, lambda: where_contact("message.contact_id"))
        if conversations:
            where_conv = _scope(conn, "conversation", conversations)
            if not _effective_known:
                _effective(conn, org, lambda: where_conv("message.conversation_id"))
            _conversation_facts(conn, org, schedules, where_conv)
            _intervals(conn, org, schedules, where_conv)
            _conversation_hours(conn, org, schedules.timezone, where_conv)
        if contacts:
            _contact_facts(conn, org, schedules, where_contact)
            _contact_days(conn, org, schedules.timezone, where_contact)
            _contact_activity(conn, org, schedules.timezone, where_contact)
            _customer_orders(conn, org, schedules.timezone, where_contact)
            _close_facts(conn, org, schedules.timezone, where_contact)
            _interactions(conn, org, schedules.timezone, where_contact)
            _campaign_sends(conn, org, schedules.timezone, where_contact)
    conn.execute(
        text("UPDATE organization SET refreshed_at = :now WHERE id = :org"),
        {"now": now, "org": organization_id},
    )


# The derived tables :func:`rebuild` can recompute alone: the records they are scoped by, and
# the step that writes them for a range of those (``replace=False``).
_REBUILDABLE = {
    "campaign_send": "contact", "campaign_gap": "contact", "conversation_hour": "conversation",
}


def rebuild(db: Database, organization_id: int, tables: Sequence[str],
            now: int | None = None) -> None:
    """Recompute only ``tables`` (derived tables of :data:`_REBUILDABLE`) of one organization,
    in one transaction, range by range, and set ``refreshed_at``: what an upgrade that adds a
    derived table does instead of a whole refresh (the records did not change, so the other
    facts are current)."""
    unknown = sorted(set(tables) - set(_REBUILDABLE))
    if unknown:
        raise ValueError(f"cannot rebuild {unknown} alone: use refresh()")
    steps = {
        "campaign_send": _campaign_sends,
        "campaign_gap": _campaign_sends,
        "conversation_hour": _conversation_hours,
    }

    def fn(conn: Connection) -> None:
        plan_for_cached_pages(conn)
        org = {"org": organization_id}
        timezone = conn.execute(
            text("SELECT timezone FROM organization WHERE id = :org"), org
        ).scalar_one()
        for table in tables:
            conn.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"), org)
        for step in dict.fromkeys(steps[table] for table in tables):  # each step once
            scope = _REBUILDABLE[next(t for t in tables if steps[t] is step)]
            max_id = conn.execute(
                text(f"SELECT COALESCE(MAX(id), 0) FROM {scope} WHERE organization_id = :org"),
                org,
            ).scalar()
            size = _range_size(conn)
            for lo in range(1, max_id + 1, size):
                step(conn, org, timezone, _range(lo, lo + size - 1), replace=False)
        conn.execute(
            text("UPDATE organization SET refreshed_at = :now WHERE id = :org"),
            {"now": int(time.time()) if now is None else now, "org": organization_id},
        )

    db.write(fn)


def plan_for_cached_pages(conn: Connection) -> None:
    """PostgreSQL, for the current transaction only: tell the planner that index pages are
    cheap to reach (``random_page_cost`` 1.1, the usual SSD / cached setting). The refresh
    queries read the messages of a few thousand conversations through their index; with the
    default cost (4) the planner prefers reading every message of the organization."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL random_page_cost = 1.1")


# ---------------------------------------------------------------------------------------------
# Scopes: which rows a statement touches
# ---------------------------------------------------------------------------------------------


def _scope(conn: Connection, name: str, ids: list[int]) -> _Where:
    """A temporary table holding ``ids``; returns ``col -> "col IN (SELECT id FROM tmp)"``."""
    table = f"tablero_scope_{name}"
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            f"CREATE TEMP TABLE IF NOT EXISTS {table} (id BIGINT PRIMARY KEY)"
            " ON COMMIT DELETE ROWS"
        ))
        conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(
            text(f"INSERT INTO {table} (id) SELECT unnest(CAST(:ids AS BIGINT[]))"), {"ids": ids}
        )
        conn.execute(text(f"ANALYZE {table}"))
    else:
        conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY)"))
        conn.execute(text(f"DELETE FROM {table}"))
        conn.exec_driver_sql(f"INSERT INTO {table} (id) VALUES (?)", [(i,) for i in ids])
    return lambda col: f"{col} IN (SELECT id FROM {table})"


def _empty_temp_table(conn: Connection, name: str, columns: str) -> None:
    """Create the connection's temporary table ``name (columns)`` if it is missing, and empty
    it (the netting tables: per connection, reused by every refresh on it)."""
    conn.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})"))
    conn.execute(text(f"DELETE FROM {name}"))


def _range(lo: int, hi: int) -> _Where:
    return lambda col: f"{col} BETWEEN {int(lo)} AND {int(hi)}"


# The derived tables a whole refresh rebuilds (emptied first).
_FACT_TABLES = (
    "close_fact", "reason_close_day", "reason_close_bucket", "contact_activity", "contact_day",
    "activity_gap", "conversation_day", "customer_orders", "order_day", "customer_cell", "order_day_total", "buyer_day", "response_interval",
    "response_bucket", "first_response_bucket", "interaction", "interaction_day",
    "conversation_hour", "campaign_send", "campaign_gap",
)


_BASE_TABLES = ("contact", "conversation", "message", "sales_order", "ticket", "closing_reason")


def _analyze(conn: Connection, tables: Sequence[str]) -> None:
    """Refresh the planner's statistics of ``tables`` (sampled), inside the transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))
    else:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {table}")


def _passes(phone_states: bool) -> tuple[tuple[str, str, list], ...]:
    """A whole refresh's passes: (records scoped by, label, steps), each run range by range."""
    return (
        # states first: the activity rows copy each contact's state
        ("contact", "contacts", ([_states] if phone_states else [])
         + [_contact_facts, _contact_days, _contact_activity, _customer_orders,
            _interactions, _campaign_sends]),
        ("conversation", "conversations", [_conversation_facts, _intervals,
                                           _conversation_hours]),
        # after the conversations' times to close
        ("contact", "close facts of contacts", [_close_facts]),
    )


def _run_step(conn: Connection, org: dict, schedules: _Schedules, step: Callable,
              where: _Where) -> None:
    """One step of a whole refresh for one range (its tables emptied beforehand)."""
    if step in (_states, _first_closed):
        step(conn, org, where)
    elif step is _conversation_facts:
        step(conn, org, schedules, where, hours=True)  # (then _conversation_hours finds them)
    elif step is _contact_facts:
        step(conn, org, schedules, where)
    elif step is _contact_activity:
        step(conn, org, schedules.timezone, where, replace=False, collect=True)
    elif step is _intervals:
        step(conn, org, schedules, where, replace=False)
    else:
        step(conn, org, schedules.timezone, where, replace=False)


class _Ranges:
    """Runs passes range by range for one transaction of a whole refresh: analyzes
    ``analyzed`` after its ranges 1, 2, 4, 8, ... (the facts emptied at the start would be
    planned as empty: each range's reads of them would scan every row written before it,
    minutes per range on a large set), first of all with ``first_analyzed`` too (a bulk load
    leaves the records' statistics taken early: a range of contacts outside the histogram
    planned as one row, nested loops of 20,000), and reports each range."""

    def __init__(self, conn: Connection, org: dict, schedules: _Schedules,
                 analyzed: Sequence[str], first_analyzed: Sequence[str],
                 progress: Callable[[str], None] | None, started: float, total: int,
                 stop: Callable[[], None] = lambda: None):
        self.conn, self.org, self.schedules = conn, org, schedules
        self.analyzed, self.first_analyzed = analyzed, first_analyzed
        self.progress, self.started, self.total, self.stop = progress, started, total, stop
        self.ranges = 0

    def run(self, number: int, table: str, label: str, steps: Sequence[Callable]) -> None:
        conn, org = self.conn, self.org
        max_id = conn.execute(
            text(f"SELECT COALESCE(MAX(id), 0) FROM {table} WHERE organization_id = :org"), org
        ).scalar()
        size = _range_size(conn)
        for lo in range(1, max_id + 1, size):
            self.stop()
            where = _range(lo, lo + size - 1)
            self.ranges += 1
            if self.ranges & (self.ranges - 1) == 0:
                _analyze(conn, [*self.first_analyzed, *self.analyzed] if self.ranges == 1
                         else self.analyzed)
            for step in steps:
                _run_step(conn, org, self.schedules, step, where)
            if self.progress is not None:
                self.progress(
                    f"refresh {number}/{self.total}: {label} up to id "
                    f"{min(lo + size - 1, max_id):,} of {max_id:,} "
                    f"({time.monotonic() - self.started:.0f} s)"
                )


def _refresh_all(conn: Connection, org_id: int, schedules: _Schedules, phone_states: bool,
                 progress: Callable[[str], None] | None = None):
    org = {"org": org_id}
    started = time.monotonic()
    _effective(conn, org, None)
    for table in _FACT_TABLES:
        conn.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"), org)
    _collect_gaps(conn)
    passes = _passes(phone_states)
    ranges = _Ranges(conn, org, schedules, _FACT_TABLES, _BASE_TABLES, progress, started,
                     len(passes))
    for number, (table, label, steps) in enumerate(passes, 1):
        ranges.run(number, table, label, steps)
    _write_collected_gaps(conn, org)


# A whole refresh on two connections at once (a bulk load's): the main one rebuilds the
# contacts' own facts, the side one the conversations' facts, the close facts, the campaign
# sends, the orders' facts and the interactions. The side's tables (written by nothing the main
# one runs):
_SIDE_TABLES = ("response_interval", "response_bucket", "conversation_hour", "close_fact",
                "reason_close_day", "reason_close_bucket", "campaign_send", "campaign_gap",
                "customer_orders", "order_day", "customer_cell", "order_day_total", "buyer_day",
                "interaction", "interaction_day")
# ... and the conversation columns the side one sets (its first responses, times to close, hours)
_SIDE_CONVERSATION_COLUMNS = (
    "first_response_at", "first_response_calendar_s", "first_response_business_s",
    "close_calendar_s", "close_business_s", "started_hour", "counted_channel", "counted_kind",
)
# SQLite: the side connection's scratch database, as the main connection attaches it, and the
# organization's database, as the side connection attaches it
_SIDE_SCHEMA = "tablero_side"
_DB_SCHEMA = "tablero_db"
# SQLite: the side connection runs in a forked process when the caller has no other thread
# (False: always in a thread, as bench/steps.py wants, to time its steps). In a thread the two
# connections contend inside this one process (the medium set's refresh: 50.6 s in a thread,
# 40.2 s forked, 64.8-67.9 s on one connection).
FORK_SIDE = True
# SQLite: each of the side connection's two page caches (its scratch file, the database it reads)
_SIDE_CACHE_KB = 20_000


class _Stopped(Exception):
    """The other connection of a refresh in two failed: this one gives up too."""


def _sqlite_file(db: Database) -> str | None:
    """The file of a SQLite :class:`Database` (None: in memory)."""
    name = db.engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return os.path.abspath(name)


def _refresh_all_in_two(db: Database, org_id: int, now: int, phone_states: bool,
                        progress: Callable[[str], None] | None,
                        before: Callable[[Connection], object] | None = None) -> None:
    """:func:`refresh` of a whole organization on two connections at once, so that both CPUs
    work on it (one connection keeps one CPU busy: on PostgreSQL its server process, on SQLite
    this process's thread in SQLite's code, which runs without Python's lock). The main one
    rebuilds the contacts' own facts (states, first contacts, days, first closes, activity and
    its gaps); the side one the conversations' facts (first responses, times to close, response
    intervals, hours), then the close facts (which read those times to close), the campaign
    sends, the orders' facts and the interactions (about as much work as the main one's). They
    never write the same rows (contacts / conversations, each its own derived tables) nor
    analyze the same tables; the message flags and the records' statistics both read are
    brought up to date, and committed, before they start.

    PostgreSQL: two transactions. The main one waits for the side one to commit before it
    commits (and sets ``refreshed_at``); either failing rolls the other back, unless the side
    one had already committed: then its facts are current and the main one's as before, until
    the next refresh.

    SQLite (one writer at a time): the side connection writes into a scratch database file
    beside the organization's (:func:`_side_on_scratch`), reading the organization's database
    as it was committed; the main transaction then copies the side's tables and conversation
    columns in and commits everything at once. Either failing leaves every fact as it was; the
    scratch file is removed in any case."""
    org = {"org": org_id}
    main_tables = tuple(t for t in _FACT_TABLES if t not in _SIDE_TABLES)
    main_steps = [_contact_facts, _contact_days, _first_closed, _contact_activity]
    if phone_states:
        main_steps.insert(0, _states)
    started = time.monotonic()
    path = _sqlite_file(db) if db.is_sqlite else None
    scratch = (f"{path}.tablero-refresh-{os.getpid()}-{threading.get_ident()}"
               if path is not None else None)

    def prepare(conn: Connection) -> None:
        _effective(conn, org, None)
        _analyze(conn, _BASE_TABLES)

    db.bulk_write(prepare)
    # SQLite: the side one in a forked process when this one has no other thread (the CLI, a
    # script; a fork copies a thread's locks, not the thread), else in a thread
    forked = scratch is not None and FORK_SIDE and threading.active_count() == 1
    if forked:
        _release_memory(db)
    failed = (multiprocessing.get_context("fork").Event() if forked
              else threading.Event())

    def stop() -> None:
        if failed.is_set():
            raise _Stopped("the other connection of the refresh failed")

    def side(conn: Connection) -> None:
        plan_for_cached_pages(conn)
        for table in _SIDE_TABLES:
            conn.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"), org)
        ranges = _Ranges(conn, org, _Schedules(conn, org_id), _SIDE_TABLES, (), progress,
                         started, 3, stop)
        ranges.run(2, "conversation", "conversations",
                   [_conversation_facts, _intervals, _conversation_hours])
        ranges.run(3, "contact", "close facts, campaign sends, orders, interactions of contacts",
                   [_close_fact_rows, _campaign_sends, _customer_orders, _interactions])
        stop()

    def main(conn: Connection) -> None:
        plan_for_cached_pages(conn)
        if before is not None:
            before(conn)
        # (SQLite: the side's tables are emptied here, the side one writes into its scratch)
        for table in main_tables if scratch is None else _FACT_TABLES:
            conn.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"), org)
        _collect_gaps(conn)
        ranges = _Ranges(conn, org, _Schedules(conn, org_id), main_tables, (), progress,
                         started, 3, stop)
        ranges.run(1, "contact", "contacts", main_steps)
        _write_collected_gaps(conn, org)
        side_done.result()  # the side committed (or raises its error): commit too
        if scratch is not None:
            _copy_side_in(conn, org)
        conn.execute(
            text("UPDATE organization SET refreshed_at = :now WHERE id = :org"),
            {"now": now, "org": org_id},
        )

    def guarded(fn: Callable[..., None]) -> Callable[..., None]:
        def run(*args) -> None:
            try:
                fn(*args)
            except BaseException:
                failed.set()
                raise
        return run

    side_done = None
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tablero-refresh") as pool:
            if scratch is None:
                side_done = pool.submit(db.write, guarded(side))
            elif forked:
                side_done = _Forked(guarded(_side_on_scratch), scratch, path, org, side)
            else:
                side_done = pool.submit(guarded(_side_on_scratch), scratch, path, org, side)
            try:
                db.bulk_write(guarded(main),
                              attach={_SIDE_SCHEMA: scratch} if scratch is not None else None)
            except _Stopped:
                side_done.result()  # the side's own error, the cause
                raise
    finally:
        if forked and side_done is not None:
            # (the main one failed first: the side process stops within a range; wait for it)
            with contextlib.suppress(BaseException):
                side_done.result()
        if scratch is not None:
            for suffix in ("", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(scratch + suffix)


def _release_memory(db: Database) -> None:
    """Before forking: the pool's idle connections closed (their page caches freed, and the
    child inherits no open SQLite connection), the garbage collected, and the C heap's free
    memory handed back to the system (glibc), so that the child starts small and the pages it
    shares with this process are few."""
    import ctypes
    import gc

    db.engine.dispose()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # (not glibc: nothing to hand back)
        ctypes.CDLL(None).malloc_trim(0)


class _Forked:
    """``fn(*args)`` in a forked child process; :meth:`result` waits for it and returns
    None or raises its exception (or says how the process ended, if it died)."""

    def __init__(self, fn: Callable[..., None], *args):
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)

        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the parent
                try:
                    send.send(exc)
                except Exception:  # noqa: BLE001 - an exception that does not pickle
                    send.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
            else:
                send.send(None)

        self._process = context.Process(target=run, name="tablero-refresh", daemon=True)
        self._process.start()
        send.close()
        self._outcome: tuple[bool, BaseException | None] | None = None

    def result(self) -> None:
        if self._outcome is None:
            try:
                self._outcome = (True, self._receive.recv())
            except EOFError:
                self._process.join()
                self._outcome = (False, RuntimeError(
                    "the refresh's side process ended without an answer"
                    f" (exit status {self._process.exitcode})"))
            self._process.join()
            self._receive.close()
        if self._outcome[1] is not None:
            raise self._outcome[1]


def _side_on_scratch(scratch: str, path: str, org: dict,
                     side: Callable[[Connection], None]) -> None:
    """SQLite: run ``side`` on a connection to the scratch database file ``scratch``, with the
    organization's database ``path`` attached (read only, as last committed). The scratch
    holds empty copies of the side's tables and a copy of the organization's conversations:
    its steps' statements name the tables unqualified, and SQLite resolves such a name in the
    connection's main database (the scratch) first, so they write there, and read the records
    they do not find there (messages, contacts, orders, ...) from the attached database."""
    engine = create_engine(f"sqlite:///{scratch}", poolclass=NullPool,
                           connect_args={"check_same_thread": False, "timeout": 60})
    try:
        with engine.connect() as conn:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE",
                           f"cache_size=-{_SIDE_CACHE_KB}", "mmap_size=0"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
            conn.exec_driver_sql(f"ATTACH DATABASE ? AS {_DB_SCHEMA}", (path,))
            for pragma in (f"cache_size=-{_SIDE_CACHE_KB}", "mmap_size=0"):
                conn.exec_driver_sql(f"PRAGMA {_DB_SCHEMA}.{pragma}")
            conn.commit()
            with conn.begin():
                tables = ("conversation", *_SIDE_TABLES)
                ddl = conn.exec_driver_sql(
                    f"SELECT tbl_name, type, sql FROM {_DB_SCHEMA}.sqlite_master"
                    f" WHERE sql IS NOT NULL AND tbl_name IN ({', '.join('?' * len(tables))})",
                    tables,
                ).all()
                for _name, _kind, sql in sorted(ddl, key=lambda r: r[1] != "table"):
                    conn.exec_driver_sql(sql)  # unqualified: into the scratch
                conn.execute(
                    text(f"INSERT INTO main.conversation SELECT * FROM {_DB_SCHEMA}.conversation"
                         " WHERE organization_id = :org"),
                    org,
                )
                _analyze(conn, ["main.conversation"])
                side(conn)
    finally:
        engine.dispose()


def _copy_side_in(conn: Connection, org: dict) -> None:
    """SQLite, the main transaction of a refresh in two: the side's tables (emptied beforehand)
    and the conversation columns it set, from its scratch database (attached as
    :data:`_SIDE_SCHEMA`)."""
    for table in _SIDE_TABLES:
        conn.exec_driver_sql(
            f"INSERT INTO main.{table} SELECT * FROM {_SIDE_SCHEMA}.{table}"
        )
    columns = _SIDE_CONVERSATION_COLUMNS
    same_row = (f"FROM {_SIDE_SCHEMA}.conversation s WHERE s.organization_id = :org"
                " AND s.id = conversation.id")
    # (row values, not UPDATE .. FROM: SQLite 3.15 and later, not only 3.33 and later)
    conn.execute(
        text(
            f"UPDATE main.conversation SET ({', '.join(columns)})"
            f" = (SELECT {', '.join(f's.{c}' for c in columns)} {same_row})"
            " WHERE organization_id = :org"
            f" AND EXISTS (SELECT 1 {same_row}"
            f"  AND ({' OR '.join(f's.{c} IS NOT conversation.{c}' for c in columns)}))"
        ),
        org,
    )


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _schedule(timezone: str, weekly_json: str | None, country: str | None, subdiv: str | None):
    return business_hours.Schedule.from_weekly(timezone, weekly_json, country, subdiv)


class _Schedules:
    """Each advisor's schedule (own, else the organization's, else the default)."""

    def __init__(self, conn: Connection, org_id: int):
        timezone = conn.execute(
            text("SELECT timezone FROM organization WHERE id = :org"), {"org": org_id}
        ).scalar()
        own = {
            advisor_id: _schedule(tz, weekly, country, subdiv)
            for advisor_id, tz, weekly, country, subdiv in conn.execute(
                text(
                    "SELECT advisor_id, timezone, weekly_json, holiday_country, holiday_subdiv"
                    " FROM business_schedule WHERE organization_id = :org"
                ),
                {"org": org_id},
            )
        }
        self.timezone = timezone
        organization = own.pop(0, None)
        if organization is None:
            organization = _schedule(timezone, None, DEFAULT_HOLIDAY_COUNTRY, None)
        self.default = organization  # also for conversations without an advisor
        self.own = own  # advisor id -> schedule

    def business(self, advisors: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Business seconds of each (start, end), by the schedule of each advisor (0 = none)."""
        out = np.zeros(len(starts), dtype=np.int64)
        if len(starts) == 0:
            return out
        groups: dict[object, list[int]] = {}
        for advisor in np.unique(advisors).tolist():
            schedule = self.own.get(advisor, self.default)
            groups.setdefault(schedule, []).append(advisor)
        for schedule, members in groups.items():
            if len(groups) == 1:
                mask = slice(None)
            else:
                mask = np.isin(advisors, members)
            out[mask] = business_hours.business_seconds(schedule, starts[mask], ends[mask])
        return out


# ---------------------------------------------------------------------------------------------
# The facts
# ---------------------------------------------------------------------------------------------


def _column(rows: list, i: int, none: int = 0) -> np.ndarray:
    return np.fromiter(
        (none if r[i] is None else r[i] for r in rows), dtype=np.int64, count=len(rows)
    )


def _present(rows: list, i: int) -> np.ndarray:
    return np.fromiter((r[i] is not None for r in rows), dtype=bool, count=len(rows))


# ---------------------------------------------------------------------------------------------
# Bulk writes: executemany on SQLite, COPY on PostgreSQL
# ---------------------------------------------------------------------------------------------


def copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Iterable) -> None:
    """PostgreSQL ``COPY table (columns) FROM STDIN`` of ``rows``, in ``conn``'s transaction."""
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    ) as copy:
        write_row = copy.write_row
        for row in rows:
            write_row(row)


def staged(conn: Connection, table: str, columns: Sequence[str], rows: Iterable,
           purpose: str) -> str:
    """PostgreSQL: ``rows`` COPYed into an empty temporary table shaped like ``table``'s
    ``columns``; returns its name. The table lives as long as the database session (emptied
    at each commit), so a long-running server does not churn the catalog."""
    shape = zlib.crc32(",".join(columns).encode())  # one staging table per column set
    stage = f"tablero_stage_{table}_{purpose}_{shape:08x}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"
        f" SELECT {', '.join(columns)} FROM {table} WITH NO DATA"
    )
    conn.exec_driver_sql(f"DELETE FROM {stage}")
    copy_rows(conn, stage, columns, rows)
    return stage


def _update_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]):
    """Set ``columns`` of rows keyed by (organization_id, id); each row is
    ``(*values, organization_id, id)``."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        stage = staged(conn, table, [*columns, "organization_id", "id"], rows, "update")
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        conn.exec_driver_sql(
            f"UPDATE {table} t SET {assignments} FROM {stage} s"
            " WHERE t.organization_id = s.organization_id AND t.id = s.id"
        )
        return
    assignments = ", ".join(f"{c} = ?" for c in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE organization_id = ? AND id = ?"
    for i in range(0, len(rows), UPDATE_BATCH):
        conn.exec_driver_sql(sql, rows[i : i + UPDATE_BATCH])


def _insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]):
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, columns, rows)
        return
    sql = (f"INSERT INTO {table} ({', '.join(columns)})"
           f" VALUES ({', '.join('?' for _ in columns)})")
    for i in range(0, len(rows), UPDATE_BATCH):
        conn.exec_driver_sql(sql, rows[i : i + UPDATE_BATCH])


def _states(conn: Connection, org: dict, where: _Where) -> None:
    rows = conn.execute(
        text(
            "SELECT id, phone, state FROM contact"
            f" WHERE organization_id = :org AND {where('id')}"
        ),
        org,
    ).all()
    states = geo.states_for_phones([phone for _, phone, _ in rows])
    changed = [
        (state, org["org"], cid)
        for (cid, _, old), state in zip(rows, states, strict=True)
        if state != old
    ]
    _update_rows(conn, "contact", ["state"], changed)


def _effective(conn: Connection, org: dict, where: Callable[[], str] | None) -> None:
    scope = f" AND {where()}" if where is not None else ""
    conn.execute(
        text(
            f"UPDATE message SET effective = {EFFECTIVE_SQL}"
            f" WHERE message.organization_id = :org{scope}"
            f" AND message.effective <> {EFFECTIVE_SQL}"
        ),
        org,
    )


def _first_effective(
    conn: Connection, org: dict, key: str, owner: str, start: str, where: _Where
) -> dict[int, tuple[int, int | None]]:
    """Per ``key`` (contact_id / conversation_id) in scope: (sent_at, advisor_id) of its first
    effective message at or after the owner's ``start`` column."""
    rows = conn.execute(
        text(
            "SELECT key_id, sent_at, advisor_id FROM ("
            f" SELECT m.{key} AS key_id, m.sent_at, m.advisor_id,"
            f"  ROW_NUMBER() OVER (PARTITION BY m.{key} ORDER BY m.sent_at, m.id) AS rn"
            f" FROM message m JOIN {owner} o ON o.organization_id = m.organization_id"
            f"  AND o.id = m.{key}"
            f" WHERE m.organization_id = :org AND m.effective AND m.sent_at >= o.{start}"
            f"  AND {where('m.' + key)}"
            ") first_effective WHERE rn = 1"
        ),
        org,
    )
    return {key_id: (sent_at, advisor_id) for key_id, sent_at, advisor_id in rows}


def _conversation_facts(conn: Connection, org: dict, schedules: _Schedules, where: _Where,
                        hours: bool = False):
    """The scope's first responses and times to close (SPEC 6.3). With ``hours`` (a whole
    refresh, which rebuilds ``conversation_hour`` afterwards), also ``started_hour`` /
    ``counted_channel`` / ``counted_kind`` in the same update, which
    :func:`_conversation_hours` then finds current: each conversation row is written once
    (on PostgreSQL every update writes a new version of the row and of its eight index
    entries)."""
    extra = ", channel, kind, started_hour, counted_channel, counted_kind" if hours else ""
    rows = conn.execute(
        text(
            "SELECT id, started_at, closed_at, advisor_id,"
            " first_response_at, first_response_calendar_s, first_response_business_s,"
            f" close_calendar_s, close_business_s{extra}"
            f" FROM conversation WHERE organization_id = :org AND {where('id')}"
        ),
        org,
    ).all()
    if not rows:
        return
    first = _first_effective(conn, org, "conversation_id", "conversation", "started_at", where)
    none = (None, None)
    answers = [first.get(row[0], none) for row in rows]
    started = _column(rows, 1)
    closed, has_closed = _column(rows, 2), _present(rows, 2)
    conv_advisor = _column(rows, 3)
    answered, has_answer = _column(answers, 0), _present(answers, 0)
    answer_advisor = _column(answers, 1)

    answered = np.where(has_answer, answered, started)
    closed = np.where(has_closed, closed, started)
    fr_cal = answered - started
    fr_bus = schedules.business(answer_advisor, started, answered)
    close_cal = closed - started
    close_bus = schedules.business(conv_advisor, started, closed)
    # (as _local_hour_sql computes them)
    started_hours = (_local_seconds(started, schedules.timezone) // 3600 if hours
                     else np.zeros(len(rows), dtype=np.int64))

    changed = []
    org_id = org["org"]
    for row, ans, has_a, frc, frb, has_c, clc, clb, hour in zip(
        rows,
        answered.tolist(),
        has_answer.tolist(),
        fr_cal.tolist(),
        fr_bus.tolist(),
        has_closed.tolist(),
        close_cal.tolist(),
        close_bus.tolist(),
        started_hours.tolist(),
        strict=True,
    ):
        new = (ans, frc, frb) if has_a else (None, None, None)
        new += (clc, clb) if has_c else (None, None)
        stored = tuple(row[4:9])
        if hours:  # the hour recomputed, the channel and kind copied
            new += (hour, row[9], row[10])
            stored += tuple(row[11:14])
        if new != stored:
            changed.append((*new, org_id, row[0]))
    columns = ["first_response_at", "first_response_calendar_s", "first_response_business_s",
               "close_calendar_s", "close_business_s"]
    if hours:
        columns += ["started_hour", "counted_channel", "counted_kind"]
    _update_rows(conn, "conversation", columns, changed)


def _conversation_hours(conn: Connection, org: dict, timezone: str, where: _Where,
                        replace: bool = True) -> None:
    """Bring the scope's ``conversation.started_hour`` / ``counted_channel`` and the
    ``conversation_hour`` rollup up to date: the stored hours' counts subtracted
    (``replace=False``: the caller emptied the rollup), the hours recomputed from
    ``started_at`` and the channel copied, the new ones added, emptied rows deleted."""
    scope = f"organization_id = :org AND {where('id')}"

    commercial = "CASE WHEN counted_kind = 'COMMERCIAL' THEN 1 ELSE 0 END"

    def roll_up(sign: int) -> None:
        for channel, by in (("counted_channel", "counted_channel, "), (f"'{ALL_CHANNELS}'", "")):
            conn.execute(
                text(
                    "INSERT INTO conversation_hour (organization_id, channel, hour, conversations,"
                    " commercial)"
                    f" SELECT :org, {channel}, started_hour, {sign} * COUNT(*),"
                    f" {sign} * SUM({commercial}) FROM conversation"
                    f" WHERE {scope} AND started_hour IS NOT NULL"
                    f" GROUP BY {by}started_hour"
                    " ON CONFLICT (organization_id, channel, hour) DO UPDATE SET"
                    "  conversations = conversation_hour.conversations + excluded.conversations,"
                    "  commercial = conversation_hour.commercial + excluded.commercial"
                ),
                org,
            )

    if replace:
        roll_up(-1)
    lo, hi = conn.execute(
        text(f"SELECT MIN(started_at), MAX(started_at) FROM conversation WHERE {scope}"), org
    ).one()
    if lo is not None:
        hour = _local_hour_sql("started_at", timezone, int(lo), int(hi) + 1)
        conn.execute(
            text(
                f"UPDATE conversation SET started_hour = {hour}, counted_channel = channel,"
                " counted_kind = kind"
                f" WHERE {scope} AND (started_hour IS NULL OR started_hour <> {hour}"
                "  OR counted_channel IS NULL OR counted_channel <> channel"
                "  OR counted_kind IS NULL OR counted_kind <> kind)"
            ),
            org,
        )
    roll_up(1)
    if replace:
        conn.execute(
            text("DELETE FROM conversation_hour WHERE organization_id = :org"
                 " AND conversations = 0"),
            org,
        )


def _contact_facts(conn: Connection, org: dict, schedules: _Schedules, where: _Where):
    rows = conn.execute(
        text(
            "SELECT id, created_at, first_contact_at, first_contact_advisor_id,"
            " first_contact_calendar_s, first_contact_business_s"
            f" FROM contact WHERE organization_id = :org AND {where('id')}"
        ),
        org,
    ).all()
    if not rows:
        return
    firsts = _first_effective(conn, org, "contact_id", "contact", "created_at", where)
    none = (None, None)
    contacts = [firsts.get(row[0], none) for row in rows]
    created = _column(rows, 1)
    first, has_first = _column(contacts, 0), _present(contacts, 0)
    advisor = _column(contacts, 1)
    first = np.where(has_first, first, created)
    calendar = first - created
    business = schedules.business(advisor, created, first)
    changed = []
    org_id = org["org"]
    for row, contact, at, has, cal, bus in zip(
        rows, contacts, first.tolist(), has_first.tolist(), calendar.tolist(), business.tolist(),
        strict=True,
    ):
        new = (at, contact[1], cal, bus) if has else (None, None, None, None)
        if new != tuple(row[2:6]):
            changed.append((*new, org_id, row[0]))
    _update_rows(conn, "contact", [
        "first_contact_at", "first_contact_advisor_id", "first_contact_calendar_s",
        "first_contact_business_s",
    ], changed)


def _contact_days(conn: Connection, org: dict, timezone: str, where: _Where,
                  replace: bool = True) -> None:
    """Bring the scope's ``contact.created_day`` / ``deleted_day`` / ``first_*_bucket`` and
    the ``contact_day`` and ``first_response_bucket`` rollups up to date: the stored days' and
    buckets' counts subtracted (``replace=False``: the caller emptied the rollups), the days
    recomputed from ``created_at`` / ``deleted_at`` and the buckets from the first-response
    durations (after :func:`_contact_facts`), the new ones added."""
    scope = f"organization_id = :org AND {where('id')}"

    def roll_up(sign: int) -> None:
        for measure, bucket in ((0, "first_business_bucket"), (1, "first_calendar_bucket")):
            conn.execute(
                text(
                    "INSERT INTO first_response_bucket (organization_id, measure, created_day,"
                    " bucket, contacts)"
                    f" SELECT :org, {measure}, created_day, {bucket}, {sign} * COUNT(*)"
                    f" FROM contact WHERE {scope} AND created_day IS NOT NULL"
                    f" AND {bucket} IS NOT NULL GROUP BY created_day, {bucket}"
                    " ON CONFLICT (organization_id, measure, created_day, bucket) DO UPDATE SET"
                    "  contacts = first_response_bucket.contacts + excluded.contacts"
                ),
                org,
            )
        conn.execute(
            text(
                "INSERT INTO contact_day (organization_id, created_day, deleted_day, contacts)"
                f" SELECT :org, created_day, COALESCE(deleted_day, {NOT_DELETED}),"
                f" {sign} * COUNT(*) FROM contact WHERE {scope} AND created_day IS NOT NULL"
                f" GROUP BY created_day, COALESCE(deleted_day, {NOT_DELETED})"
                " ON CONFLICT (organization_id, created_day, deleted_day) DO UPDATE SET"
                "  contacts = contact_day.contacts + excluded.contacts"
            ),
            org,
        )

    if replace:
        roll_up(-1)
    lo, hi = conn.execute(
        text(
            "SELECT MIN(lo), MAX(hi) FROM ("
            " SELECT MIN(created_at) AS lo, MAX(created_at) AS hi"
            f" FROM contact WHERE {scope}"
            " UNION ALL SELECT MIN(deleted_at), MAX(deleted_at)"
            f" FROM contact WHERE {scope} AND deleted_at IS NOT NULL) spans"
        ),
        org,
    ).one()
    if lo is not None:
        created = _local_day_sql("created_at", timezone, int(lo), int(hi) + 1)
        deleted = _local_day_sql("deleted_at", timezone, int(lo), int(hi) + 1)
        new_deleted = f"CASE WHEN deleted_at IS NULL THEN NULL ELSE {deleted} END"
        business = duration_bucket_sql("first_contact_business_s")
        calendar = duration_bucket_sql("first_contact_calendar_s")
        unknown = -2  # no bucket is negative: NULL compared as a value
        conn.execute(
            text(
                f"UPDATE contact SET created_day = {created}, deleted_day = {new_deleted},"
                f" first_business_bucket = {business}, first_calendar_bucket = {calendar}"
                f" WHERE {scope} AND (created_day IS NULL OR created_day <> {created}"
                f"  OR COALESCE(deleted_day, {NOT_DELETED})"
                f"   <> COALESCE({new_deleted}, {NOT_DELETED})"
                f"  OR COALESCE(first_business_bucket, {unknown}) <> COALESCE({business}, {unknown})"
                f"  OR COALESCE(first_calendar_bucket, {unknown}) <> COALESCE({calendar}, {unknown}))"
            ),
            org,
        )
    roll_up(1)
    if replace:
        for table in ("contact_day", "first_response_bucket"):
            conn.execute(
                text(f"DELETE FROM {table} WHERE organization_id = :org AND contacts = 0"), org
            )


def _interactions(conn: Connection, org: dict, timezone: str, where: _Where,
                  replace: bool = True) -> None:
    """Rebuild the ``interaction`` rows of the contacts in scope from their effective messages
    and bring ``interaction_day`` along: the old rows' counts subtracted (``replace=False``: the
    caller emptied both tables), the new rows' added, the days left at zero deleted."""
    scope = f"organization_id = :org AND {where('contact_id')}"
    if replace:
        _roll_up_interactions(conn, org, scope, sign=-1)
        conn.execute(text(f"DELETE FROM interaction WHERE {scope}"), org)
    lo, hi = conn.execute(
        text(f"SELECT MIN(sent_at), MAX(sent_at) FROM message WHERE {scope} AND effective"), org
    ).one()
    if lo is not None:
        day = _local_day_sql("sent_at", timezone, int(lo), int(hi) + 1)
        conn.execute(
            text(
                "INSERT INTO interaction (organization_id, contact_id, day, advisor_id, channel)"
                f" SELECT DISTINCT :org, contact_id, {day}, COALESCE(advisor_id, {NO_ADVISOR}),"
                f" channel FROM message WHERE {scope} AND effective"
            ),
            org,
        )
        _roll_up_interactions(conn, org, scope, sign=1)
    if replace:
        conn.execute(
            text("DELETE FROM interaction_day WHERE organization_id = :org AND interactions = 0"),
            org,
        )


def _campaign_sends(conn: Connection, org: dict, timezone: str, where: _Where,
                    replace: bool = True) -> None:
    """Rebuild the ``campaign_send`` rows of the contacts in scope from their campaign messages
    (outbound, with a campaign), each with its local day and the contact's first commercial
    conversation started and first order placed at or after it, and bring ``campaign_gap``
    along: the old rows' cells subtracted (``replace=False``: the caller emptied both tables),
    the new ones' added. A funnel's conversion (SPEC 6.2: within the attribution window after a
    campaign message, and by asOf) is then a comparison on the row: the first event after the
    message is inside the window exactly when some event is."""
    _stash_campaign_cells(conn, org, where, sign=-1 if replace else 0)
    if replace:
        conn.execute(
            text("DELETE FROM campaign_send"
                 f" WHERE organization_id = :org AND {where('contact_id')}"),
            org,
        )
    sends = (
        f"organization_id = :org AND {where('contact_id')}"
        " AND campaign_id IS NOT NULL AND direction = 'OUTBOUND'"
    )
    lo, hi = conn.execute(
        text(f"SELECT MIN(sent_at), MAX(sent_at) FROM message WHERE {sends}"), org
    ).one()
    if lo is not None:
        day = _local_day_sql("m.sent_at", timezone, int(lo), int(hi) + 1)
        conn.execute(
            text(
                "INSERT INTO campaign_send (organization_id, message_id, contact_id, campaign_id,"
                " journey, channel, status, rank, sent_at, day, next_commercial_at,"
                f" next_order_at, next_event_at, {', '.join(CAMPAIGN_PREVIOUS_DAYS)})"
                " SELECT organization_id, id, contact_id, campaign_id, journey, channel, status,"
                "  rank, sent_at, day, next_commercial_at, next_order_at,"
                "  CASE WHEN next_order_at IS NULL OR next_commercial_at <= next_order_at"
                "   THEN COALESCE(next_commercial_at, next_order_at) ELSE next_order_at END,"
                # the contact's previous day with a send of rank r or beyond / of the journey
                + "".join(
                    f"  MAX(CASE WHEN rank >= {r} THEN day END) OVER earlier_days,"
                    for r in CAMPAIGN_RANKS
                )
                + "  MAX(day) OVER ("
                "   PARTITION BY contact_id, journey ORDER BY day"
                "   RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
                " FROM ("
                " SELECT :org AS organization_id, m.id, m.contact_id, m.campaign_id, k.journey,"
                f"  m.channel, m.status, {campaign_rank_sql('m.status')} AS rank, m.sent_at,"
                f"  {day} AS day,"
                "  (SELECT MIN(v.started_at) FROM conversation v WHERE v.organization_id = :org"
                "   AND v.contact_id = m.contact_id AND v.kind = 'COMMERCIAL'"
                "   AND v.started_at >= m.sent_at) AS next_commercial_at,"
                "  (SELECT MIN(o.ordered_at) FROM sales_order o WHERE o.organization_id = :org"
                "   AND o.contact_id = m.contact_id AND o.ordered_at >= m.sent_at)"
                "   AS next_order_at"
                " FROM message m JOIN campaign k"
                "  ON k.organization_id = m.organization_id AND k.id = m.campaign_id"
                f" WHERE m.organization_id = :org AND {where('m.contact_id')}"
                "  AND m.campaign_id IS NOT NULL AND m.direction = 'OUTBOUND') sends"
                " WINDOW earlier_days AS (PARTITION BY contact_id ORDER BY day"
                "  RANGE BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
            ),
            org,
        )
        _stash_campaign_cells(conn, org, where, sign=1)
    _roll_up_campaign_cells(conn, org, replace)


# The scope's campaign_gap cells: the replaced sends' negated, the new ones' added (a temporary
# table: per connection, emptied before each use)
_CAMPAIGN_CELLS = "tablero_campaign_cells"


def _stash_campaign_cells(conn: Connection, org: dict, where: _Where, sign: int) -> None:
    """The ``campaign_gap`` cells of the scope's ``campaign_send`` rows into
    :data:`_CAMPAIGN_CELLS`, times ``sign`` (0: only empty it). Each contact's distinct
    (channel and ``'*'``, track, day): the status ranks its sends reach and their campaigns'
    journeys, each with the gap since the contact's previous day of that track.

    Over every channel, the previous days are the sends' own (``prev_rank*_day``,
    ``prev_journey_day``); per channel, a window over the contact's (channel, day)s, each with
    the highest rank it reached, gives them (a day of rank r is a day of every track up to r)."""
    if sign <= 0:
        _empty_temp_table(conn, _CAMPAIGN_CELLS,
                          "channel TEXT, track TEXT, day INTEGER, gap INTEGER, n BIGINT")
        if sign == 0:
            return
    journey = (  # as stored on the send: what its cells counted, whatever the campaign says now
        f"CASE WHEN s.journey IS NULL THEN '{NO_JOURNEY_TRACK}'"
        f" ELSE '{JOURNEY_TRACK_PREFIX}' || s.journey END"
    )
    levels = CAMPAIGN_RANKS
    previous = ", ".join(f"s.prev_rank{r}_day AS p{r}" for r in levels)
    earlier = ("OVER (PARTITION BY contact_id, channel ORDER BY day"
               " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)")

    def gap(prev: str) -> str:
        return (f"CASE WHEN {prev} IS NULL OR day - {prev} >= {GAP_CAP} THEN {GAP_CAP}"
                f" ELSE day - {prev} END")

    arms = []
    for r in levels:
        only = f" WHERE r >= {r}" if r > 1 else ""
        arms.append(f"SELECT channel, '{r}' AS track, day, {gap(f'p{r}')} AS gap"
                    f" FROM channel_days{only}")
        arms.append(f"SELECT '{ALL_CHANNELS}', '{r}', day, {gap(f'p{r}')} FROM all_days{only}")
    arms.append(f"SELECT channel, jt, day, {gap('p')} FROM channel_journeys")
    arms.append(f"SELECT '{ALL_CHANNELS}', jt, day, {gap('p')} FROM all_journeys")
    conn.execute(
        text(
            "WITH scope_sends AS MATERIALIZED ("
            f" SELECT s.contact_id, s.channel, s.day, s.rank AS r, {journey} AS jt, {previous},"
            " s.prev_journey_day AS pj"
            f" FROM campaign_send s WHERE s.organization_id = :org AND {where('s.contact_id')}),"
            # per contact, channel and day: the highest rank reached, and the channel's
            # previous day with a send of each rank or beyond
            " channel_days AS (SELECT channel, day, r, "
            + ", ".join(f"MAX(CASE WHEN r >= {r} THEN day END) {earlier} AS p{r}"
                        for r in levels)
            + " FROM (SELECT contact_id, channel, day, MAX(r) AS r FROM scope_sends"
            "  GROUP BY contact_id, channel, day) d),"
            " all_days AS (SELECT day, MAX(r) AS r, "
            + ", ".join(f"MAX(p{r}) AS p{r}" for r in levels)
            + " FROM scope_sends GROUP BY contact_id, day),"
            " channel_journeys AS (SELECT channel, jt, day,"
            "  LAG(day) OVER (PARTITION BY contact_id, channel, jt ORDER BY day) AS p"
            "  FROM scope_sends GROUP BY contact_id, channel, jt, day),"
            " all_journeys AS (SELECT jt, day, MAX(pj) AS p FROM scope_sends"
            "  GROUP BY contact_id, jt, day)"
            f" INSERT INTO {_CAMPAIGN_CELLS} (channel, track, day, gap, n)"
            f" SELECT channel, track, day, gap, {sign} * COUNT(*)"
            f" FROM ({' UNION ALL '.join(arms)}) tracks"
            " WHERE TRUE GROUP BY channel, track, day, gap"
        ),
        org,
    )


def _roll_up_campaign_cells(conn: Connection, org: dict, replace: bool) -> None:
    """Net the stashed cells into ``campaign_gap``: only the cells that changed are written,
    and (``replace``) those left at zero deleted, found by the stashed keys."""
    key = "channel, track, day, gap"
    conn.execute(
        text(
            f"INSERT INTO campaign_gap (organization_id, {key}, contacts)"
            f" SELECT :org, {key}, SUM(n) FROM {_CAMPAIGN_CELLS}"
            f" GROUP BY {key} HAVING SUM(n) <> 0"
            f" ON CONFLICT (organization_id, {key}) DO UPDATE SET"
            "  contacts = campaign_gap.contacts + excluded.contacts"
        ),
        org,
    )
    if replace:
        conn.execute(
            text(
                f"DELETE FROM campaign_gap WHERE organization_id = :org AND ({key}) IN ("
                f" SELECT {key} FROM {_CAMPAIGN_CELLS} WHERE n < 0) AND contacts = 0"
            ),
            org,
        )


def _roll_up_interactions(conn: Connection, org: dict, scope: str, sign: int) -> None:
    """Add (``sign=1``) or subtract (``-1``) the scope's ``interaction`` rows to
    ``interaction_day``: per channel, and over every channel (each (advisor, contact) once a
    day)."""
    for channel, rows in (
        ("channel", f"SELECT channel, day FROM interaction WHERE {scope}"),
        (f"'{ALL_CHANNELS}'",
         f"SELECT DISTINCT day, contact_id, advisor_id FROM interaction WHERE {scope}"),
    ):
        by = "channel, day" if channel == "channel" else "day"
        conn.execute(
            text(
                "INSERT INTO interaction_day (organization_id, channel, day, interactions)"
                f" SELECT :org, {channel}, day, {sign} * COUNT(*) FROM ({rows}) t"
                f" WHERE TRUE GROUP BY {by}"
                " ON CONFLICT (organization_id, channel, day) DO UPDATE SET"
                "  interactions = interaction_day.interactions + excluded.interactions"
            ),
            org,
        )


def _local_seconds_sql(column: str, timezone: str, start_ts: int, end_ts: int) -> str:
    """SQL: ``column`` (UTC epoch seconds) shifted to local time in seconds, exact for instants
    in ``[start_ts, end_ts)`` (the zone's offset is a CASE over its transitions there)."""
    segments = offset_segments(timezone, start_ts, end_ts)
    if len(segments) == 1:
        return f"({column} + {segments[0][1]})"
    whens = " ".join(
        f"WHEN {column} < {nxt[0]} THEN {column} + {seg[1]}"
        for seg, nxt in zip(segments, segments[1:])
    )
    return f"(CASE {whens} ELSE {column} + {segments[-1][1]} END)"


def _local_hour_sql(column: str, timezone: str, start_ts: int, end_ts: int) -> str:
    """SQL: the local hour of ``column`` as hours since 1970-01-01 00:00 local (``day * 24 +
    hour``), exact for instants in ``[start_ts, end_ts)``."""
    return f"({_local_seconds_sql(column, timezone, start_ts, end_ts)} / 3600)"


def _local_day_sql(column: str, timezone: str, start_ts: int, end_ts: int) -> str:
    """SQL: the local date of ``column`` (UTC epoch seconds) as days since 1970-01-01, exact for
    instants in ``[start_ts, end_ts)``. Integer division: both databases truncate, and the
    instants are positive."""
    return f"({_local_seconds_sql(column, timezone, start_ts, end_ts)} / {DAY_SECONDS})"


def _contact_activity(conn: Connection, org: dict, timezone: str, where: _Where,
                      replace: bool = True, collect: bool = False) -> None:
    """Rebuild the ``contact_activity`` rows of the contacts in scope from their messages and
    conversations (``replace=False``: the caller already deleted them; ``collect``: a whole
    refresh, their ``activity_gap`` cells go to :data:`_COLLECTED_GAPS`, see
    :func:`_write_collected_gaps`)."""
    span = conn.execute(
        text(
            "SELECT MIN(lo), MAX(hi) FROM ("
            " SELECT MIN(sent_at) AS lo, MAX(sent_at) AS hi FROM message"
            f"  WHERE organization_id = :org AND {where('contact_id')}"
            " UNION ALL"
            " SELECT MIN(started_at), MAX(started_at) FROM conversation"
            f"  WHERE organization_id = :org AND {where('contact_id')}"
            ") spans"
        ),
        org,
    ).one()
    if replace:
        _stash_activity_cells(conn, org, where)
        conn.execute(
            text(
                "DELETE FROM contact_activity"
                f" WHERE organization_id = :org AND {where('contact_id')}"
            ),
            org,
        )
    if span[0] is None:
        if replace:
            _roll_up_activity(conn, org, where, replace)
        return
    start, end = int(span[0]), int(span[1]) + 1
    message_day = _local_day_sql("sent_at", timezone, start, end)
    conversation_day = _local_day_sql("started_at", timezone, start, end)
    # per channel, then the all-channels rows ('*'); each row gets the contact's previous day
    # (in its channel) with any activity, with outbound messages, with campaign sends
    counts = ", ".join(f"SUM({name}) AS {name}" for name in _COUNTED)
    conversation_counts = ", ".join(
        f"SUM(CASE WHEN {_COUNTED[name]} THEN 1 ELSE 0 END)" for name in CONVERSATION_DAY_COUNTS
    )
    per_channel = (
        f"SELECT day, contact_id, channel, {counts}"
        " FROM ("
        f"  SELECT {message_day} AS day, contact_id, channel, COUNT(*) AS messages,"
        "   SUM(CASE WHEN direction = 'OUTBOUND' THEN 1 ELSE 0 END) AS outbound,"
        "   SUM(CASE WHEN direction = 'OUTBOUND' AND campaign_id IS NOT NULL"
        "    THEN 1 ELSE 0 END) AS campaign,"
        f"   {', '.join(f'0 AS {name}' for name in CONVERSATION_DAY_COUNTS)}"
        "  FROM message"
        f"  WHERE organization_id = :org AND {where('contact_id')}"
        "  GROUP BY 1, contact_id, channel"
        "  UNION ALL"
        f"  SELECT {conversation_day}, contact_id, channel, 0, 0, 0, {conversation_counts}"
        "  FROM conversation"
        f"  WHERE organization_id = :org AND {where('contact_id')}"
        "  GROUP BY 1, contact_id, channel"
        " ) raw GROUP BY day, contact_id, channel"
    )
    sums = ", ".join(f"SUM({name})" for name in _COUNTED)
    names = ", ".join(_COUNTED)
    earlier = (
        "OVER (PARTITION BY a.contact_id, a.channel ORDER BY a.day"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    conn.execute(
        text(
            f"WITH per_channel AS ({per_channel})"
            f" INSERT INTO contact_activity (organization_id, channel, day, contact_id, {names},"
            " state, deleted, prev_day,"
            " prev_outbound_day, prev_campaign_day, prev_commercial_day, prev_support_day)"
            f" SELECT :org, a.channel, a.day, a.contact_id,"
            f"  {', '.join(f'a.{name}' for name in _COUNTED)}, k.state,"
            "  CASE WHEN k.deleted_at IS NULL THEN FALSE ELSE TRUE END,"
            f"  MAX(a.day) {earlier},"
            f"  MAX(CASE WHEN a.outbound > 0 THEN a.day END) {earlier},"
            f"  MAX(CASE WHEN a.campaign > 0 THEN a.day END) {earlier},"
            f"  MAX(CASE WHEN a.commercial > 0 THEN a.day END) {earlier},"
            f"  MAX(CASE WHEN a.support > 0 THEN a.day END) {earlier}"
            " FROM ("
            "  SELECT * FROM per_channel"
            "  UNION ALL"
            f"  SELECT day, contact_id, '*', {sums} FROM per_channel"
            "  GROUP BY day, contact_id"
            " ) a JOIN contact k ON k.organization_id = :org AND k.id = a.contact_id"
        ),
        org,
    )
    _roll_up_activity(conn, org, where, replace, collect)


# contact_activity's counts: messages (any), outbound, campaign sends; conversations started
# (the SQL condition on the conversation row of each of CONVERSATION_DAY_COUNTS)
_COUNTED = {
    "messages": None,
    "outbound": None,
    "campaign": None,
    "commercial": "kind = 'COMMERCIAL'",
    "support": "kind = 'SUPPORT'",
    "positive": "sentiment = 'POSITIVE'",
    "neutral": "sentiment = 'NEUTRAL'",
    "negative": "sentiment = 'NEGATIVE'",
    "support_new": "kind = 'SUPPORT' AND status = 'NEW'",
    "support_waiting": "kind = 'SUPPORT' AND status = 'WAITING'",
    "support_in_progress": "kind = 'SUPPORT' AND status = 'IN_PROGRESS'",
}
assert list(_COUNTED)[3:] == list(CONVERSATION_DAY_COUNTS)


_SCOPE_ROWS = "scope_activity"


def _scope_rows(where: _Where) -> str:
    """SQL: a ``WITH`` of the scope's ``contact_activity`` rows, read once for the arms of
    :func:`_gap_rows` (MATERIALIZED: PostgreSQL would otherwise inline it into each)."""
    columns = ("channel, day, state, deleted, messages, outbound, campaign, commercial, support,"
               " prev_day, prev_outbound_day, prev_campaign_day, prev_commercial_day,"
               " prev_support_day")
    return (
        f"WITH {_SCOPE_ROWS} AS MATERIALIZED (SELECT {columns} FROM contact_activity"
        f" WHERE organization_id = :org AND {where('contact_id')}) "
    )


def _gap_rows() -> str:
    """SQL: the ``activity_gap`` cells of the rows of :func:`_scope_rows`, one row per contact
    row and measure it has (and per state for ``activity``): ``channel, measure, st, day, gap,
    live, amount``."""
    live = "CASE WHEN deleted THEN 0 ELSE 1 END"
    arms = []
    for number, name in enumerate(ACTIVITY_MEASURES):
        previous = "prev_day" if name == "activity" else f"prev_{name}_day"
        amount = "messages" if name == "activity" else name
        gap = (f"CASE WHEN {previous} IS NULL OR day - {previous} >= {GAP_CAP} THEN {GAP_CAP}"
               f" ELSE day - {previous} END")
        only = "" if name == "activity" else f" WHERE {name} > 0"
        states = [(number, f"'{ALL_STATES}'")]
        if name == "activity":
            states.append((BY_STATE, "COALESCE(state, '')"))
        for measure, state in states:
            arms.append(
                f"SELECT channel, {measure} AS measure, {state} AS st, day, {gap} AS gap,"
                f" {live} AS live, {amount} AS amount FROM {_SCOPE_ROWS}{only}"
            )
    return " UNION ALL ".join(arms)


# The scope's old activity_gap / conversation_day cells, negated, kept while its contact_activity
# rows are rebuilt (temporary tables: per connection, emptied before each use)
_OLD_GAPS = "tablero_old_gaps"
_OLD_DAYS = "tablero_old_conversation_days"
# A whole refresh's activity_gap cells, range after range, written once at its end: upserting
# each range's cells into the rollup updated most cells five times over (medium set) and, on
# PostgreSQL, wrote a new row version each time (14 of the 18 s of a range's rollup)
_COLLECTED_GAPS = "tablero_collected_gaps"
_GAP_KEY = "channel, measure, day, gap, state"
_GAP_CELLS = (
    "SELECT channel, measure, day, gap, st AS state, COUNT(*) AS contacts, SUM(live) AS live,"
    " SUM(amount) AS amount FROM ({arms}) g GROUP BY channel, measure, day, gap, st"
)
_DAY_CELLS = (
    f"SELECT channel, day, {', '.join(f'SUM({n}) AS {n}' for n in CONVERSATION_DAY_COUNTS)}"
    " FROM contact_activity WHERE organization_id = :org AND {scope}"
    " AND commercial + support > 0 GROUP BY channel, day"
)


def _stash_activity_cells(conn: Connection, org: dict, where: _Where) -> None:
    """Before the scope's ``contact_activity`` rows are replaced: their rollup cells, negated,
    into the temporary tables :func:`_roll_up_activity` nets against the new rows' cells."""
    counts = ", ".join(f"{n} BIGINT" for n in CONVERSATION_DAY_COUNTS)
    for table, columns in (
        (_OLD_GAPS, "channel TEXT, measure INTEGER, day INTEGER, gap INTEGER, state TEXT,"
                    " contacts BIGINT, live BIGINT, amount BIGINT"),
        (_OLD_DAYS, f"channel TEXT, day INTEGER, {counts}"),
    ):
        _empty_temp_table(conn, table, columns)
    conn.execute(
        text(
            _scope_rows(where)
            + f"INSERT INTO {_OLD_GAPS} SELECT channel, measure, day, gap, state, -contacts,"
            f" -live, -amount FROM ({_GAP_CELLS.format(arms=_gap_rows())}) cells"
        ),
        org,
    )
    negated = ", ".join(f"-{n}" for n in CONVERSATION_DAY_COUNTS)
    conn.execute(
        text(
            f"INSERT INTO {_OLD_DAYS} SELECT channel, day, {negated}"
            f" FROM ({_DAY_CELLS.format(scope=where('contact_id'))}) cells"
        ),
        org,
    )
    if conn.dialect.name == "postgresql":  # its size, for the plans that probe by its keys
        for table in (_OLD_GAPS, _OLD_DAYS):
            conn.execute(text(f"ANALYZE {table}"))


def _collect_gaps(conn: Connection) -> None:
    """Start collecting a whole refresh's ``activity_gap`` cells (:data:`_COLLECTED_GAPS`)."""
    _empty_temp_table(conn, _COLLECTED_GAPS,
                      "channel TEXT, measure INTEGER, day INTEGER, gap INTEGER, state TEXT,"
                      " contacts BIGINT, live BIGINT, amount BIGINT")


def _write_collected_gaps(conn: Connection, org: dict) -> None:
    """The collected cells, summed per cell, into the (emptied) ``activity_gap``."""
    conn.execute(
        text(
            f"INSERT INTO activity_gap (organization_id, {_GAP_KEY}, contacts, live, amount)"
            f" SELECT :org, {_GAP_KEY}, SUM(contacts), SUM(live), SUM(amount)"
            f" FROM {_COLLECTED_GAPS} GROUP BY {_GAP_KEY}"
        ),
        org,
    )
    conn.execute(text(f"DELETE FROM {_COLLECTED_GAPS}"))


def _roll_up_activity(conn: Connection, org: dict, where: _Where, replace: bool,
                      collect: bool = False) -> None:
    """Add the scope's (new) ``contact_activity`` rows to ``activity_gap`` and
    ``conversation_day``. With ``replace``, netted against the stashed old cells
    (:func:`_stash_activity_cells`) first: only the cells that changed are written, and those
    left at zero deleted (found by the stashed keys: primary-key probes, not a scan). With
    ``collect`` (a whole refresh, nothing to net), the ``activity_gap`` cells are appended to
    :data:`_COLLECTED_GAPS` instead, written once at the end."""
    new_gaps = _GAP_CELLS.format(arms=_gap_rows())
    if collect:
        conn.execute(
            text(_scope_rows(where) + f"INSERT INTO {_COLLECTED_GAPS} ({_GAP_KEY}, contacts,"
                 f" live, amount) SELECT {_GAP_KEY}, contacts, live, amount FROM ({new_gaps})"
                 " cells"),
            org,
        )
        new_gaps = None
    elif replace:
        new_gaps = (
            f"SELECT {_GAP_KEY}, SUM(contacts) AS contacts, SUM(live) AS live,"
            f" SUM(amount) AS amount FROM ({new_gaps} UNION ALL SELECT * FROM {_OLD_GAPS}) d"
            f" GROUP BY {_GAP_KEY}"
            " HAVING SUM(contacts) <> 0 OR SUM(live) <> 0 OR SUM(amount) <> 0"
        )
    if new_gaps is not None:
        conn.execute(
            text(
                _scope_rows(where)
                + f"INSERT INTO activity_gap (organization_id, {_GAP_KEY}, contacts, live, amount)"
                f" SELECT :org, {_GAP_KEY}, contacts, live, amount FROM ({new_gaps}) cells"
                " WHERE true"  # (SQLite: an upsert's SELECT needs a WHERE to parse ON CONFLICT)
                f" ON CONFLICT (organization_id, {_GAP_KEY}) DO UPDATE SET"
                "  contacts = activity_gap.contacts + excluded.contacts,"
                "  live = activity_gap.live + excluded.live,"
                "  amount = activity_gap.amount + excluded.amount"
            ),
            org,
        )
    columns = ", ".join(CONVERSATION_DAY_COUNTS)
    new_days = _DAY_CELLS.format(scope=where("contact_id"))
    if replace:
        new_days = (
            f"SELECT channel, day, {', '.join(f'SUM({n}) AS {n}' for n in CONVERSATION_DAY_COUNTS)}"
            f" FROM ({new_days} UNION ALL SELECT * FROM {_OLD_DAYS}) d GROUP BY channel, day"
            f" HAVING {' OR '.join(f'SUM({n}) <> 0' for n in CONVERSATION_DAY_COUNTS)}"
        )
    conn.execute(
        text(
            f"INSERT INTO conversation_day (organization_id, channel, day, {columns})"
            f" SELECT :org, channel, day, {columns} FROM ({new_days}) cells WHERE true"
            " ON CONFLICT (organization_id, channel, day) DO UPDATE SET "
            + ", ".join(f"{n} = conversation_day.{n} + excluded.{n}"
                        for n in CONVERSATION_DAY_COUNTS)
        ),
        org,
    )
    if not replace:
        return
    conn.execute(
        text(
            "DELETE FROM activity_gap WHERE organization_id = :org AND contacts = 0"
            f" AND ({_GAP_KEY}) IN (SELECT {_GAP_KEY} FROM {_OLD_GAPS})"
        ),
        org,
    )
    conn.execute(
        text(
            "DELETE FROM conversation_day WHERE organization_id = :org"
            " AND commercial = 0 AND support = 0"
            f" AND (channel, day) IN (SELECT channel, day FROM {_OLD_DAYS})"
        ),
        org,
    )


def _customer_orders(conn: Connection, org: dict, timezone: str, where: _Where,
                     replace: bool = True) -> None:
    """Rebuild the ``customer_orders`` and ``order_day`` rows of the contacts in scope from
    their orders, and bring the ``customer_cell``, ``order_day_total`` and ``buyer_day`` rollups
    along: the replaced rows' sums are subtracted, the new rows' added (``replace=False``: the
    caller already emptied all five tables)."""
    if replace:
        _roll_up_order_days(conn, org, where, sign=-1)
        for table in ("order_day", "customer_orders"):
            conn.execute(
                text(f"DELETE FROM {table} WHERE organization_id = :org AND {where('contact_id')}"),
                org,
            )
    lo, hi = conn.execute(
        text(
            "SELECT MIN(ordered_at), MAX(ordered_at) FROM sales_order"
            f" WHERE organization_id = :org AND {where('contact_id')}"
        ),
        org,
    ).one()
    if lo is None:
        if replace:
            _drop_empty_rollups(conn, org)
        return
    day = _local_day_sql("ordered_at", timezone, int(lo), int(hi) + 1)
    last_day = _local_day_sql("MAX(ordered_at)", timezone, int(lo), int(hi) + 1)
    conn.execute(
        text(
            "INSERT INTO order_day (organization_id, contact_id, day, currency, orders, revenue_e4,"
            " next_day, first_currency)"
            " SELECT :org, d.contact_id, d.day, d.currency, d.orders, d.revenue_e4,"
            f"  COALESCE(n.next_day, {NO_NEXT_DAY}), d.currency = n.lead_currency"
            " FROM ("
            f"  SELECT contact_id, {day} AS day, currency, COUNT(*) AS orders,"
            "   SUM(amount_e4) AS revenue_e4 FROM sales_order"
            f"  WHERE organization_id = :org AND {where('contact_id')}"
            f"  GROUP BY contact_id, {day}, currency"
            " ) d JOIN ("
            f"  SELECT contact_id, {day} AS day, MIN(currency) AS lead_currency,"
            f"   LEAD({day}) OVER (PARTITION BY contact_id ORDER BY {day}) AS next_day"
            "  FROM sales_order"
            f"  WHERE organization_id = :org AND {where('contact_id')}"
            f"  GROUP BY contact_id, {day}"
            " ) n ON n.contact_id = d.contact_id AND n.day = d.day"
        ),
        org,
    )
    conn.execute(
        text(
            "INSERT INTO customer_orders (organization_id, contact_id, frequency, last_order_at,"
            " last_day, total_e4, currency, other_currency, deleted)"
            " SELECT :org, o.contact_id, o.frequency, o.last_order_at, o.last_day, o.total_e4,"
            "  o.currency, o.other_currency, k.deleted_at IS NOT NULL"
            " FROM ("
            "  SELECT contact_id, COUNT(*) AS frequency, MAX(ordered_at) AS last_order_at,"
            f"   {last_day} AS last_day, SUM(amount_e4) AS total_e4, MIN(currency) AS currency,"
            "   MAX(currency) AS other_currency FROM sales_order"
            f"  WHERE organization_id = :org AND {where('contact_id')} GROUP BY contact_id"
            " ) o JOIN contact k ON k.organization_id = :org AND k.id = o.contact_id"
        ),
        org,
    )
    _roll_up_order_days(conn, org, where, sign=1)
    if replace:
        _drop_empty_rollups(conn, org)


def _roll_up_order_days(conn: Connection, org: dict, where: _Where, sign: int) -> None:
    """Add (``sign=1``) or subtract (``-1``) the scope's ``order_day`` and ``customer_orders``
    rows to the rollups."""
    conn.execute(
        text(
            "INSERT INTO customer_cell (organization_id, last_day, frequency, currency, contacts,"
            " orders, revenue_e4)"
            f" SELECT :org, last_day, frequency, currency, {sign} * COUNT(*),"
            f"  {sign} * SUM(frequency), {sign} * SUM(total_e4)"
            f" FROM customer_orders WHERE organization_id = :org AND {where('contact_id')}"
            "  AND NOT deleted AND currency = other_currency"
            " GROUP BY last_day, frequency, currency"
            " ON CONFLICT (organization_id, last_day, frequency, currency) DO UPDATE SET"
            "  contacts = customer_cell.contacts + excluded.contacts,"
            "  orders = customer_cell.orders + excluded.orders,"
            "  revenue_e4 = customer_cell.revenue_e4 + excluded.revenue_e4"
        ),
        org,
    )
    conn.execute(
        text(
            "INSERT INTO order_day_total (organization_id, day, currency, orders, revenue_e4)"
            f" SELECT :org, day, currency, {sign} * SUM(orders), {sign} * SUM(revenue_e4)"
            f" FROM order_day WHERE organization_id = :org AND {where('contact_id')}"
            " GROUP BY day, currency"
            " ON CONFLICT (organization_id, day, currency) DO UPDATE SET"
            "  orders = order_day_total.orders + excluded.orders,"
            "  revenue_e4 = order_day_total.revenue_e4 + excluded.revenue_e4"
        ),
        org,
    )
    conn.execute(
        text(
            "INSERT INTO buyer_day (organization_id, day, next_day, buyers)"
            f" SELECT :org, day, next_day, {sign} * COUNT(*)"
            f" FROM order_day WHERE organization_id = :org AND {where('contact_id')} AND first_currency"
            " GROUP BY day, next_day"
            " ON CONFLICT (organization_id, day, next_day) DO UPDATE SET"
            "  buyers = buyer_day.buyers + excluded.buyers"
        ),
        org,
    )


def _drop_empty_rollups(conn: Connection, org: dict) -> None:
    conn.execute(text("DELETE FROM customer_cell WHERE organization_id = :org AND contacts = 0"), org)
    conn.execute(
        text("DELETE FROM order_day_total WHERE organization_id = :org AND orders = 0"), org
    )
    conn.execute(text("DELETE FROM buyer_day WHERE organization_id = :org AND buyers = 0"), org)


# The resolution table's row of a closed conversation: 0 (Assignments) when transferred, else its
# closing reason; NULL (no row) with neither.
ROW_KEY_SQL = "CASE WHEN v.transferred_to_id IS NOT NULL THEN 0 ELSE v.closing_reason_id END"
CLOSE_TABLES = ("close_fact", "reason_close_day", "reason_close_bucket")


def _close_facts(conn: Connection, org: dict, timezone: str, where: _Where,
                 replace: bool = True) -> None:
    """Rebuild the ``close_fact`` rows of the contacts in scope from their conversations (after
    :func:`_conversation_facts`: the buckets are of the stored times to close) and bring the
    ``reason_close_day`` / ``reason_close_bucket`` rollups along: the replaced rows' counts are
    subtracted, the new rows' added (``replace=False``: the caller already emptied all three)."""
    _first_closed(conn, org, where)
    _close_fact_rows(conn, org, timezone, where, replace)


def _first_closed(conn: Connection, org: dict, where: _Where) -> None:
    """``contact.first_closed_at`` of the contacts in scope: when their first conversation
    closed (the origins table's "closed"): transferred, or a reason whose stored ``closes`` is
    true."""
    first_closed = (
        "(SELECT MIN(v.closed_at) FROM conversation v LEFT JOIN closing_reason r"
        "  ON r.organization_id = v.organization_id AND r.id = v.closing_reason_id"
        " WHERE v.organization_id = contact.organization_id AND v.contact_id = contact.id"
        "  AND v.closed_at IS NOT NULL AND (v.transferred_to_id IS NOT NULL OR r.closes))"
    )
    conn.execute(
        text(
            f"UPDATE contact SET first_closed_at = {first_closed}"
            f" WHERE organization_id = :org AND {where('id')}"
            f" AND COALESCE(first_closed_at, -1) <> COALESCE({first_closed}, -1)"
        ),
        org,
    )


def _close_fact_rows(conn: Connection, org: dict, timezone: str, where: _Where,
                     replace: bool = True) -> None:
    """:func:`_close_facts` without ``contact.first_closed_at`` (:func:`_first_closed`): the
    ``close_fact`` rows and their two rollups, which write no contact row."""
    _stash_close_cells(conn, org, where, sign=-1 if replace else 0)
    if replace:
        conn.execute(
            text(f"DELETE FROM close_fact WHERE organization_id = :org AND {where('contact_id')}"),
            org,
        )
    closed = (
        f"v.organization_id = :org AND {where('v.contact_id')} AND v.closed_at IS NOT NULL"
        " AND (v.transferred_to_id IS NOT NULL OR v.closing_reason_id IS NOT NULL)"
    )
    lo, hi = conn.execute(
        text(f"SELECT MIN(v.closed_at), MAX(v.closed_at) FROM conversation v WHERE {closed}"), org
    ).one()
    if lo is None:
        _roll_up_closes(conn, org, replace)
        return
    day = _local_day_sql("v.closed_at", timezone, int(lo), int(hi) + 1)
    conn.execute(
        text(
            "INSERT INTO close_fact (organization_id, conversation_id, contact_id, row_key, day,"
            " prev_day, prev_closed_day, close_business_s, close_calendar_s, business_bucket,"
            " calendar_bucket)"
            " SELECT :org, id, contact_id, row_key, day,"
            f"  COALESCE(LAG(day) OVER (PARTITION BY contact_id, row_key ORDER BY closed_at, id),"
            f"   {NO_PREVIOUS_DAY}),"
            "  CASE WHEN closing = 1 THEN COALESCE(LAG(day) OVER"
            f"   (PARTITION BY contact_id, closing ORDER BY closed_at, id), {NO_PREVIOUS_DAY}) END,"
            "  close_business_s, close_calendar_s,"
            f"  {duration_bucket_sql('close_business_s')}, {duration_bucket_sql('close_calendar_s')}"
            " FROM ("
            f"  SELECT v.id, v.contact_id, {ROW_KEY_SQL} AS row_key, {day} AS day, v.closed_at,"
            "   v.close_business_s, v.close_calendar_s,"
            "   CASE WHEN v.transferred_to_id IS NOT NULL OR r.closes THEN 1 ELSE 0 END AS closing"
            "  FROM conversation v LEFT JOIN closing_reason r"
            "   ON r.organization_id = v.organization_id AND r.id = v.closing_reason_id"
            f"  WHERE {closed}"
            " ) c"
        ),
        org,
    )
    _stash_close_cells(conn, org, where, sign=1)
    _roll_up_closes(conn, org, replace)


# The scope's close_fact rows counted per rollup cell: the replaced rows negated, the new ones
# added (a temporary table: per connection, emptied before each use)
_CLOSE_CELLS = "tablero_close_cells"
_CLOSE_KEYS = "day, row_key, prev_day, prev_closed_day, business_bucket, calendar_bucket"


def _stash_close_cells(conn: Connection, org: dict, where: _Where, sign: int) -> None:
    """Count the scope's ``close_fact`` rows per cell of the three rollups into
    :data:`_CLOSE_CELLS`, times ``sign``: -1 before they are replaced, 1 once the new ones are
    in; 0 only empties the table (a whole refresh: nothing to subtract)."""
    if sign <= 0:
        _empty_temp_table(conn, _CLOSE_CELLS,
                          "day INTEGER, row_key INTEGER, prev_day INTEGER, prev_closed_day INTEGER,"
                          " business_bucket INTEGER, calendar_bucket INTEGER, n BIGINT")
        if sign == 0:
            return
    conn.execute(
        text(
            f"INSERT INTO {_CLOSE_CELLS} ({_CLOSE_KEYS}, n)"
            f" SELECT {_CLOSE_KEYS}, {sign} * COUNT(*) FROM close_fact"
            f" WHERE organization_id = :org AND {where('contact_id')} GROUP BY {_CLOSE_KEYS}"
        ),
        org,
    )


def _roll_up_closes(conn: Connection, org: dict, replace: bool) -> None:
    """Net the stashed cells (:func:`_stash_close_cells`) into ``reason_close_day`` (its rows,
    and the closed row counted by ``prev_closed_day``) and ``reason_close_bucket``: only the
    cells that changed are written, and (``replace``) those left at zero deleted, found by the
    stashed keys (a primary-key probe each)."""
    cells = _CLOSE_CELLS
    for table, columns, keys, picked in (
        ("reason_close_day", "day, row_key, prev_day", "day, row_key, prev_day", "TRUE"),
        ("reason_close_day", "day, row_key, prev_day",
         f"day, {CLOSED_ROW_KEY}, prev_closed_day", "prev_closed_day IS NOT NULL"),
        ("reason_close_bucket", "measure, day, row_key, bucket",
         "0, day, row_key, business_bucket", "business_bucket IS NOT NULL"),
        ("reason_close_bucket", "measure, day, row_key, bucket",
         "1, day, row_key, calendar_bucket", "calendar_bucket IS NOT NULL"),
    ):
        grouped = ", ".join(k for k in keys.split(", ") if not k.lstrip("-").isdigit())
        conn.execute(
            text(
                f"INSERT INTO {table} (organization_id, {columns}, conversations)"
                f" SELECT :org, {keys}, SUM(n) FROM {cells} WHERE {picked}"
                f" GROUP BY {grouped} HAVING SUM(n) <> 0"
                f" ON CONFLICT (organization_id, {columns}) DO UPDATE SET"
                f"  conversations = {table}.conversations + excluded.conversations"
            ),
            org,
        )
        if replace:
            conn.execute(
                text(
                    f"DELETE FROM {table} WHERE organization_id = :org AND ({columns}) IN ("
                    f" SELECT {keys} FROM {cells} WHERE n < 0 AND {picked})"
                    " AND conversations = 0"
                ),
                org,
            )


def _by_conversation_and_answer(row: tuple) -> tuple:
    return row[0], row[5], row[6]  # conversation, answered_at, answering message id


def _intervals(conn: Connection, org: dict, schedules: _Schedules, where: _Where,
               replace: bool = True) -> None:
    """Rebuild the ``response_interval`` rows of the conversations in scope, with their local
    day and duration buckets, and bring the ``response_bucket`` histogram along: the replaced
    rows' counts are subtracted, the new rows' added (``replace=False``: the caller emptied the
    histogram)."""
    # g = effective messages strictly before a message (in sent_at, id order). The messages
    # sharing (conversation, g) are: the contact messages of one wait and, last, the effective
    # message that answers it, whose own count-before is g. So each effective message with a
    # contact message in its group closes one interval, asked at the group's first contact
    # message. No join: two window passes.
    rows = conn.execute(
        text(
            "SELECT cid, contact_id, advisor_id, channel, asked_at, sent_at, id FROM ("
            " SELECT cid, id, contact_id, advisor_id, channel, sent_at, effective,"
            "  MIN(CASE WHEN asks = 1 THEN sent_at END) OVER (PARTITION BY cid, g) AS asked_at"
            " FROM ("
            "  SELECT conversation_id AS cid, id, contact_id, advisor_id, channel, sent_at,"
            "   effective,"
            "   CASE WHEN direction = 'INBOUND' AND sender = 'CONTACT' THEN 1 ELSE 0 END AS asks,"
            "   SUM(CASE WHEN effective THEN 1 ELSE 0 END) OVER ("
            "    PARTITION BY conversation_id ORDER BY sent_at, id ROWS UNBOUNDED PRECEDING"
            "   ) - CASE WHEN effective THEN 1 ELSE 0 END AS g"
            "  FROM message"
            f"  WHERE organization_id = :org AND {where('conversation_id')}"
            " ) counted"
            ") grouped WHERE effective AND asked_at IS NOT NULL"
        ),
        org,
    ).all()
    rows.sort(key=_by_conversation_and_answer)  # cheaper here than an ORDER BY
    _stash_interval_cells(conn, org, where, sign=-1 if replace else 0)
    conn.execute(
        text(
            "DELETE FROM response_interval"
            f" WHERE organization_id = :org AND {where('conversation_id')}"
        ),
        org,
    )
    if not rows:
        _roll_up_intervals(conn, org, replace)
        return
    advisors = _column(rows, 2)
    asked = _column(rows, 4)
    answered = _column(rows, 5)
    business = schedules.business(advisors, asked, answered)
    days = _local_days(answered, schedules.timezone).tolist()
    business_buckets = duration_buckets(business).tolist()
    calendar_buckets = duration_buckets(answered - asked).tolist()
    business = business.tolist()
    org_id = org["org"]
    out = []
    seq = 0
    previous = None
    for row, bus, day, bus_bucket, cal_bucket in zip(
        rows, business, days, business_buckets, calendar_buckets, strict=True
    ):
        cid = row[0]
        seq = seq + 1 if cid == previous else 1
        previous = cid
        out.append((org_id, cid, seq, row[1], row[2], row[3], row[4], row[5], row[5] - row[4],
                    bus, day, bus_bucket, cal_bucket))
    _insert_rows(conn, ResponseInterval.__tablename__, _INTERVAL_COLUMNS, out)
    _stash_interval_cells(conn, org, where, sign=1)
    _roll_up_intervals(conn, org, replace)


def _local_seconds(instants: np.ndarray, timezone: str) -> np.ndarray:
    """UTC epoch seconds shifted to local time (as :func:`_local_seconds_sql` in SQL)."""
    if not len(instants):
        return instants
    segments = offset_segments(timezone, int(instants.min()), int(instants.max()) + 1)
    starts = np.array([start for start, _ in segments], dtype=np.int64)
    offsets = np.array([offset for _, offset in segments], dtype=np.int64)
    at = np.maximum(np.searchsorted(starts, instants, side="right") - 1, 0)
    return instants + offsets[at]


def _local_days(instants: np.ndarray, timezone: str) -> np.ndarray:
    """The local dates of UTC epoch seconds as days since 1970-01-01 (as
    :func:`_local_day_sql` computes them in SQL)."""
    return _local_seconds(instants, timezone) // DAY_SECONDS


# The scope's response_interval rows counted per histogram cell: the replaced rows negated,
# the new ones added (a temporary table: per connection, emptied before each use)
_INTERVAL_CELLS = "tablero_interval_cells"


def _stash_interval_cells(conn: Connection, org: dict, where: _Where, sign: int) -> None:
    """Count the scope's ``response_interval`` rows per (day, channel, business bucket, calendar
    bucket) into :data:`_INTERVAL_CELLS`, times ``sign``: -1 before they are replaced, 1 once
    the new ones are in; 0 only empties the table (a whole refresh: nothing to subtract)."""
    if sign <= 0:
        _empty_temp_table(conn, _INTERVAL_CELLS,
                          "day INTEGER, channel TEXT, business_bucket INTEGER,"
                          " calendar_bucket INTEGER, n BIGINT")
        if sign == 0:
            return
    conn.execute(
        text(
            f"INSERT INTO {_INTERVAL_CELLS} (day, channel, business_bucket, calendar_bucket, n)"
            f" SELECT day, channel, business_bucket, calendar_bucket, {sign} * COUNT(*)"
            f" FROM response_interval WHERE organization_id = :org"
            f" AND {where('conversation_id')}"
            " GROUP BY day, channel, business_bucket, calendar_bucket"
        ),
        org,
    )


def _roll_up_intervals(conn: Connection, org: dict, replace: bool) -> None:
    """Net the stashed cells (:func:`_stash_interval_cells`: the replaced rows negated, the new
    ones added) into the ``response_bucket`` histogram, per channel and for all channels
    (``'*'``): only the cells that changed are written, and (``replace``) those left at zero
    deleted, found by the stashed keys (a primary-key probe each)."""
    for measure, column in ((0, "business_bucket"), (1, "calendar_bucket")):
        for channel, by in (("channel", "channel, "), (f"'{ALL_CHANNELS}'", "")):
            conn.execute(
                text(
                    "INSERT INTO response_bucket (organization_id, measure, day, channel, bucket,"
                    " answers)"
                    f" SELECT :org, {measure}, day, {channel}, {column}, SUM(n)"
                    f" FROM {_INTERVAL_CELLS} WHERE {column} IS NOT NULL"
                    f" GROUP BY day, {by}{column} HAVING SUM(n) <> 0"
                    " ON CONFLICT (organization_id, measure, day, channel, bucket) DO UPDATE SET"
                    "  answers = response_bucket.answers + excluded.answers"
                ),
                org,
            )
            if replace:
                conn.execute(
                    text(
                        "DELETE FROM response_bucket WHERE organization_id = :org"
                        f" AND measure = {measure} AND (day, channel, bucket) IN ("
                        f" SELECT day, {channel}, {column} FROM {_INTERVAL_CELLS}"
                        f" WHERE n < 0) AND answers = 0"
                    ),
                    org,
                )


_INTERVAL_COLUMNS = [
    "organization_id", "conversation_id", "seq", "contact_id", "advisor_id", "channel",
    "asked_at", "answered_at", "calendar_s", "business_s", "day", "business_bucket",
    "calendar_bucket",
]

__all__ = [
    "DEFAULT_HOLIDAY_COUNTRY",
    "EFFECTIVE_SQL",
    "copy_rows",
    "is_effective",
    "plan_for_cached_pages",
    "refresh",
    "staged",
]
