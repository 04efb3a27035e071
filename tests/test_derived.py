"""Derived facts (SPEC 4, 6.3): first responses, response intervals, business-hours durations,
first contact, state from phone — hand-built conversations with the expected seconds written out.

The organization's schedule is Monday to Friday 09:00-18:00, America/Sao_Paulo (UTC-3, no daylight
saving), Brazilian national holidays. November 2026: Mon 9 .. Fri 13 is an ordinary week;
Fri 20 is Consciência Negra, a national holiday.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlalchemy import text
from tablero import NO_NEXT_DAY, derived
from tablero.derived import refresh
from tablero.ingest import ingest_lines
from tablero.models import GAP_CAP, GAP_MEASURES, NOT_DELETED

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
HOUR = 3600

WEEKDAYS_9_TO_18 = {str(d): [["09:00", "18:00"]] for d in range(1, 6)}
BASE = [
    {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
    {"type": "user", "id": "bia", "name": "Bia", "profile": "AGENT"},
    {"type": "user", "id": "robo", "name": "Robô", "profile": "AGENT", "is_bot": True},
    {"type": "schedule", "advisor": None, "timezone": "America/Sao_Paulo",
     "weekly": WEEKDAYS_9_TO_18, "holidays": {"country": "BR"}},
]


def at(local: str) -> str:
    """'2026-11-09 10:00' (São Paulo) -> the ISO 8601 text with its offset."""
    return local.replace(" ", "T") + ":00-03:00"


def epoch(local: str) -> int:
    return int(datetime.fromisoformat(local).replace(tzinfo=SAO_PAULO).timestamp())


def contact(cid: str, created: str, **fields) -> dict:
    return {"type": "contact", "id": cid, "created_at": at(created), **fields}


def conversation(vid: str, cid: str, advisor: str | None, started: str, **fields) -> dict:
    record = {"type": "conversation", "id": vid, "contact": cid, "advisor": advisor,
              "kind": "COMMERCIAL", "channel": "WHATSAPP", "status": "IN_PROGRESS",
              "started_at": at(started), **fields}
    for key in ("closed_at",):
        if key in record:
            record[key] = at(record[key])
    return record


def from_contact(mid: str, cid: str, vid: str | None, sent: str, **fields) -> dict:
    return {"type": "message", "id": mid, "contact": cid, "conversation": vid,
            "channel": "WHATSAPP", "direction": "INBOUND", "sender": "CONTACT",
            "sent_at": at(sent), **fields}


def from_advisor(mid: str, cid: str, vid: str | None, advisor: str, sent: str,
                 **fields) -> dict:
    return {"type": "message", "id": mid, "contact": cid, "conversation": vid,
            "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "ADVISOR",
            "advisor": advisor, "sent_at": at(sent), **fields}


def load(db, org_id: int, records: list[dict], base: list[dict] = BASE) -> None:
    ingest_lines(db, org_id, [json.dumps(r) for r in base + records])


def conversation_facts(db, org_id: int, vid: str) -> dict:
    row = db.read(lambda conn: conn.execute(text(
        "SELECT first_response_at, first_response_calendar_s, first_response_business_s,"
        " close_calendar_s, close_business_s FROM conversation"
        " WHERE organization_id = :org AND external_id = :vid"),
        {"org": org_id, "vid": vid}).one())
    return dict(zip(("first_response_at", "calendar", "business", "close_calendar",
                     "close_business"), row, strict=True))


def intervals(db, org_id: int, vid: str) -> list[tuple]:
    rows = db.read(lambda conn: conn.execute(text(
        "SELECT r.seq, r.asked_at, r.answered_at, u.external_id, r.channel, r.calendar_s,"
        " r.business_s FROM response_interval r"
        " JOIN conversation v ON v.organization_id = r.organization_id"
        " AND v.id = r.conversation_id"
        " LEFT JOIN app_user u ON u.organization_id = r.organization_id AND u.id = r.advisor_id"
        " WHERE r.organization_id = :org AND v.external_id = :vid ORDER BY r.seq"),
        {"org": org_id, "vid": vid}).all())
    return [tuple(r) for r in rows]


def effective(db, org_id: int) -> dict[str, bool]:
    rows = db.read(lambda conn: conn.execute(text(
        "SELECT external_id, effective FROM message WHERE organization_id = :org"),
        {"org": org_id}).all())
    return {mid: bool(flag) for mid, flag in rows}


def contact_facts(db, org_id: int, cid: str) -> dict:
    row = db.read(lambda conn: conn.execute(text(
        "SELECT c.first_contact_at, u.external_id, c.first_contact_calendar_s,"
        " c.first_contact_business_s FROM contact c"
        " LEFT JOIN app_user u ON u.organization_id = c.organization_id"
        " AND u.id = c.first_contact_advisor_id"
        " WHERE c.organization_id = :org AND c.external_id = :cid"),
        {"org": org_id, "cid": cid}).one())
    return dict(zip(("at", "advisor", "calendar", "business"), row, strict=True))


def same_as_a_whole_refresh(db, org_id: int, read):
    """What ``read()`` returns now (facts kept up to date chunk by chunk), checked equal to what
    it returns after a whole refresh of the organization computed them from scratch."""
    state = read()
    refresh(db, org_id)
    assert read() == state
    return state


def test_a_bot_reply_does_not_count_the_advisor_after_it_does(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 09:55"),
        conversation("v-1", "c-1", "ana", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        {"type": "message", "id": "m-2", "contact": "c-1", "conversation": "v-1",
         "channel": "WHATSAPP", "direction": "OUTBOUND", "sender": "BOT",
         "sent_at": at("2026-11-10 10:01")},
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:20"),
    ])
    assert effective(db, org_id) == {"m-1": False, "m-2": False, "m-3": True}
    assert conversation_facts(db, org_id, "v-1") == {
        "first_response_at": epoch("2026-11-10 10:20"), "calendar": 1200, "business": 1200,
        "close_calendar": None, "close_business": None,
    }
    assert intervals(db, org_id, "v-1") == [
        (1, epoch("2026-11-10 10:00"), epoch("2026-11-10 10:20"), "ana", "WHATSAPP", 1200, 1200)
    ]


def test_a_bot_user_writing_as_advisor_does_not_count(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 09:55"),
        conversation("v-1", "c-1", "ana", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        from_advisor("m-2", "c-1", "v-1", "robo", "2026-11-10 10:01"),  # robo is_bot
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:15"),
    ])
    assert effective(db, org_id) == {"m-1": False, "m-2": False, "m-3": True}
    assert conversation_facts(db, org_id, "v-1")["calendar"] == 900
    assert [i[2:4] for i in intervals(db, org_id, "v-1")] == [
        (epoch("2026-11-10 10:15"), "ana")]


def test_an_automatic_welcome_message_does_not_count(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 10:00"),
        conversation("v-1", "c-1", "ana", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-10 10:00", automatic=True),
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:05"),
    ])
    assert effective(db, org_id) == {"m-1": False, "m-2": False, "m-3": True}
    facts = conversation_facts(db, org_id, "v-1")
    assert (facts["calendar"], facts["business"]) == (300, 300)
    assert contact_facts(db, org_id, "c-1") == {
        "at": epoch("2026-11-10 10:05"), "advisor": "ana", "calendar": 300, "business": 300}


def test_a_message_out_of_hours_counts_business_time_from_the_next_opening(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-06 16:00"),  # Friday
        conversation("v-1", "c-1", "ana", "2026-11-06 17:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-06 17:00"),
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-09 10:00"),  # Monday
    ])
    # calendar: Fri 17:00 -> Mon 10:00 = 65 h; business: Fri 17-18 + Mon 09-10 = 2 h
    facts = conversation_facts(db, org_id, "v-1")
    assert (facts["calendar"], facts["business"]) == (65 * HOUR, 2 * HOUR)
    assert intervals(db, org_id, "v-1")[0][5:] == (65 * HOUR, 2 * HOUR)
    # first contact, from the contact's creation Fri 16:00: 66 h, of which 3 h open
    assert contact_facts(db, org_id, "c-1") == {
        "at": epoch("2026-11-09 10:00"), "advisor": "ana", "calendar": 66 * HOUR,
        "business": 3 * HOUR}


@pytest.mark.parametrize("with_schedule", [True, False], ids=["org-schedule", "default"])
def test_a_national_holiday_is_closed(db, make_org, with_schedule):
    assert holidays.country_holidays("BR", years=2026).get(date(2026, 11, 20)) is not None
    org_id, _ = make_org()
    base = BASE if with_schedule else [r for r in BASE if r["type"] != "schedule"]
    load(db, org_id, [
        contact("c-1", "2026-11-19 17:00"),  # Thursday
        conversation("v-1", "c-1", "ana", "2026-11-19 17:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-19 17:00"),
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-23 10:00"),  # Monday
    ], base=base)
    # calendar: Thu 17:00 -> Mon 10:00 = 89 h; business: Thu 17-18 + (Fri 20 closed) +
    # Mon 09-10 = 2 h (it would be 11 h if Friday were an ordinary day)
    facts = conversation_facts(db, org_id, "v-1")
    assert (facts["calendar"], facts["business"]) == (89 * HOUR, 2 * HOUR)


def test_a_transfer_closes_the_conversation_and_the_receiver_gets_a_new_one(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 09:00"),
        conversation("v-1", "c-1", "ana", "2026-11-10 09:00", status="CLOSED",
                     closed_at="2026-11-10 11:00", transferred_to="bia"),
        conversation("v-2", "c-1", "bia", "2026-11-10 11:00", status="CLOSED",
                     closed_at="2026-11-10 19:00", closing_reason="venta"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 09:00"),
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-10 09:10"),
        from_contact("m-3", "c-1", "v-2", "2026-11-10 11:05"),
        from_advisor("m-4", "c-1", "v-2", "bia", "2026-11-10 11:35"),
    ])
    assert conversation_facts(db, org_id, "v-1") == {
        "first_response_at": epoch("2026-11-10 09:10"), "calendar": 600, "business": 600,
        "close_calendar": 2 * HOUR, "close_business": 2 * HOUR,
    }
    # v-2 closes at 19:00, after hours: 8 h of calendar, 7 h (11:00-18:00) of business time
    assert conversation_facts(db, org_id, "v-2") == {
        "first_response_at": epoch("2026-11-10 11:35"), "calendar": 2100, "business": 2100,
        "close_calendar": 8 * HOUR, "close_business": 7 * HOUR,
    }
    assert [i[3:] for i in intervals(db, org_id, "v-2")] == [("bia", "WHATSAPP", 1800, 1800)]


def test_an_outbound_answered_or_rejected_call_counts_an_inbound_call_does_not(db, make_org):
    org_id, _ = make_org()
    call = {"channel": "VOICE_CALL"}
    load(db, org_id, [
        contact("c-1", "2026-11-10 10:00"),
        conversation("v-1", "c-1", "ana", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        # on Instagram an advisor's message is not an effective contact
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-10 10:02", channel="INSTAGRAM"),
        # an incoming call the advisor took
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:05", direction="INBOUND",
                     call_outcome="ACCEPTED", **call),
        # an outgoing call without an outcome (not connected)
        from_advisor("m-4", "c-1", "v-1", "ana", "2026-11-10 10:10", **call),
        # an outgoing call the contact rejected: an effective contact
        from_advisor("m-5", "c-1", "v-1", "ana", "2026-11-10 10:30", call_outcome="REJECTED",
                     **call),
    ])
    assert effective(db, org_id) == {
        "m-1": False, "m-2": False, "m-3": False, "m-4": False, "m-5": True}
    assert conversation_facts(db, org_id, "v-1")["calendar"] == 1800
    assert intervals(db, org_id, "v-1") == [
        (1, epoch("2026-11-10 10:00"), epoch("2026-11-10 10:30"), "ana", "VOICE_CALL", 1800,
         1800)]


def test_contact_messages_before_an_answer_make_one_interval_from_the_first(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 09:00"),
        conversation("v-1", "c-1", "ana", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        from_contact("m-2", "c-1", "v-1", "2026-11-10 10:05"),
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:20"),
        from_contact("m-4", "c-1", "v-1", "2026-11-10 11:00"),
        from_advisor("m-5", "c-1", "v-1", "bia", "2026-11-10 11:03", channel="EMAIL"),
        from_advisor("m-6", "c-1", "v-1", "ana", "2026-11-10 11:10"),  # nobody was waiting
        from_contact("m-7", "c-1", "v-1", "2026-11-10 11:30"),  # still waiting: no interval
        from_contact("m-8", "c-1", None, "2026-11-10 11:31"),  # no conversation: no interval
        from_advisor("m-9", "c-1", None, "ana", "2026-11-10 11:40"),
    ])
    assert intervals(db, org_id, "v-1") == [
        (1, epoch("2026-11-10 10:00"), epoch("2026-11-10 10:20"), "ana", "WHATSAPP", 1200, 1200),
        (2, epoch("2026-11-10 11:00"), epoch("2026-11-10 11:03"), "bia", "EMAIL", 180, 180),
    ]
    total = db.read(lambda conn: conn.execute(text(
        "SELECT COUNT(*) FROM response_interval WHERE organization_id = :org"),
        {"org": org_id}).scalar())
    assert total == 2


def test_an_advisor_schedule_overrides_the_organization_schedule(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 08:00"),
        contact("c-2", "2026-11-10 08:00"),
        contact("c-3", "2026-11-10 08:00"),
        conversation("v-ana", "c-1", "ana", "2026-11-10 08:00", status="CLOSED",
                     closed_at="2026-11-10 21:00", closing_reason="venta"),
        conversation("v-bia", "c-2", "bia", "2026-11-10 08:00", status="CLOSED",
                     closed_at="2026-11-10 21:00", closing_reason="venta"),
        # Ana's conversation that Bia answers
        conversation("v-mixed", "c-3", "ana", "2026-11-10 08:00"),
        from_contact("m-1", "c-1", "v-ana", "2026-11-10 08:00"),
        from_advisor("m-2", "c-1", "v-ana", "ana", "2026-11-10 14:00"),
        from_contact("m-3", "c-2", "v-bia", "2026-11-10 08:00"),
        from_advisor("m-4", "c-2", "v-bia", "bia", "2026-11-10 14:00"),
        from_contact("m-5", "c-3", "v-mixed", "2026-11-10 08:00"),
        from_advisor("m-6", "c-3", "v-mixed", "bia", "2026-11-10 14:00"),
    ])
    # before Bia has a schedule of her own, everyone works 09:00-18:00
    assert conversation_facts(db, org_id, "v-bia")["business"] == 5 * HOUR
    # Bia's own schedule arrives later: Monday to Friday 13:00-22:00
    load(db, org_id, [
        {"type": "schedule", "advisor": "bia", "timezone": "America/Sao_Paulo",
         "weekly": {str(d): [["13:00", "22:00"]] for d in range(1, 6)}},
    ], base=[])
    # answered 08:00 -> 14:00: 6 h of calendar time; open hours 09-14 (org) or 13-14 (Bia)
    assert conversation_facts(db, org_id, "v-ana") == {
        "first_response_at": epoch("2026-11-10 14:00"), "calendar": 6 * HOUR,
        "business": 5 * HOUR, "close_calendar": 13 * HOUR, "close_business": 9 * HOUR,
    }
    assert conversation_facts(db, org_id, "v-bia") == {
        "first_response_at": epoch("2026-11-10 14:00"), "calendar": 6 * HOUR,
        "business": 1 * HOUR, "close_calendar": 13 * HOUR, "close_business": 8 * HOUR,
    }
    # the first response is timed with the answering advisor's schedule (Bia's)
    assert conversation_facts(db, org_id, "v-mixed")["business"] == 1 * HOUR
    assert intervals(db, org_id, "v-mixed")[0][3:] == ("bia", "WHATSAPP", 6 * HOUR, 1 * HOUR)
    assert contact_facts(db, org_id, "c-2")["business"] == 1 * HOUR


def test_first_contact_of_a_contact(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-06 17:30"),  # Friday
        contact("c-2", "2026-11-06 17:30"),
        # before the contact was created: does not count
        from_advisor("m-0", "c-1", None, "ana", "2026-11-06 17:00"),
        from_advisor("m-1", "c-1", None, "robo", "2026-11-06 17:31"),  # a bot
        from_advisor("m-2", "c-1", None, "bia", "2026-11-09 09:30", channel="SMS"),  # Monday
        from_advisor("m-3", "c-1", None, "ana", "2026-11-09 10:00"),
        from_contact("m-4", "c-2", None, "2026-11-06 17:40"),
    ])
    # 64 h of calendar time; Fri 17:30-18:00 + Mon 09:00-09:30 = 1 h of business time
    assert contact_facts(db, org_id, "c-1") == {
        "at": epoch("2026-11-09 09:30"), "advisor": "bia", "calendar": 64 * HOUR,
        "business": 1 * HOUR}
    assert contact_facts(db, org_id, "c-2") == {
        "at": None, "advisor": None, "calendar": None, "business": None}


def test_the_state_comes_from_the_phone(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-rj", "2026-11-10 09:00", phone="+55 21 99876-5432"),
        contact("c-df", "2026-11-10 09:00", phone="+55 (61) 3212-3456"),
        contact("c-us", "2026-11-10 09:00", phone="+1 212-555-0100"),
        contact("c-bad", "2026-11-10 09:00", phone="12345"),
        contact("c-none", "2026-11-10 09:00"),
    ])
    rows = db.read(lambda conn: conn.execute(text(
        "SELECT external_id, phone, state FROM contact WHERE organization_id = :org"
        " ORDER BY id"), {"org": org_id}).all())
    assert [tuple(r) for r in rows] == [
        ("c-rj", "+5521998765432", "RJ"),
        ("c-df", "+556132123456", "DF"),
        ("c-us", "+12125550100", None),
        ("c-bad", "12345", None),  # does not parse: stored as given, no state
        ("c-none", None, None),
    ]


def test_a_user_who_becomes_a_bot_stops_counting(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-10 10:00"),
        conversation("v-1", "c-1", "bia", "2026-11-10 10:00"),
        from_contact("m-1", "c-1", "v-1", "2026-11-10 10:00"),
        from_advisor("m-2", "c-1", "v-1", "bia", "2026-11-10 10:10"),
        from_advisor("m-3", "c-1", "v-1", "ana", "2026-11-10 10:40"),
    ])
    assert conversation_facts(db, org_id, "v-1")["calendar"] == 600
    load(db, org_id, [{"type": "user", "id": "bia", "name": "Bia", "profile": "AGENT",
                       "is_bot": True}], base=[])
    assert effective(db, org_id)["m-2"] is False
    assert conversation_facts(db, org_id, "v-1")["calendar"] == 2400
    assert [i[3] for i in intervals(db, org_id, "v-1")] == ["ana"]


def test_refresh_recomputes_what_was_lost(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c-1", "2026-11-06 16:00", phone="+55 11 98765-4321"),
        conversation("v-1", "c-1", "ana", "2026-11-06 17:00", status="CLOSED",
                     closed_at="2026-11-09 12:00", closing_reason="venta"),
        from_contact("m-1", "c-1", "v-1", "2026-11-06 17:00"),
        from_advisor("m-2", "c-1", "v-1", "ana", "2026-11-09 10:00"),
    ])
    expected = (conversation_facts(db, org_id, "v-1"), contact_facts(db, org_id, "c-1"),
                intervals(db, org_id, "v-1"), effective(db, org_id))
    assert expected[0]["close_business"] == 4 * HOUR  # Fri 17-18 + Mon 09-12

    def wipe(conn):
        conn.execute(text("UPDATE message SET effective = FALSE WHERE organization_id = :org"),
                     {"org": org_id})
        conn.execute(text("DELETE FROM response_interval WHERE organization_id = :org"),
                     {"org": org_id})
        conn.execute(text(
            "UPDATE conversation SET first_response_at = NULL, close_business_s = NULL"
            " WHERE organization_id = :org"), {"org": org_id})
        conn.execute(text(
            "UPDATE contact SET state = NULL, first_contact_at = NULL"
            " WHERE organization_id = :org"), {"org": org_id})

    db.write(wipe)
    lines = []
    derived.refresh(db, org_id, now=1_800_000_000, progress=lines.append)
    # one range of each pass: the contacts, the conversations, the contacts' close facts
    assert [line.split(" (")[0] for line in lines] == [
        "refresh 1/3: contacts up to id 1 of 1",
        "refresh 2/3: conversations up to id 1 of 1",
        "refresh 3/3: close facts of contacts up to id 1 of 1",
    ]
    assert (conversation_facts(db, org_id, "v-1"), contact_facts(db, org_id, "c-1"),
            intervals(db, org_id, "v-1"), effective(db, org_id)) == expected
    assert db.read(lambda conn: conn.execute(text(
        "SELECT state FROM contact WHERE organization_id = :org"), {"org": org_id}).scalar()
    ) == "SP"
    assert db.read(lambda conn: conn.execute(text(
        "SELECT refreshed_at FROM organization WHERE id = :org"), {"org": org_id}).scalar()
    ) == 1_800_000_000

    # a scoped refresh touches only what it is given
    db.write(wipe)
    conversation_id = db.read(lambda conn: conn.execute(text(
        "SELECT id FROM conversation WHERE organization_id = :org"), {"org": org_id}).scalar())
    derived.refresh(db, org_id, conversation_ids=[conversation_id])
    assert conversation_facts(db, org_id, "v-1") == expected[0]
    assert intervals(db, org_id, "v-1") == expected[2]
    assert contact_facts(db, org_id, "c-1")["at"] is None  # the contact was not in scope


def test_ingestion_and_refresh_agree_on_what_is_an_effective_message(db, make_org):
    """Ingestion sets message.effective in Python as it writes (derived.is_effective); refresh
    computes it in SQL (derived.EFFECTIVE_SQL). Every combination must agree."""
    org_id, _ = make_org()
    messages = []
    for sender in ("CONTACT", "ADVISOR", "BOT", "CAMPAIGN", "SYSTEM"):
        for direction in ("INBOUND", "OUTBOUND"):
            for automatic in (False, True):
                for advisor in (None, "ana", "robo"):
                    for channel in ("WHATSAPP", "SMS", "EMAIL", "RCS", "FACEBOOK_MESSENGER",
                                    "INSTAGRAM", "WEBCHAT", "VOICE_CALL"):
                        outcomes = ([None, "ACCEPTED", "REJECTED"] if channel == "VOICE_CALL"
                                    else [None])
                        for outcome in outcomes:
                            messages.append({
                                "type": "message", "id": f"m-{len(messages)}", "contact": "c-1",
                                "channel": channel, "direction": direction, "sender": sender,
                                "advisor": advisor, "automatic": automatic,
                                "call_outcome": outcome, "sent_at": at("2026-11-10 10:00")})
    load(db, org_id, [contact("c-1", "2026-11-10 09:00"), *messages])
    at_ingestion = effective(db, org_id)
    # ADVISOR, OUTBOUND, not automatic, human (ana): 4 message channels + 2 call outcomes
    assert sum(at_ingestion.values()) == 6
    expected = {
        m["id"]: (m["sender"] == "ADVISOR" and m["direction"] == "OUTBOUND"
                  and not m["automatic"] and m["advisor"] == "ana"
                  and (m["channel"] in ("WHATSAPP", "SMS", "EMAIL", "FACEBOOK_MESSENGER")
                       or m["call_outcome"] in ("ACCEPTED", "REJECTED")))
        for m in messages
    }
    assert at_ingestion == expected
    db.write(lambda conn: conn.execute(text(
        "UPDATE message SET effective = NOT effective WHERE organization_id = :org"),
        {"org": org_id}))
    derived.refresh(db, org_id)
    assert effective(db, org_id) == expected


# ---- contact activity (per contact, local day and channel) ---------------------------------


def activity(db, org_id: int, with_previous: bool = False) -> list[tuple]:
    """(contact, local date, channel, messages, outbound, campaign, commercial, support
    [, previous day, previous outbound day, previous campaign day]), sorted."""
    rows = db.read(lambda conn: conn.execute(text(
        "SELECT k.external_id, a.day, a.channel, a.messages, a.outbound, a.campaign,"
        " a.commercial, a.support, a.prev_day, a.prev_outbound_day, a.prev_campaign_day"
        " FROM contact_activity a"
        " JOIN contact k ON k.organization_id = a.organization_id AND k.id = a.contact_id"
        " WHERE a.organization_id = :org"), {"org": org_id}).all())

    def day(n):
        return None if n is None else date.fromordinal(date(1970, 1, 1).toordinal() + n)

    out = [(r[0], day(r[1]), *r[2:8], *[day(n) for n in r[8:11]]) for r in rows]
    return sorted(row if with_previous else row[:8] for row in out)


def test_contact_activity_counts_each_local_day_and_channel(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c1", "2026-11-09 08:00"),
        {"type": "campaign", "id": "promo", "name": "Promo", "channel": "WHATSAPP"},
        conversation("v1", "c1", "ana", "2026-11-09 09:00"),
        conversation("v2", "c1", "ana", "2026-11-09 23:30", kind="SUPPORT", channel="SMS"),
        from_contact("m1", "c1", "v1", "2026-11-09 09:05"),
        from_advisor("m2", "c1", "v1", "ana", "2026-11-09 09:10"),
        # 23:59 local is still the 9th; 00:01 local (03:01 UTC) is the 10th
        {**from_advisor("m3", "c1", None, "ana", "2026-11-09 23:59"), "sender": "CAMPAIGN",
         "advisor": None, "campaign": "promo"},
        {**from_advisor("m4", "c1", None, "ana", "2026-11-10 00:01"), "channel": "SMS"},
    ])
    nov9, nov10 = date(2026, 11, 9), date(2026, 11, 10)
    assert activity(db, org_id, with_previous=True) == [
        # messages, outbound, campaign, commercial, support; then the contact's previous day
        # in the same channel with any activity, with outbound messages, with campaign sends
        ("c1", nov9, "*", 3, 2, 1, 1, 1, None, None, None),  # '*': all channels
        ("c1", nov9, "SMS", 0, 0, 0, 0, 1, None, None, None),
        ("c1", nov9, "WHATSAPP", 3, 2, 1, 1, 0, None, None, None),
        ("c1", nov10, "*", 1, 1, 0, 0, 0, nov9, nov9, nov9),
        ("c1", nov10, "SMS", 1, 1, 0, 0, 0, nov9, None, None),  # SMS on the 9th: no outbound
    ]


def test_contact_activity_follows_a_replaced_message_and_a_refresh(db, make_org):
    org_id, _ = make_org()
    records = [
        contact("c1", "2026-11-09 08:00"),
        contact("c2", "2026-11-09 08:00"),
        from_contact("m1", "c1", None, "2026-11-09 10:00"),
    ]
    load(db, org_id, records)
    assert activity(db, org_id) == [
        ("c1", date(2026, 11, 9), "*", 1, 0, 0, 0, 0),
        ("c1", date(2026, 11, 9), "WHATSAPP", 1, 0, 0, 0, 0),
    ]
    # the same message, re-sent for another contact and day: c1's rows go, c2's come
    load(db, org_id, [from_contact("m1", "c2", None, "2026-11-11 10:00")])
    assert activity(db, org_id) == [
        ("c2", date(2026, 11, 11), "*", 1, 0, 0, 0, 0),
        ("c2", date(2026, 11, 11), "WHATSAPP", 1, 0, 0, 0, 0),
    ]
    before = activity(db, org_id)
    db.write(lambda conn: conn.execute(
        text("DELETE FROM contact_activity WHERE organization_id = :org"), {"org": org_id}))
    derived.refresh(db, org_id)
    assert activity(db, org_id) == before


def test_contact_activity_days_are_local_across_daylight_saving(db, make_org):
    # New York: 2026-11-01 02:00 EDT -> 01:00 EST. 23:30 local on Oct 31 is 03:30 UTC Nov 1
    # (EDT, -4); 23:30 local on Nov 1 is 04:30 UTC Nov 2 (EST, -5).
    org_id, _ = make_org(timezone="America/New_York")
    load(db, org_id, [
        contact("c1", "2026-10-30 08:00"),
        {**from_contact("m1", "c1", None, "2026-10-31 23:30"), "sent_at": "2026-11-01T03:30:00Z"},
        {**from_contact("m2", "c1", None, "2026-11-01 23:30"), "sent_at": "2026-11-02T04:30:00Z"},
    ], base=[])
    assert [(row[1], row[3]) for row in activity(db, org_id) if row[2] == "*"] == [
        (date(2026, 10, 31), 1),
        (date(2026, 11, 1), 1),
    ]


def test_contact_activity_copies_the_contact_state_and_deletion_and_follows_changes(db, make_org):
    org_id, _ = make_org()
    load(db, org_id, [
        contact("c1", "2026-11-09 08:00", phone="+5511999990000"),  # DDD 11: SP
        from_contact("m1", "c1", None, "2026-11-09 10:00"),
    ])

    def copied():
        return db.read(lambda conn: conn.execute(text(
            "SELECT state, deleted FROM contact_activity"
            " WHERE organization_id = :org AND channel = '*'"),
            {"org": org_id}).all())

    assert [(s, bool(d)) for s, d in copied()] == [("SP", False)]
    # the contact moves to a Rio number (DDD 21) and is deleted: its activity rows follow
    load(db, org_id, [contact("c1", "2026-11-09 08:00", phone="+5521999990000",
                              deleted_at=at("2026-11-12 09:00"))])
    assert [(s, bool(d)) for s, d in copied()] == [("RJ", True)]


def test_activity_gaps_roll_up_the_activity_rows_and_follow_every_change(db, make_org):
    org_id, _ = make_org()

    def gaps():
        """(measure, state, date, gap, contacts, live, amount) of the all-channel rows."""
        rows = db.read(lambda conn: conn.execute(text(
            "SELECT measure, state, day, gap, contacts, live, amount FROM activity_gap"
            " WHERE organization_id = :org AND channel = '*'"), {"org": org_id}).all())
        return sorted((GAP_MEASURES[m], st, date.fromordinal(date(1970, 1, 1).toordinal()
                       + d), g, c, lv, a) for m, st, d, g, c, lv, a in rows)

    load(db, org_id, [
        contact("c1", "2026-11-01 08:00", phone="+5511999990000"),  # SP
        contact("c2", "2026-11-01 08:00", phone="+5521999990000"),  # RJ
        from_contact("m1", "c1", None, "2026-11-09 10:00"),
        from_advisor("m2", "c1", None, "ana", "2026-11-12 10:00"),
        from_advisor("m3", "c1", None, "ana", "2026-11-12 11:00"),
        from_contact("m4", "c2", None, "2026-11-12 10:00"),
        conversation("v1", "c2", "ana", "2026-11-12 10:00"),
    ])
    nov9, nov12, cap = date(2026, 11, 9), date(2026, 11, 12), GAP_CAP
    # c1: Nov 9 (no previous day: the cap) and Nov 12 (3 days later, its first outbound day);
    # c2: Nov 12 only, with a commercial conversation
    assert same_as_a_whole_refresh(db, org_id, gaps) == [
        ("activity", "*", nov9, cap, 1, 1, 1),
        ("activity", "*", nov12, 3, 1, 1, 2),  # amount: the day's messages
        ("activity", "*", nov12, cap, 1, 1, 1),
        ("activity_by_state", "RJ", nov12, cap, 1, 1, 1),
        ("activity_by_state", "SP", nov9, cap, 1, 1, 1),
        ("activity_by_state", "SP", nov12, 3, 1, 1, 2),
        ("commercial", "*", nov12, cap, 1, 1, 1),
        ("outbound", "*", nov12, cap, 1, 1, 2),
    ]
    # m1 moves to Nov 11 (c1's gap on Nov 12 becomes 1); c2 is deleted (not live) and moves
    # to an SP number; its conversation becomes a support one
    load(db, org_id, [
        from_contact("m1", "c1", None, "2026-11-11 10:00"),
        contact("c2", "2026-11-01 08:00", phone="+5511999990001", deleted_at=at("2026-11-20 10:00")),
        conversation("v1", "c2", "ana", "2026-11-12 10:00", kind="SUPPORT"),
    ])
    nov11 = date(2026, 11, 11)
    assert same_as_a_whole_refresh(db, org_id, gaps) == [
        ("activity", "*", nov11, cap, 1, 1, 1),
        ("activity", "*", nov12, 1, 1, 1, 2),
        ("activity", "*", nov12, cap, 1, 0, 1),
        ("activity_by_state", "SP", nov11, cap, 1, 1, 1),
        ("activity_by_state", "SP", nov12, 1, 1, 1, 2),
        ("activity_by_state", "SP", nov12, cap, 1, 0, 1),
        ("outbound", "*", nov12, cap, 1, 1, 2),
        ("support", "*", nov12, cap, 1, 0, 1),
    ]


def test_contact_days_count_creations_and_deletions_per_local_day_and_follow_changes(
    db, make_org
):
    org_id, _ = make_org()

    def days():
        rows = db.read(lambda conn: conn.execute(text(
            "SELECT created_day, deleted_day, contacts FROM contact_day"
            " WHERE organization_id = :org"), {"org": org_id}).all())
        epoch = date(1970, 1, 1).toordinal()
        rows = sorted(rows, key=lambda r: (r[0], r[1]))  # not deleted (-1) first
        return [(date.fromordinal(epoch + c), None if d == NOT_DELETED
                 else date.fromordinal(epoch + d), n) for c, d, n in rows]

    # 23:30 in Sao Paulo is the next day in UTC: the local day counts
    load(db, org_id, [contact("c1", "2026-11-09 23:30"), contact("c2", "2026-11-09 08:00"),
                      contact("c3", "2026-11-10 08:00", deleted_at=at("2026-11-12 23:59"))],
         base=[])
    nov9, nov10, nov12 = date(2026, 11, 9), date(2026, 11, 10), date(2026, 11, 12)
    assert same_as_a_whole_refresh(db, org_id, days) == [
        (nov9, None, 2), (nov10, nov12, 1)]
    # c1 is deleted, c3 restored and moved a day later
    load(db, org_id, [contact("c1", "2026-11-09 23:30", deleted_at=at("2026-11-12 08:00")),
                      contact("c3", "2026-11-11 08:00")], base=[])
    assert same_as_a_whole_refresh(db, org_id, days) == [
        (nov9, None, 1), (nov9, nov12, 1), (date(2026, 11, 11), None, 1)]


def test_customer_orders_sum_each_contacts_orders_and_follow_a_moved_order(db, make_org):
    org_id, _ = make_org()

    def order(oid, cid, amount, day, currency="BRL"):
        return {"type": "order", "id": oid, "contact": cid, "amount": amount,
                "currency": currency, "ordered_at": at(f"{day} 12:00")}

    def facts():
        return db.read(lambda conn: [tuple(r) for r in conn.execute(text(
            "SELECT k.external_id, o.frequency, o.last_order_at, o.total_e4, o.currency,"
            " o.other_currency FROM customer_orders o JOIN contact k"
            " ON k.organization_id = o.organization_id AND k.id = o.contact_id"
            " WHERE o.organization_id = :org ORDER BY 1"), {"org": org_id})])

    load(db, org_id, [
        contact("c1", "2026-11-01 08:00"),
        contact("c2", "2026-11-01 08:00"),
        order("o1", "c1", "10.50", "2026-11-09"),
        order("o2", "c1", "5.25", "2026-11-10", currency="USD"),
    ])
    # two orders, the last on Nov 10, 15.75 in ten-thousandths, currencies BRL..USD
    assert facts() == [("c1", 2, epoch("2026-11-10 12:00"), 157_500, "BRL", "USD")]
    load(db, org_id, [order("o2", "c2", "5.25", "2026-11-10", currency="USD")])
    assert facts() == [
        ("c1", 1, epoch("2026-11-09 12:00"), 105_000, "BRL", "BRL"),
        ("c2", 1, epoch("2026-11-10 12:00"), 52_500, "USD", "USD"),
    ]


def test_order_days_and_their_rollups_follow_every_change(db, make_org):
    """order_day per contact, local day and currency (with the next order day), and the rollups
    order_day_total / buyer_day, kept by subtracting and adding: after each change they equal
    what a whole refresh computes from scratch."""
    org_id, _ = make_org()
    nov = lambda d: (datetime(2026, 11, d).date() - datetime(1970, 1, 1).date()).days

    def order(oid, cid, amount, local, currency="BRL"):
        return {"type": "order", "id": oid, "contact": cid, "amount": amount,
                "currency": currency, "ordered_at": at(local)}

    def read():
        def q(conn, sql):
            return [tuple(r) for r in conn.execute(text(sql), {"org": org_id})]
        return db.read(lambda conn: (
            q(conn, "SELECT k.external_id, d.day, d.currency, d.orders, d.revenue_e4, d.next_day,"
                    " d.first_currency FROM order_day d JOIN contact k ON k.organization_id ="
                    " d.organization_id AND k.id = d.contact_id WHERE d.organization_id = :org"
                    " ORDER BY 1, 2, 3"),
            q(conn, "SELECT day, currency, orders, revenue_e4 FROM order_day_total"
                    " WHERE organization_id = :org ORDER BY 1, 2"),
            q(conn, "SELECT day, next_day, buyers FROM buyer_day WHERE organization_id = :org"
                    " ORDER BY 1, 2"),
            q(conn, "SELECT k.external_id, o.last_day, o.deleted FROM customer_orders o"
                    " JOIN contact k ON k.organization_id = o.organization_id"
                    " AND k.id = o.contact_id WHERE o.organization_id = :org ORDER BY 1"),
            q(conn, "SELECT last_day, frequency, currency, contacts, orders, revenue_e4"
                    " FROM customer_cell WHERE organization_id = :org ORDER BY 1, 2, 3"),
        ))

    load(db, org_id, [
        contact("c1", "2026-11-01 08:00"),
        contact("c2", "2026-11-01 08:00"),
        # 23:30 in São Paulo is 02:30 UTC the next day: it is Nov 9's order
        order("o1", "c1", "10.00", "2026-11-09 23:30"),
        order("o2", "c1", "5.00", "2026-11-09 08:00", currency="USD"),
        order("o3", "c1", "1.00", "2026-11-12 00:00"),
        order("o4", "c2", "2.00", "2026-11-12 09:00"),
    ])
    days, totals, buyers, customers, cells = same_as_a_whole_refresh(db, org_id, read)
    t = 1 if db.url.startswith("sqlite") else True
    f = 0 if db.url.startswith("sqlite") else False
    assert days == [
        ("c1", nov(9), "BRL", 1, 100_000, nov(12), t),  # BRL < USD: the day's first currency
        ("c1", nov(9), "USD", 1, 50_000, nov(12), f),
        ("c1", nov(12), "BRL", 1, 10_000, NO_NEXT_DAY, t),
        ("c2", nov(12), "BRL", 1, 20_000, NO_NEXT_DAY, t),
    ]
    assert totals == [(nov(9), "BRL", 1, 100_000), (nov(9), "USD", 1, 50_000),
                      (nov(12), "BRL", 2, 30_000)]
    # c1 bought on Nov 9 and next on Nov 12; c1 and c2 bought on Nov 12 and never again
    assert buyers == [(nov(9), nov(12), 1), (nov(12), NO_NEXT_DAY, 2)]
    assert customers == [("c1", nov(12), f), ("c2", nov(12), f)]
    # cells: single-currency contacts not deleted (c1 pays in two currencies)
    assert cells == [(nov(12), 1, "BRL", 1, 1, 20_000)]

    # o3 moves to c2 and o2 changes amount; c1 is deleted
    load(db, org_id, [
        contact("c1", "2026-11-01 08:00", deleted_at=at("2026-11-20 10:00")),
        order("o3", "c2", "1.00", "2026-11-12 00:00"),
        order("o2", "c1", "7.00", "2026-11-09 08:00", currency="USD"),
    ])
    days, totals, buyers, customers, cells = same_as_a_whole_refresh(db, org_id, read)
    assert cells == [(nov(12), 2, "BRL", 1, 2, 30_000)]  # c1 deleted
    assert totals == [(nov(9), "BRL", 1, 100_000), (nov(9), "USD", 1, 70_000),
                      (nov(12), "BRL", 2, 30_000)]
    assert buyers == [(nov(9), NO_NEXT_DAY, 1), (nov(12), NO_NEXT_DAY, 1)]
    assert customers == [("c1", nov(9), t), ("c2", nov(12), f)]
    assert ("c2", nov(12), "BRL", 2, 30_000, NO_NEXT_DAY, t) in days


def test_close_facts_and_their_rollups_follow_every_change(db, make_org):
    """close_fact per closed conversation (row, local day, the contact's previous close day in
    that row, duration buckets), and the rollups reason_close_day / reason_close_bucket, kept by
    subtracting and adding: after each change they equal what a whole refresh computes."""
    org_id, _ = make_org()
    nov = lambda d: (datetime(2026, 11, d).date() - datetime(1970, 1, 1).date()).days

    def read():
        def q(conn, sql):
            return [tuple(r) for r in conn.execute(text(sql), {"org": org_id})]
        return db.read(lambda conn: (
            q(conn, "SELECT v.external_id, k.external_id, CASE WHEN f.row_key = 0 THEN 'T'"
                    " ELSE r.external_id END, f.day, f.prev_day, f.close_business_s,"
                    " f.close_calendar_s, f.business_bucket, f.calendar_bucket FROM close_fact f"
                    " JOIN conversation v ON v.organization_id = f.organization_id"
                    " AND v.id = f.conversation_id"
                    " JOIN contact k ON k.organization_id = f.organization_id AND k.id = f.contact_id"
                    " LEFT JOIN closing_reason r ON r.organization_id = f.organization_id"
                    " AND r.id = f.row_key WHERE f.organization_id = :org ORDER BY 1"),
            q(conn, "SELECT row_key, day, prev_day, conversations FROM reason_close_day"
                    " WHERE organization_id = :org ORDER BY 1, 2, 3"),
            q(conn, "SELECT measure, day, row_key, bucket, conversations FROM reason_close_bucket"
                    " WHERE organization_id = :org ORDER BY 1, 2, 3, 4"),
        ))

    def closed(vid, cid, started, ended, reason=None, **more):
        return conversation(vid, cid, "ana", started, status="CLOSED", closed_at=ended,
                            closing_reason=reason, **more)

    load(db, org_id, [
        contact("c1", "2026-11-01 08:00"),
        contact("c2", "2026-11-01 08:00"),
        # Mon Nov 9, 09:00-10:00: 3600 s of both
        closed("v1", "c1", "2026-11-09 09:00", "2026-11-09 10:00", "venta"),
        # the same contact, the same reason, the same day: its previous close is that day
        closed("v2", "c1", "2026-11-09 11:00", "2026-11-09 11:05", "venta"),
        # 23:30 local (02:30 UTC the next day) is Nov 10's close; 17:30-18:00 in business hours
        closed("v3", "c1", "2026-11-10 17:30", "2026-11-10 23:30", "venta"),
        # a transfer: the Assignments row (0)
        closed("v4", "c2", "2026-11-10 09:00", "2026-11-10 09:00", transferred_to="bia"),
        closed("v5", "c2", "2026-11-12 09:00", "2026-11-12 09:42", "no-interesado"),
        # closed without a reason or a transfer: no row, no fact
        closed("v6", "c2", "2026-11-12 10:00", "2026-11-12 11:00"),
        conversation("v7", "c2", "ana", "2026-11-12 12:00"),  # open
        # a reason that does not close: a row of its own, not among the closed (row -1)
        closed("v8", "c1", "2026-11-11 09:00", "2026-11-11 09:01", "esperando-visita"),
    ])
    facts, days, buckets = same_as_a_whole_refresh(db, org_id, read)
    none = -1  # NO_PREVIOUS_DAY
    assert facts == [
        ("v1", "c1", "venta", nov(9), none, 3600, 3600, 435, 435),
        ("v2", "c1", "venta", nov(9), nov(9), 300, 300, 330, 330),
        ("v3", "c1", "venta", nov(10), nov(9), 1800, 21600, 415, 520),
        ("v4", "c2", "T", nov(10), none, 0, 0, 100, 100),
        ("v5", "c2", "no-interesado", nov(12), none, 2520, 2520, 425, 425),
        ("v8", "c1", "esperando-visita", nov(11), none, 60, 60, 260, 260),
    ]
    reason_ids = dict(db.read(lambda conn: conn.execute(text(
        "SELECT external_id, id FROM closing_reason WHERE organization_id = :org"),
        {"org": org_id}).all()))
    venta, no_interesado, visita = (
        reason_ids[r] for r in ("venta", "no-interesado", "esperando-visita")
    )
    assert days == sorted([
        # the closed: c1 on Nov 9 (twice) and 10, c2 on Nov 10 (transfer) and 12
        (-1, nov(9), none, 1), (-1, nov(9), nov(9), 1), (-1, nov(10), nov(9), 1),
        (-1, nov(10), none, 1), (-1, nov(12), nov(10), 1),
        (0, nov(10), none, 1), (visita, nov(11), none, 1),
        (venta, nov(9), none, 1), (venta, nov(9), nov(9), 1), (venta, nov(10), nov(9), 1),
        (no_interesado, nov(12), none, 1),
    ])
    assert (0, nov(9), venta, 435, 1) in buckets and (1, nov(10), venta, 520, 1) in buckets
    assert sum(n for *_, n in buckets) == 2 * len(facts)

    # v1 moves to c2 and to Nov 11 (Wed) 09:00-09:20; v5 becomes a sale; v4's transfer is undone
    load(db, org_id, [
        closed("v1", "c2", "2026-11-11 09:00", "2026-11-11 09:20", "venta"),
        closed("v5", "c2", "2026-11-12 09:00", "2026-11-12 09:42", "venta"),
        closed("v4", "c2", "2026-11-10 09:00", "2026-11-10 09:00"),
    ])
    facts, days, buckets = same_as_a_whole_refresh(db, org_id, read)
    assert facts == [
        ("v1", "c2", "venta", nov(11), none, 1200, 1200, 410, 410),
        ("v2", "c1", "venta", nov(9), none, 300, 300, 330, 330),
        ("v3", "c1", "venta", nov(10), nov(9), 1800, 21600, 415, 520),
        ("v5", "c2", "venta", nov(12), nov(11), 2520, 2520, 425, 425),
        ("v8", "c1", "esperando-visita", nov(11), none, 60, 60, 260, 260),
    ]
    assert days == sorted([
        (-1, nov(9), none, 1), (-1, nov(10), nov(9), 1),
        (-1, nov(11), none, 1), (-1, nov(12), nov(11), 1),
        (visita, nov(11), none, 1),
        (venta, nov(9), none, 1), (venta, nov(10), nov(9), 1),
        (venta, nov(11), none, 1), (venta, nov(12), nov(11), 1),
    ])
    assert sum(n for *_, n in buckets) == 2 * len(facts)

    # "Esperando visita" is made a reason that closes: v8 joins c1's closed conversations
    name = db.read(lambda conn: conn.execute(text(
        "SELECT name FROM closing_reason WHERE organization_id = :org AND id = :id"),
        {"org": org_id, "id": visita}).scalar())
    load(db, org_id, [{"type": "closing_reason", "id": "esperando-visita", "name": name,
                       "closes": True}])
    facts, days, buckets = same_as_a_whole_refresh(db, org_id, read)
    assert [row for row in days if row[0] == -1] == [
        (-1, nov(9), none, 1), (-1, nov(10), nov(9), 1), (-1, nov(11), none, 1),
        (-1, nov(11), nov(10), 1), (-1, nov(12), nov(11), 1),
    ]


def test_conversation_hours_count_the_commercial_ones_and_follow_a_changed_kind(db, make_org):
    """conversation_hour counts every conversation started per channel (and '*') and local
    hour, and the commercial ones; a conversation re-sent as SUPPORT, or moved to another hour
    and channel, is taken out of its old cell."""
    org_id, _ = make_org()
    day = (datetime(2026, 11, 9).date() - datetime(1970, 1, 1).date()).days

    def read():
        return db.read(lambda conn: [tuple(r) for r in conn.execute(text(
            "SELECT channel, hour - :day * 24, conversations, commercial FROM conversation_hour"
            " WHERE organization_id = :org ORDER BY 1, 2"), {"org": org_id, "day": day})])

    load(db, org_id, [
        contact("c1", "2026-11-01 08:00"),
        conversation("v1", "c1", "ana", "2026-11-09 10:15"),
        conversation("v2", "c1", "ana", "2026-11-09 10:45", kind="SUPPORT"),
        # 23:30 in São Paulo: hour 23 of Nov 9 (02:30 UTC on Nov 10)
        conversation("v3", "c1", "ana", "2026-11-09 23:30", channel="EMAIL"),
    ])
    assert same_as_a_whole_refresh(db, org_id, read) == [
        ("*", 10, 2, 1), ("*", 23, 1, 1), ("EMAIL", 23, 1, 1), ("WHATSAPP", 10, 2, 1),
    ]
    load(db, org_id, [
        conversation("v1", "c1", "ana", "2026-11-09 10:15", kind="SUPPORT"),
        conversation("v3", "c1", "ana", "2026-11-09 11:30", channel="WHATSAPP"),
    ])
    assert same_as_a_whole_refresh(db, org_id, read) == [
        ("*", 10, 2, 0), ("*", 11, 1, 1), ("WHATSAPP", 10, 2, 0), ("WHATSAPP", 11, 1, 1),
    ]


def test_a_campaign_send_points_at_the_contacts_next_commercial_conversation_and_order(
    db, make_org,
):
    """Each campaign send keeps its contact's first commercial conversation and first order at
    or after it (the funnels' conversion): an event at the same second as the send counts, an
    earlier one, a support conversation and another contact's events do not."""
    org_id, _ = make_org()

    def send(mid: str, cid: str, sent: str) -> dict:
        return {"type": "message", "id": mid, "contact": cid, "channel": "WHATSAPP",
                "direction": "OUTBOUND", "sender": "CAMPAIGN", "campaign": "promo",
                "status": "DELIVERED", "sent_at": at(sent)}

    def order(oid: str, cid: str, ordered: str) -> dict:
        return {"type": "order", "id": oid, "contact": cid, "amount": "10.00",
                "currency": "BRL", "ordered_at": at(ordered)}

    load(db, org_id, [
        {"type": "campaign", "id": "promo", "name": "Promo", "channel": "WHATSAPP",
         "sent_at": at("2026-11-02 09:00")},
        contact("c1", "2026-11-01 08:00"), contact("c2", "2026-11-01 08:00"),
        order("o-before", "c1", "2026-11-02 09:59"),
        send("s1", "c1", "2026-11-02 10:00"),
        conversation("v-same-second", "c1", "ana", "2026-11-02 10:00"),
        conversation("v-support", "c1", "ana", "2026-11-02 10:30", kind="SUPPORT"),
        order("o-next", "c1", "2026-11-03 12:00"),
        send("s2", "c1", "2026-11-04 10:00"),  # nothing after it
        send("s3", "c2", "2026-11-02 10:00"),  # c2 has no events: c1's must not count
        conversation("v-later", "c1", "ana", "2026-11-05 10:00"),
        order("o-later", "c1", "2026-11-05 11:00"),
    ])

    def sends():
        rows = db.read(lambda conn: conn.execute(text(
            "SELECT m.external_id, s.next_commercial_at, s.next_order_at, s.next_event_at"
            " FROM campaign_send s JOIN message m ON m.organization_id = s.organization_id"
            " AND m.id = s.message_id WHERE s.organization_id = :org ORDER BY 1"),
            {"org": org_id}).all())
        return [tuple(r) for r in rows]

    assert same_as_a_whole_refresh(db, org_id, sends) == [
        ("s1", epoch("2026-11-02 10:00"), epoch("2026-11-03 12:00"), epoch("2026-11-02 10:00")),
        ("s2", epoch("2026-11-05 10:00"), epoch("2026-11-05 11:00"), epoch("2026-11-05 10:00")),
        ("s3", None, None, None),
    ]
