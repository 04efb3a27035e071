"""The core's activity figures read the activity gaps (or, switched off, the contact activity
facts) for whole days and the raw rows for a day cut short by asOf; with an advisor filter (which
neither can apply) they read the raw rows for the whole range. Each path must give the numbers a
person counts below.

São Paulo (UTC-3). asOf is 2026-11-25 12:00: the window is Oct 27 .. Nov 25, today cut at noon.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, text
import tablero.activity as activity
from tablero import (
    ReportFilters,
    active_contacts,
    attention_contacts,
    interacting_geography,
    sends_series,
    trailing_days,
)
from tablero.ingest import ingest_lines
from tablero.models import GAP_CAP
from tablero.periods import DateRange, Period, PeriodPreset

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=SAO_PAULO)


def at(local: str) -> str:
    return local.replace(" ", "T") + ":00-03:00"


def message(mid: str, contact: str, sent: str, **fields) -> dict:
    return {"type": "message", "id": mid, "contact": contact, "channel": "WHATSAPP",
            "direction": "OUTBOUND", "sender": "ADVISOR", "advisor": "ana",
            "sent_at": at(sent), **fields}


RECORDS = [
    {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
    {"type": "user", "id": "bia", "name": "Bia", "profile": "AGENT"},
    {"type": "contact", "id": "sp", "phone": "+5511999990001", "created_at": at("2026-10-01 10:00")},
    {"type": "contact", "id": "rj", "phone": "+5521999990002", "created_at": at("2026-10-01 10:00")},
    {"type": "contact", "id": "gone", "phone": "+5531999990003", "created_at": at("2026-10-01 10:00"),
     "deleted_at": at("2026-11-20 10:00")},
    message("m1", "sp", "2026-11-10 09:00"),  # a whole day: from the facts
    message("m2", "sp", "2026-11-10 15:00"),  # same contact, same day
    message("m3", "rj", "2026-11-25 08:00"),  # today before asOf: from the raw rows
    message("m4", "rj", "2026-11-25 18:00"),  # today after asOf: not counted
    message("m5", "gone", "2026-11-12 09:00"),  # a deleted contact: sent, not in the geography
    message("m6", "sp", "2026-11-11 09:00", advisor="bia"),  # another advisor's send
    message("m7", "rj", "2026-10-20 09:00"),  # before the window (in the previous one)
    message("m8", "sp", "2026-11-25 09:00"),  # sp again, today: still one contact
]


@pytest.fixture(params=["gaps", "facts"])
def source(request, monkeypatch):
    """Each test runs reading the activity gaps, then with them switched off (the facts)."""
    monkeypatch.setattr(activity, "READ_GAPS", request.param == "gaps")
    return request.param


def _loaded(db, make_org) -> tuple[ReportFilters, int]:
    """A new organization holding RECORDS: its 30-day filters as of AS_OF, and Ana's user id."""
    org_id, _ = make_org()
    ingest_lines(db, org_id, [json.dumps(r) for r in RECORDS])
    ana = db.read(lambda conn: conn.execute(text(
        "SELECT id FROM app_user WHERE organization_id = :org AND external_id = 'ana'"),
        {"org": org_id}).scalar())
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", AS_OF))
    return f, ana


def test_facts_raw_tail_and_advisor_fallback_count_the_same_messages(db, make_org, source):
    f, ana = _loaded(db, make_org)
    by_ana = replace(f, advisor_id=ana)

    sends = db.read(lambda conn: sends_series(conn, f, f.current))
    # m1 + m2 on Nov 10, m6 on Nov 11, m5 on Nov 12, m3 + m8 today (m4 after asOf, m7 before)
    assert sends.total == 6
    assert sends.values[sends.buckets.index(AS_OF.date().replace(day=10))] == 2
    assert sends.values[-1] == 2

    ana_sends = db.read(lambda conn: sends_series(conn, by_ana, by_ana.current))
    assert ana_sends.total == 5  # the same without Bia's m6

    geography = db.read(lambda conn: interacting_geography(conn, f, f.current))
    states = {s.uf: s.contacts for s in geography.states if s.contacts}
    assert states == {"SP": 1, "RJ": 1}  # "gone" (MG) is deleted
    assert geography.unknown == 0 and geography.total == 2
    ana_geography = db.read(lambda conn: interacting_geography(conn, by_ana, by_ana.current))
    assert {s.uf: s.contacts for s in ana_geography.states if s.contacts} == {"SP": 1, "RJ": 1}


