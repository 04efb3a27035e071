"""The core's activity figures read the contact activity facts for whole days and the raw rows
for a day cut short by asOf; with an advisor filter (which the facts cannot apply) they read the
raw rows for the whole range. Each path must give the numbers a person counts below.

São Paulo (UTC-3). asOf is 2026-11-25 12:00: the window is Oct 27 .. Nov 25, today cut at noon.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import event, text
from tablero import (
    ReportFilters,
    active_contacts,
    interacting_geography,
    sends_series,
    trailing_days,
)
from tablero.ingest import ingest_lines

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


def _loaded(db, make_org) -> tuple[ReportFilters, int]:
    """A new organization holding RECORDS: its 30-day filters as of AS_OF, and Ana's user id."""
    org_id, _ = make_org()
    ingest_lines(db, org_id, [json.dumps(r) for r in RECORDS])
    ana = db.read(lambda conn: conn.execute(text(
        "SELECT id FROM app_user WHERE organization_id = :org AND external_id = 'ana'"),
        {"org": org_id}).scalar())
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", AS_OF))
    return f, ana


def test_facts_raw_tail_and_advisor_fallback_count_the_same_messages(db, make_org):
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


def test_distinct_contacts_count_each_contact_once_per_window(db, make_org):
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
    db, make_org
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
    figures = [s for s in captured if "contact_activity" in s]
    assert len(figures) == 3 and not any("FROM message" in s for s in figures)