def test_distinct_contacts_count_each_contact_once_per_window(db, make_org, source):
    f, ana = _loaded(db, make_org)
    # current window Oct 27 .. Nov 25 (noon): sp (Nov 10, 11 and today), rj (today, before
    # asOf), gone (deleted since, but it was reached); previous window Sep 27 .. Oct 26: rj.
    reached = db.read(lambda conn: active_contacts(conn, f, "outbound"))
    assert (reached.value, reached.previous_value) == (3, 1)
    # Ana's sends only: the same contacts (Bia's m6 went to sp, whom Ana also reached)
    by_ana = db.read(lambda conn: active_contacts(conn, replace(f, advisor_id=ana), "outbound"))
    assert (by_ana.value, by_ana.previous_value) == (3, 1)
    # no campaign sends at all
    campaign = db.read(lambda conn: active_contacts(conn, f, "campaign"))
    assert (campaign.value, campaign.previous_value) == (0, 0)


def test_with_nothing_after_asof_the_cut_day_comes_from_the_facts_with_the_same_figures(
    db, make_org, source
):
    # asOf 19:00, after every record: m4 (18:00) now counts, and no raw rows are read
    org_id, _ = make_org()
    ingest_lines(db, org_id, [json.dumps(r) for r in RECORDS])
    as_of = datetime(2026, 11, 25, 19, 0, tzinfo=SAO_PAULO)
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", as_of))
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append(statement)

    with db.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        sends = sends_series(conn, f, f.current)
        reached = active_contacts(conn, f, "outbound")
        geography = interacting_geography(conn, f, f.current)
        event.remove(conn, "before_cursor_execute", capture)
    assert (sends.total, sends.values[-1]) == (7, 3)
    assert (reached.value, reached.previous_value) == (3, 1)
    assert {s.uf: s.contacts for s in geography.states if s.contacts} == {"SP": 1, "RJ": 1}
    table = "activity_gap" if source == "gaps" else "contact_activity"
    figures = [s for s in captured if table in s]
    assert len(figures) == 3 and not any("FROM message" in s for s in figures)


def _window(org_id: int, first: date, last: date) -> ReportFilters:
    tz = "America/Sao_Paulo"
    current = DateRange.of(first, last, tz)
    length = current.days
    previous = DateRange.of(date.fromordinal(first.toordinal() - length),
                            date.fromordinal(first.toordinal() - 1), tz)
    period = Period(PeriodPreset.CUSTOM, current, previous, current.end_ts, last)
    return ReportFilters(org_id, tz, period)


def test_a_contact_counts_in_a_window_by_its_first_day_there_whatever_the_gap_before(
    db, make_org, source
):
    """Gaps around the window's first day and around the rollup's cap of GAP_CAP days."""
    org_id, _ = make_org()
    records = [
        {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
        *[{"type": "contact", "id": c, "phone": "+5511999990001", "created_at": at("2025-01-01 10:00")}
          for c in ("a", "b", "c", "d", "e")],
        # a: Oct 31 (the day before the window) and Nov 1 (its first day): in once
        message("a1", "a", "2026-10-31 09:00"), message("a2", "a", "2026-11-01 09:00"),
        # b: Nov 1 and Nov 30 (the window's first and last day): in once
        message("b1", "b", "2026-11-01 09:00"), message("b2", "b", "2026-11-30 23:59"),
        # c: exactly GAP_CAP days before Nov 15, then Nov 15: in once, in no previous window
        message("c1", "c", "2026-05-13 09:00"), message("c2", "c", "2026-11-15 09:00"),
        # e: GAP_CAP - 1 days before Nov 15, then Nov 15: in once (on Nov 15 in November)
        message("e1", "e", "2026-05-14 09:00"), message("e2", "e", "2026-11-15 10:00"),
        # d: only Oct 15 (the previous window) and Dec 1 (after the window)
        message("d1", "d", "2026-10-15 09:00"), message("d2", "d", "2026-12-01 00:00"),
        {"type": "conversation", "id": "v1", "contact": "a", "channel": "WHATSAPP",
         "kind": "COMMERCIAL", "status": "NEW", "started_at": at("2026-10-20 09:00")},
        {"type": "conversation", "id": "v2", "contact": "a", "channel": "WHATSAPP",
         "kind": "COMMERCIAL", "status": "NEW", "started_at": at("2026-11-01 00:00")},
        {"type": "conversation", "id": "v3", "contact": "b", "channel": "WHATSAPP",
         "kind": "SUPPORT", "status": "NEW", "started_at": at("2026-11-30 23:59")},
    ]
    assert (date(2026, 11, 15) - date(2026, 5, 13)).days == GAP_CAP
    ingest_lines(db, org_id, [json.dumps(r) for r in records])
    november = _window(org_id, date(2026, 11, 1), date(2026, 11, 30))  # previous: Oct 2 .. 31
    reached = db.read(lambda conn: active_contacts(conn, november, "outbound"))
    assert (reached.value, reached.previous_value) == (4, 2)  # a, b, c, e; a and d
    commercial = db.read(lambda conn: attention_contacts(conn, november, "COMMERCIAL"))
    assert (commercial.value, commercial.previous_value) == (1, 1)  # a (v2); a (v1)
    support = db.read(lambda conn: attention_contacts(conn, november, "SUPPORT"))
    assert (support.value, support.previous_value) == (1, 0)  # b (v3)
    # windows ending Nov 15 of GAP_CAP days (May 14 ..: e's first day is its first) and of one
    # day more (May 13 ..: c's first day is; the rollup cannot answer, the facts do)
    may_13 = date(2026, 11, 15).toordinal() - GAP_CAP
    for first, days in ((may_13 + 1, GAP_CAP), (may_13, GAP_CAP + 1)):
        window = _window(org_id, date.fromordinal(first), date(2026, 11, 15))
        assert window.current.days == days
        assert activity.gaps_apply(window, window.current) == (source == "gaps" and days == GAP_CAP)
        got = db.read(lambda conn: active_contacts(conn, window, "outbound"))
        assert got.value == 5  # a, b (Nov 1), c, d (Oct 15), e
        geography = db.read(lambda conn: interacting_geography(conn, window, window.current))
        assert geography.states[[s.uf for s in geography.states].index("SP")].contacts == 5


def test_the_contact_base_at_an_instant_counts_created_minus_deleted_before_it(
    db, make_org, source
):
    """Whole days before the instant's day (the contact_day rollup) and the day's part before
    the instant (the contacts themselves), around asOf = Nov 25 12:00."""
    org_id, _ = make_org()

    def person(cid, created, deleted=None):
        return {"type": "contact", "id": cid, "created_at": at(created),
                **({"deleted_at": at(deleted)} if deleted else {})}

    ingest_lines(db, org_id, [json.dumps(r) for r in [
        person("old", "2026-10-01 10:00"),                        # in
        person("gone", "2026-10-01 10:00", "2026-11-20 10:00"),   # deleted before: out
        person("left_today", "2026-10-01 10:00", "2026-11-25 09:00"),  # deleted this morning
        person("leaves_later", "2026-10-01 10:00", "2026-11-25 15:00"),  # still in at noon
        person("new_today", "2026-11-25 08:00"),                  # created this morning: in
        person("new_later", "2026-11-25 13:00"),                  # after noon: out
        person("in_and_out", "2026-11-25 08:00", "2026-11-25 11:00"),  # both this morning: out
        person("at_midnight", "2026-11-25 00:00"),                # the day's first instant: in
    ]])
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", AS_OF))
    noon = int(AS_OF.timestamp())
    midnight = int(datetime(2026, 11, 25, tzinfo=SAO_PAULO).timestamp())
    base = db.read(lambda conn: activity.contact_base_at(conn, f, [noon, midnight, midnight + 1]))
    # noon: old, leaves_later, new_today, at_midnight; midnight: old, left_today,
    # leaves_later; one second later: at_midnight too
    assert base == [4, 3, 4]
    # a contact moved to another creation day and deleted: the rollup follows
    ingest_lines(db, org_id, [json.dumps(person("old", "2026-11-25 11:00", "2026-11-25 11:30"))])
    assert db.read(lambda conn: activity.contact_base_at(conn, f, [noon, midnight])) == [3, 2]


@pytest.mark.parametrize("rolled_up", [True, False], ids=["contact_days", "contacts"])
def test_contacts_created_before_an_instant_count_deleted_contacts_too(
    db, make_org, source, monkeypatch, rolled_up
):
    """New contacts of a range are the difference of the created counts at its ends: a contact
    deleted since still was created (whole days from the contact_day rollup, asOf's day part
    from the contacts), around asOf = Nov 25 12:00 in America/Sao_Paulo."""
    monkeypatch.setattr(activity, "READ_GAPS", rolled_up)
    org_id, _ = make_org()
    other_id, _ = make_org()

    def person(cid, created, deleted=None):
        return {"type": "contact", "id": cid, "created_at": at(created),
                **({"deleted_at": at(deleted)} if deleted else {})}

    ingest_lines(db, org_id, [json.dumps(r) for r in [
        person("october", "2026-10-31 23:59"),                    # before Nov 1
        person("nov_first", "2026-11-01 00:00"),                  # the month's first instant
        person("gone", "2026-11-10 10:00", "2026-11-20 10:00"),   # deleted since: still new
        person("this_morning", "2026-11-25 08:00"),               # asOf's day, before noon
        person("afternoon", "2026-11-25 13:00"),                  # after asOf
    ]])
    ingest_lines(db, other_id, [json.dumps(person("elsewhere", "2026-11-05 10:00"))])
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", AS_OF))
    november = int(datetime(2026, 11, 1, tzinfo=SAO_PAULO).timestamp())
    noon = int(AS_OF.timestamp())
    created = db.read(lambda conn: activity.contacts_created_before(conn, f, [november, noon]))
    assert created == [1, 4]  # october; then nov_first, gone and this_morning too
    # the contact base at noon leaves the deleted one out
    assert db.read(lambda conn: activity.contact_base_at(conn, f, [noon])) == [3]
