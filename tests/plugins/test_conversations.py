"""New contacts and conversations report (SPEC 6.3), on a small hand-built dataset.

The organization works Monday to Friday 09:00-18:00 in America/Sao_Paulo (UTC-3 all year) with
Brazil's national holidays: Friday 2026-11-20 (Consciência Negra) is one. The report covers
Monday 16 .. Sunday 22 November 2026; the previous period is Monday 9 .. Sunday 15.

Advisors: ana and bia (humans), robo (a bot). Groups: sales, support.

| contact | created (local)   | origin    | entry -> current | what happens                                  |
|---------|-------------------|-----------|------------------|-----------------------------------------------|
| c0      | Sat 14 10:00 prev | Facebook  | sales            | ana answers 10:20 (Saturday: 0 business s)    |
| c1      | Mon 16 10:00      | Facebook  | sales            | bot replies 10:01, then ana 10:30             |
| c2      | Mon 16 17:00      | Google    | sales            | automatic welcome 17:00:05, ana Tue 09:30     |
| c3      | Wed 18 17:50      | Google    | support          | calls in (inbound), ana calls back 18:10: the |
|         |                   |           |                  | contact rejects the call (it still counts)    |
| c4      | Thu 19 09:00      | Google    | sales            | ana 09:10 and 09:40; asks again 17:00; ana    |
|         |                   |           |                  | answers Sat 21 10:00 (across the holiday)     |
| c5      | Tue 17 11:00      | Facebook  | sales            | deleted on Wed 18; never answered             |
| c6      | Tue 17 15:00      | Instagram | sales -> support | bia e-mails 15:10; closed "No interesado"     |
| c7      | Wed 18 10:00      | Instagram | support          | ana SMS 10:05, transfers to bia at 11:00      |
| c8      | Wed 18 16:00      | (none)    | (none)           | bot only; closed "Esperando visita" (no close)|
| c9      | Thu 19 14:00      | Facebook  | sales            | bia Messenger 14:40; closed "Venta" Fri 10:00 |
| c10     | Sun 22 23:30      | Site      | support          | conversation at 23:30; bia answers Mon 23     |
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from tablero import ClosingReasonRule, epoch_day, hookimpl
from tablero.ingest import ingest_records
from tablero.orgs import create_organization
from tablero.plugin_manager import Registry, make_plugin_manager

PERIOD = {"preset": "CUSTOM", "start": "2026-11-16", "end": "2026-11-22"}
CSV_PERIOD = {"period": "CUSTOM", "start": "2026-11-16", "end": "2026-11-22"}


def at(day: int, hhmm: str) -> str:
    """A local São Paulo instant in November 2026."""
    return f"2026-11-{day:02d}T{hhmm}-03:00"


def contact(id, day, hhmm, origin, entry=None, current=None, **extra):
    record = {"type": "contact", "id": id, "phone": "+5511987650000", "created_at": at(day, hhmm)}
    if origin:
        record["origin"] = origin
    if entry:
        record["entry_group"] = entry
    if current or entry:
        record["current_group"] = current or entry
    return record | extra


def conversation(id, contact, advisor, day, hhmm, channel="WHATSAPP", **extra):
    return {
        "type": "conversation", "id": id, "contact": contact, "advisor": advisor,
        "kind": "COMMERCIAL", "channel": channel, "status": "IN_PROGRESS",
        "started_at": at(day, hhmm),
    } | extra  # fmt: skip


def closed(reason=None, day=None, hhmm=None, **extra):
    fields = {"status": "CLOSED", "closed_at": at(day, hhmm)}
    return fields | ({"closing_reason": reason} if reason else {}) | extra


def says(id, contact, conv, day, hhmm, channel="WHATSAPP", **extra):
    """The contact writes (or calls) in."""
    return {
        "type": "message", "id": id, "contact": contact, "conversation": conv,
        "channel": channel, "direction": "INBOUND", "sender": "CONTACT",
        "sent_at": at(day, hhmm),
    } | extra  # fmt: skip


def answers(id, contact, conv, advisor, day, hhmm, channel="WHATSAPP", sender="ADVISOR", **extra):
    """An advisor (or the bot) writes (or calls) out."""
    return {
        "type": "message", "id": id, "contact": contact, "conversation": conv,
        "channel": channel, "direction": "OUTBOUND", "sender": sender, "advisor": advisor,
        "sent_at": at(day, hhmm),
    } | extra  # fmt: skip


WEEKDAYS_9_TO_18 = {str(d): [["09:00", "18:00"]] for d in range(1, 6)}

# fmt: off
RECORDS = [
    {"type": "schedule", "advisor": None, "timezone": "America/Sao_Paulo",
     "weekly": WEEKDAYS_9_TO_18, "holidays": {"country": "BR"}},
    {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
    {"type": "user", "id": "bia", "name": "Bia", "profile": "AGENT"},
    {"type": "user", "id": "robo", "name": "Robô", "profile": "AGENT", "is_bot": True},
    {"type": "group", "id": "sales", "name": "Sales"},
    {"type": "group", "id": "support", "name": "Support"},
    # c0, previous period: answered on a Saturday -> 1200 calendar s, 0 business s.
    contact("c0", 14, "10:00", "Facebook", "sales"),
    conversation("v0", "c0", "ana", 14, "10:00"),
    says("m0a", "c0", "v0", 14, "10:00"),
    answers("m0b", "c0", "v0", "ana", 14, "10:20"),
    # c1: the bot's reply does not count; ana's at 10:30 does -> 1800 s.
    contact("c1", 16, "10:00", "Facebook", "sales"),
    conversation("v1", "c1", "ana", 16, "10:00"),
    says("m1a", "c1", "v1", 16, "10:00"),
    answers("m1b", "c1", "v1", "robo", 16, "10:01", sender="BOT"),
    answers("m1c", "c1", "v1", "ana", 16, "10:30"),
    # c2: the automatic welcome does not count; ana answers next morning:
    # calendar Mon 17:00 -> Tue 09:30 = 16.5 h = 59400 s; business 17:00-18:00 + 09:00-09:30.
    contact("c2", 16, "17:00", "Google", "sales"),
    conversation("v2", "c2", "ana", 16, "17:00"),
    says("m2a", "c2", "v2", 16, "17:00"),
    answers("m2b", "c2", "v2", "ana", 16, "17:00:05", automatic=True),
    answers("m2c", "c2", "v2", "ana", 17, "09:30"),
    # c3: an inbound call is the contact's, not an answer; ana's call at 18:10, rejected by the
    # contact, is: calendar 20 min = 1200 s, business 17:50-18:00 = 600 s.
    contact("c3", 18, "17:50", "Google", "support"),
    conversation("v3", "c3", "ana", 18, "17:50", channel="VOICE_CALL"),
    says("m3a", "c3", "v3", 18, "17:50", channel="VOICE_CALL", call_outcome="ACCEPTED"),
    answers("m3b", "c3", "v3", "ana", 18, "18:10", channel="VOICE_CALL", call_outcome="REJECTED"),
    # c4: ana writes twice on Thursday (one interaction) and again on Saturday (a second one).
    # The 17:00 question waits across the holiday: calendar Thu 17:00 -> Sat 10:00 = 41 h =
    # 147600 s; business only Thu 17:00-18:00 = 3600 s (Friday is a holiday, Saturday closed).
    contact("c4", 19, "09:00", "Google", "sales"),
    conversation("v4", "c4", "ana", 19, "09:00"),
    says("m4a", "c4", "v4", 19, "09:00"),
    answers("m4b", "c4", "v4", "ana", 19, "09:10"),
    answers("m4c", "c4", "v4", "ana", 19, "09:40"),
    says("m4d", "c4", "v4", 19, "17:00"),
    answers("m4e", "c4", "v4", "ana", 21, "10:00"),
    # c5: deleted, never answered.
    contact("c5", 17, "11:00", "Facebook", "sales", deleted_at=at(18, "09:00")),
    # c6: entered sales, now in support; bia answers by e-mail in 600 s; closed "No interesado".
    contact("c6", 17, "15:00", "Instagram", "sales", "support"),
    conversation("v6", "c6", "bia", 17, "15:00", channel="EMAIL",
                 **closed("no-interesado", 18, "12:00")),
    says("m6a", "c6", "v6", 17, "15:00", channel="EMAIL"),
    answers("m6b", "c6", "v6", "bia", 17, "15:10", channel="EMAIL"),
    # c7: ana answers by SMS in 300 s, then transfers to bia (the transfer closes v7a).
    contact("c7", 18, "10:00", "Instagram", "support"),
    conversation("v7a", "c7", "ana", 18, "10:00", channel="SMS",
                 **closed(None, 18, "11:00", transferred_to="bia")),
    says("m7a", "c7", "v7a", 18, "10:00", channel="SMS"),
    answers("m7b", "c7", "v7a", "ana", 18, "10:05", channel="SMS"),
    conversation("v7b", "c7", "bia", 18, "11:00"),
    answers("m7c", "c7", "v7b", "bia", 18, "11:30"),
    # c8: only the bot answers; "Esperando visita" does not close.
    contact("c8", 18, "16:00", None),
    conversation("v8", "c8", "ana", 18, "16:00", **closed("esperando-visita", 19, "10:00")),
    says("m8a", "c8", "v8", 18, "16:00"),
    answers("m8b", "c8", "v8", "robo", 18, "16:01", sender="BOT"),
    # c9: bia answers on Messenger in 2400 s; "Venta" closes on Friday.
    contact("c9", 19, "14:00", "Facebook", "sales"),
    conversation("v9", "c9", "bia", 19, "14:00", channel="FACEBOOK_MESSENGER",
                 **closed("venta", 20, "10:00")),
    says("m9a", "c9", "v9", 19, "14:00", channel="FACEBOOK_MESSENGER"),
    answers("m9b", "c9", "v9", "bia", 19, "14:40", channel="FACEBOOK_MESSENGER"),
    # c10: created and its conversation started Sunday 23:30 local (Monday 02:30 UTC); bia
    # answers Monday 23 at 09:00 (after the period): 9.5 h = 34200 calendar s, 0 business s.
    contact("c10", 22, "23:30", "Site", "support"),
    conversation("v10", "c10", "bia", 22, "23:30", status="NEW"),
    says("m10a", "c10", "v10", 22, "23:30"),
    answers("m10b", "c10", "v10", "bia", 23, "09:00"),
]
# fmt: on

# Another organization with the same records and one more contact: none of it may count above.
OTHER_RECORDS = RECORDS + [contact("other-only", 16, "12:00", "Facebook", "sales")]

REPORT = """
query Report($filters: ReportFiltersInput, $granularity: Granularity! = DAY) {
  conversationsReport(filters: $filters) {
    period { start end previousStart previousEnd timezone }
    firstResponseTime {
      business { value previousValue change changePercent }
      calendar { value previousValue change changePercent }
      answeredContacts unansweredContacts
    }
    responseTime {
      business { value previousValue change changePercent }
      calendar { value previousValue change changePercent }
      answers
    }
    interactions(granularity: $granularity) { granularity buckets values total }
    newContacts(granularity: $granularity) { buckets values total }
    newConversations(granularity: $granularity) { buckets values total }
    closedConversations(granularity: $granularity) { buckets values total }
    origins { origin newContacts engaged closed }
    busiestHours { cells { weekday hour value } total max }
    refreshedAt
  }
}
"""

_DATASETS: dict[str, tuple[str, str]] = {}


@pytest.fixture
def orgs(db):
    """(main org key, other org key), ingested once per database."""
    if db.url not in _DATASETS:
        keys = []
        for name, records in (("main", RECORDS), ("other", OTHER_RECORDS)):
            key = f"conversations-{name}"
            org_id = db.write(lambda conn, key=key: create_organization(conn, key, key))
            ingest_records(db, org_id, records)
            keys.append(key)
        _DATASETS[db.url] = tuple(keys)
    return _DATASETS[db.url]


@pytest.fixture
def api(orgs, make_api):
    return make_api(orgs[0])


def report(api, *, granularity="DAY", profile="ADMIN", user=None, **filters):
    variables = {"filters": {"period": PERIOD} | filters, "granularity": granularity}
    return api.data(REPORT, variables, profile=profile, user=user)["conversationsReport"]


def cell(heatmap, weekday, hour):
    return next(
        c["value"] for c in heatmap["cells"] if (c["weekday"], c["hour"]) == (weekday, hour)
    )


def comparison(value, previous, change, percent):
    return {"value": value, "previousValue": previous, "change": change, "changePercent": percent}


def test_period_and_previous_period(api):
    assert report(api)["period"] == {
        "start": "2026-11-16",
        "end": "2026-11-22",
        "previousStart": "2026-11-09",
        "previousEnd": "2026-11-15",
        "timezone": "America/Sao_Paulo",
    }


def test_first_response_time(api):
    figures = report(api)
    first = figures["firstResponseTime"]
    # Contacts created in the period: c1..c10 (c5 deleted, still one of them). Answered: 8;
    # never answered: c5 (deleted) and c8 (only the bot wrote). Together: the new contacts.
    assert (first["answeredContacts"], first["unansweredContacts"]) == (8, 2)
    assert figures["newContacts"]["total"] == 10
    # Calendar seconds: c7 300, c4 600, c6 600, c3 1200, c1 1800, c9 2400, c10 34200,
    # c2 59400 -> median (1200 + 1800) / 2 = 1500. Previous period: c0 1200.
    assert first["calendar"] == comparison(1500.0, 1200.0, 300.0, 25.0)
    # Business seconds: c10 0, c7 300, c3 600, c4 600, c6 600, c1 1800, c9 2400, c2 5400
    # -> median (600 + 600) / 2 = 600. Previous: c0 answered on a Saturday -> 0, so the change
    # is +600 and the percentage is null (no division by zero).
    assert first["business"] == comparison(600.0, 0.0, 600.0, None)


def test_response_time(api):
    response = report(api)["responseTime"]
    # Answers given in the period (c10's came on the 23rd, after it): v1, v2, v3, v4 twice,
    # v6, v7a, v9 = 8. v8 had only a bot reply: no answer.
    assert response["answers"] == 8
    # Calendar: 300 (v7a), 600 (v4), 600 (v6), 1200 (v3), 1800 (v1), 2400 (v9),
    # 59400 (v2, overnight), 147600 (v4, across the holiday) -> (1200 + 1800) / 2 = 1500.
    assert response["calendar"] == comparison(1500.0, 1200.0, 300.0, 25.0)
    # Business: 300, 600 (v3), 600 (v4), 600 (v6), 1800, 2400, 3600 (v4 across the holiday:
    # only Thursday 17:00-18:00), 5400 (v2) -> (600 + 1800) / 2 = 1200. Previous: 0 (Saturday).
    assert response["business"] == comparison(1200.0, 0.0, 1200.0, None)


def test_interactions_are_distinct_advisor_contact_days(api):
    interactions = report(api)["interactions"]
    assert interactions["buckets"][0] == "2026-11-16"
    # Mon 16: ana-c1 (the bot and the automatic welcome to c2 are not interactions)
    # Tue 17: ana-c2, bia-c6 | Wed 18: ana-c3 (rejected call), ana-c7, bia-c7
    # Thu 19: ana-c4 (09:10 and 09:40: one), bia-c9 | Fri 20: none | Sat 21: ana-c4 again
    assert interactions["values"] == [1, 2, 3, 2, 0, 1, 0]
    assert interactions["total"] == 9 == sum(interactions["values"])


def test_weekly_series_sum_their_days(api):
    weekly = report(api, granularity="WEEK", period={
        "preset": "CUSTOM", "start": "2026-11-09", "end": "2026-11-22"})  # fmt: skip
    assert weekly["interactions"]["buckets"] == ["2026-11-09", "2026-11-16"]
    assert weekly["interactions"]["values"] == [1, 9]  # ana-c0 on Saturday 14; then the 9 above
    assert weekly["newContacts"]["values"] == [1, 10]
    assert weekly["newConversations"]["values"] == [1, 10]


def test_new_contacts_include_deleted_and_use_the_entry_group(api):
    new = report(api)["newContacts"]
    # Mon: c1 c2 | Tue: c5 (deleted) c6 | Wed: c3 c7 c8 | Thu: c4 c9 | Sun 23:30: c10
    assert new["values"] == [2, 2, 3, 2, 0, 0, 1]
    assert new["total"] == 10
    # Entered into sales: c1 c2 c4 c5 c6 c9 (c6 has moved to support since).
    assert report(api, group="sales")["newContacts"]["total"] == 6
    assert report(api, group="support")["newContacts"]["total"] == 3  # c3 c7 c10
    assert report(api, origin="Facebook")["newContacts"]["total"] == 3  # c1 c5 c9


def test_new_conversations_and_channel_filter(api):
    figures = report(api)
    # Mon: v1 v2 | Tue: v6 | Wed: v3 v7a v7b v8 | Thu: v4 v9 | Sun: v10
    assert figures["newConversations"]["values"] == [2, 1, 4, 2, 0, 0, 1]
    assert figures["newConversations"]["total"] == 10
    whatsapp = report(api, channel="WHATSAPP")
    assert whatsapp["newConversations"]["total"] == 6  # v1 v2 v4 v7b v8 v10
    # The channel does not apply to contacts.
    assert whatsapp["newContacts"]["total"] == 10


def test_closed_conversations_count_transfers_but_not_reasons_that_do_not_close(api):
    closed_series = report(api)["closedConversations"]
    # Wed 18: v6 "No interesado" and v7a (transferred) | Thu 19: v8 "Esperando visita" does
    # not close | Fri 20: v9 "Venta".
    assert closed_series["values"] == [0, 0, 2, 0, 1, 0, 0]
    assert closed_series["total"] == 3


def test_a_plugin_rule_decides_what_closes(orgs, make_api):
    class WaitingForAVisitCloses:
        @staticmethod
        @hookimpl
        def tablero_closing_reason_rules():
            return [ClosingReasonRule("esperando-visita", closes=True)]

    registry = Registry.collect(make_plugin_manager(plugins=[WaitingForAVisitCloses]))
    api = make_api(orgs[0], registry=registry)
    figures = report(api)
    assert figures["closedConversations"]["values"] == [0, 0, 2, 1, 1, 0, 0]
    assert next(r for r in figures["origins"] if r["origin"] is None)["closed"] == 1  # c8


def test_origins_exclude_deleted_contacts(api):
    assert report(api)["origins"] == [
        # c2 c3 c4: all answered, none closed.
        {"origin": "Google", "newContacts": 3, "engaged": 3, "closed": 0},
        # c1 c9 (c5 is deleted): both answered; c9 closed "Venta".
        {"origin": "Facebook", "newContacts": 2, "engaged": 2, "closed": 1},
        # c6 closed "No interesado"; c7's first conversation was transferred.
        {"origin": "Instagram", "newContacts": 2, "engaged": 2, "closed": 2},
        # c10 answered on the 23rd (before now); contacts without origin come last.
        {"origin": "Site", "newContacts": 1, "engaged": 1, "closed": 0},
        {"origin": None, "newContacts": 1, "engaged": 0, "closed": 0},  # c8
    ]


def test_origins_filtered_by_group_use_the_current_group(api):
    # Currently in support: c3, c6 (moved there from sales), c7, c10.
    assert report(api, group="support")["origins"] == [
        {"origin": "Instagram", "newContacts": 2, "engaged": 2, "closed": 2},
        {"origin": "Google", "newContacts": 1, "engaged": 1, "closed": 0},
        {"origin": "Site", "newContacts": 1, "engaged": 1, "closed": 0},
    ]
    # Currently in sales: c1 c2 c4 c9 — not c6, not c5 (deleted).
    assert report(api, group="sales")["origins"] == [
        {"origin": "Facebook", "newContacts": 2, "engaged": 2, "closed": 1},
        {"origin": "Google", "newContacts": 2, "engaged": 2, "closed": 0},
    ]


def test_busiest_hours_in_the_organization_time_zone(api):
    figures = report(api)
    heatmap = figures["busiestHours"]
    assert len(heatmap["cells"]) == 168
    assert (heatmap["total"], heatmap["max"]) == (10, 1)
    # v10 started Sunday 22 at 23:30 local (Monday 02:30 UTC): Sunday (7), 23 h, on the 22nd.
    assert cell(heatmap, 7, 23) == 1
    assert cell(heatmap, 1, 2) == 0
    assert figures["newConversations"]["values"][6] == 1
    # Wednesday: v7a 10 h, v7b 11 h, v8 16 h, v3 17 h.
    assert [cell(heatmap, 3, h) for h in (10, 11, 16, 17)] == [1, 1, 1, 1]


def test_refreshed_at_is_local_time(api):
    refreshed = datetime.fromisoformat(report(api)["refreshedAt"])
    assert refreshed.utcoffset().total_seconds() == -3 * 3600
    assert refreshed <= datetime.now(UTC)


def test_as_of_reproduces_an_earlier_dashboard(api):
    # As of Monday 23 at 08:00, c10 had not been answered yet.
    earlier = report(api, asOf="2026-11-23T08:00:00-03:00")
    first = earlier["firstResponseTime"]
    assert (first["answeredContacts"], first["unansweredContacts"]) == (7, 3)
    # Calendar without c10: 300 600 600 1200 1800 2400 59400 -> 1200.
    assert first["calendar"]["value"] == 1200.0
    assert next(r for r in earlier["origins"] if r["origin"] == "Site")["engaged"] == 0


def test_agent_sees_only_their_own_work(api):
    mine = report(api, profile="AGENT", user="ana")
    # ana's contacts (a conversation held by her) created in the period: c1 c2 c3 c4 c7 c8.
    assert mine["newContacts"]["total"] == 6
    first = mine["firstResponseTime"]
    assert (first["answeredContacts"], first["unansweredContacts"]) == (5, 1)  # c8 unanswered
    # Calendar 300 600 1200 1800 59400 -> 1200; business 300 600 600 1800 5400 -> 600.
    assert first["calendar"]["value"] == 1200.0
    assert first["business"]["value"] == 600.0
    # Her answers: 300 600 1200 1800 59400 147600 -> 1500; business 300 600 600 1800 3600 5400
    # -> 1200.
    response = mine["responseTime"]
    assert response["answers"] == 6
    assert (response["calendar"]["value"], response["business"]["value"]) == (1500.0, 1200.0)
    assert mine["interactions"]["values"] == [1, 1, 2, 1, 0, 1, 0]
    assert mine["newConversations"]["total"] == 6  # v1 v2 v3 v4 v7a v8
    assert mine["closedConversations"]["total"] == 1  # v7a, her transfer
    assert mine["busiestHours"]["total"] == 6
    assert mine["origins"] == [
        {"origin": "Google", "newContacts": 3, "engaged": 3, "closed": 0},
        {"origin": "Facebook", "newContacts": 1, "engaged": 1, "closed": 0},
        {"origin": "Instagram", "newContacts": 1, "engaged": 1, "closed": 1},
        {"origin": None, "newContacts": 1, "engaged": 0, "closed": 0},
    ]
    # Asking for her own advisor is fine; for another advisor's work, FORBIDDEN.
    assert report(api, profile="AGENT", user="ana", advisor="ana") == mine
    variables = {"filters": {"period": PERIOD, "advisor": "bia"}}
    assert api.error_codes(REPORT, variables, profile="AGENT", user="ana") == ["FORBIDDEN"]


def test_advisor_filter(api):
    bia = report(api, advisor="bia")
    assert bia["closedConversations"]["total"] == 2  # v6 and v9; v7a was ana's
    assert bia["responseTime"]["answers"] == 2  # v6 and v9 (v7b had no question)


@pytest.mark.parametrize("profile", ["ADMIN", "OPERATOR", "VIEWER", "AGENT"])
def test_every_profile_may_see_the_report(api, profile):
    data = api.data(REPORT, {"filters": {"period": PERIOD}}, profile=profile)
    assert data["conversationsReport"]["newContacts"]["values"] is not None


def test_without_a_token_the_report_is_refused(api):
    response = api.request("POST", "/graphql", json={"query": REPORT})
    codes = [e["extensions"]["code"] for e in response.json()["errors"]]
    assert codes == ["UNAUTHENTICATED"]


def test_another_organization_rows_do_not_count(orgs, make_api):
    main, other = (report(make_api(key)) for key in orgs)
    # The other organization holds the same records plus one contact: only it sees that one.
    assert main["newContacts"]["total"] == 10
    assert other["newContacts"]["total"] == 11
    assert main["interactions"]["total"] == other["interactions"]["total"] == 9
    assert main["firstResponseTime"] == {
        **other["firstResponseTime"],
        "unansweredContacts": 2,
    }
    assert other["firstResponseTime"]["unansweredContacts"] == 3


def test_bad_input_is_a_clear_error(api):
    variables = {"filters": {"period": {"preset": "CUSTOM", "start": "2026-11-22",
                                        "end": "2026-11-16"}}}  # fmt: skip
    assert api.error_codes(REPORT, variables) == ["BAD_USER_INPUT"]
    assert api.error_codes(REPORT, {"filters": {"group": "nope"}}) == ["NOT_FOUND"]


# ---- CSV ---------------------------------------------------------------------------------------


def numbers(rows):
    """CSV cells back to numbers (empty -> None) for comparing with GraphQL."""

    def convert(cell):
        if cell in ("", None):
            return None
        try:
            return int(cell)
        except ValueError:
            try:
                return float(cell)
            except ValueError:
                return cell

    return [[convert(c) for c in row] for row in rows]


@pytest.mark.parametrize("filters", [{}, {"group": "support"}, {"channel": "WHATSAPP"}])
def test_csv_equals_graphql(api, filters):
    figures = report(api, **filters)
    status, origins = api.csv("/export/conversations/origins.csv", **CSV_PERIOD, **filters)
    assert status == 200
    assert origins[0] == ["origin", "new_contacts", "engaged", "closed"]
    assert numbers(origins[1:]) == [
        [r["origin"], r["newContacts"], r["engaged"], r["closed"]] for r in figures["origins"]
    ]

    status, series = api.csv("/export/conversations/series.csv", **CSV_PERIOD, **filters)
    assert series[0] == ["series", "bucket", "value"]
    expected = [
        [name, day, value]
        for name, key in (
            ("interactions", "interactions"),
            ("new_contacts", "newContacts"),
            ("new_conversations", "newConversations"),
            ("closed_conversations", "closedConversations"),
        )
        for day, value in zip(figures[key]["buckets"], figures[key]["values"], strict=True)
    ]
    assert numbers(series[1:]) == expected

    status, heatmap = api.csv("/export/conversations/heatmap.csv", **CSV_PERIOD, **filters)
    assert heatmap[0] == ["weekday", "hour", "conversations"]
    assert numbers(heatmap[1:]) == [
        [c["weekday"], c["hour"], c["value"]] for c in figures["busiestHours"]["cells"]
    ]

    status, summary = api.csv("/export/conversations/summary.csv", **CSV_PERIOD, **filters)
    first, response = figures["firstResponseTime"], figures["responseTime"]

    def row(name, c):
        return [name, c["value"], c["previousValue"], c["change"], c["changePercent"]]

    assert numbers(summary) == numbers([
        ["figure", "value", "previous_value", "change", "change_percent"],
        row("first_response_business_s", first["business"]),
        row("first_response_calendar_s", first["calendar"]),
        ["answered_contacts", first["answeredContacts"], "", "", ""],
        ["unanswered_contacts", first["unansweredContacts"], "", "", ""],
        row("response_business_s", response["business"]),
        row("response_calendar_s", response["calendar"]),
        ["answers", response["answers"], "", "", ""],
        ["interactions", figures["interactions"]["total"], "", "", ""],
        ["new_contacts", figures["newContacts"]["total"], "", "", ""],
        ["new_conversations", figures["newConversations"]["total"], "", "", ""],
        ["closed_conversations", figures["closedConversations"]["total"], "", "", ""],
    ])  # fmt: skip


def test_csv_weekly_series_and_agent_scope(api):
    status, rows = api.csv(
        "/export/conversations/series.csv", profile="AGENT", user="ana", granularity="WEEK",
        period="CUSTOM", start="2026-11-09", end="2026-11-22",
    )  # fmt: skip
    assert status == 200
    assert ["interactions", "2026-11-09", "1"] in rows  # ana-c0
    assert ["interactions", "2026-11-16", "6"] in rows
    assert ["closed_conversations", "2026-11-16", "1"] in rows


def test_csv_bad_granularity_is_a_clear_error(api):
    status, body = api.csv("/export/conversations/series.csv", granularity="HOUR", **CSV_PERIOD)
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# ---- the response histogram and the intervals agree ------------------------------------------

HISTOGRAM_CASES = {
    "period": {"period": PERIOD},
    "period_weekly": {"period": PERIOD},
    "whatsapp": {"period": PERIOD, "channel": "WHATSAPP"},
    # Thursday 19 at 10:00: ana's 09:10 answer to c4 lies in the day's part before asOf
    "as_of_thursday_10": {"period": PERIOD, "asOf": "2026-11-19T10:00:00-03:00"},
    # Saturday 21 at 12:00: ana's 10:00 answer across the holiday is in that part
    "last_7_as_of_saturday_noon": {
        "period": {"preset": "LAST_7_DAYS"}, "asOf": "2026-11-21T12:00:00-03:00"
    },
    "nothing_answered": {"period": {"preset": "CUSTOM", "start": "2026-09-01", "end": "2026-09-30"}},
    # Monday 23 at 08:00: c10 (created Sunday 23:30) was answered at 09:00, after asOf
    "as_of_monday_8": {"period": PERIOD, "asOf": "2026-11-23T08:00:00-03:00"},
    # Monday 16 at 10:15: c1 created at 10:00 (tail), answered 10:30 (after asOf)
    "today_as_of_monday_10_15": {"period": {"preset": "TODAY"}, "asOf": "2026-11-16T10:15:00-03:00"},
}


@pytest.mark.parametrize("case", sorted(HISTOGRAM_CASES))
def test_the_histograms_and_the_rows_give_the_same_report(api, db, case, monkeypatch):
    """Read once from the ``response_bucket`` and ``first_response_bucket`` histograms and the
    ``interaction_day`` rollup (and the rows of the part of asOf's day before it, and the
    contacts answered after asOf) and once from the ``response_interval``, ``contact`` and
    ``message`` rows: the same report."""
    from sqlalchemy import event
    from tablero.plugins.conversations import queries

    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    variables = {
        "filters": HISTOGRAM_CASES[case],
        "granularity": "WEEK" if case.endswith("weekly") else "DAY",
    }
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        from_histogram = api.data(REPORT, variables)["conversationsReport"]
        histogram_statements, statements[:] = list(statements), []
        monkeypatch.setattr(queries, "READ_FACTS", False)
        from_intervals = api.data(REPORT, variables)["conversationsReport"]
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert from_histogram == from_intervals
    assert any("FROM response_bucket" in s for s in histogram_statements)
    assert any("FROM first_response_bucket" in s for s in histogram_statements)
    rollups = ["interaction_day", "contact_day", "conversation_day", "conversation_hour"]
    # the origins' closed contacts: the contacts' first close, not their conversations
    assert not any("closed_conversation" in s for s in histogram_statements)
    assert any("closed_conversation" in s for s in statements)
    if case != "whatsapp":  # the close facts are kept over every channel only
        rollups.append("reason_close_day")
    for rollup in rollups:
        assert any(f"FROM {rollup}" in s for s in histogram_statements), rollup
    assert not any(
        name in s for s in statements
        for name in ("response_bucket", "interaction_day", "contact_day", "conversation_day",
                     "conversation_hour", "reason_close_day")
    )
    if case == "as_of_monday_8":
        first = from_histogram["firstResponseTime"]
        # c10 was answered at 09:00, after asOf: taken out of the histogram
        assert (first["answeredContacts"], first["unansweredContacts"]) == (7, 3)
        assert first["calendar"]["value"] == 1200.0
    if case == "as_of_thursday_10":
        # Mon 16: ana-c1 (the automatic welcome to c2 is none); Tue 17: ana-c2, bia-c6;
        # Wed 18: ana-c3, ana-c7, bia-c7; Thu 19 before 10:00: ana-c4 (twice: one interaction)
        assert from_histogram["interactions"]["values"][:4] == [1, 2, 3, 1]
        response = from_histogram["responseTime"]
        # answered by then: v7a 300, v4 (09:10) 600, v6 600, v3 1200 (business 600),
        # v1 1800, v2 59400 (business 5400)
        assert response["answers"] == 6
        assert response["calendar"]["value"] == (600 + 1200) / 2
        assert response["business"]["value"] == 600.0


def test_the_response_histogram_follows_a_changed_answer(db):
    """Re-ingesting an answer later moves its interval to another bucket and day: the
    histogram subtracts the old one (its emptied rows deleted) and adds the new one."""
    key = "conversations-histogram"
    org_id = db.write(lambda conn: create_organization(conn, key, key))
    ingest_records(db, org_id, RECORDS)
    before = _histogram_rows(db, org_id)
    thursday, saturday = (epoch_day(date(2026, 11, d)) for d in (19, 21))
    # c9's answer, the only one on Messenger: Thursday 14:40, 2400 s in both measures
    # (bucket 420: four digits, leading 24 -> 20)
    assert [r for r in before if r[2] == "FACEBOOK_MESSENGER"] == [
        (0, thursday, "FACEBOOK_MESSENGER", 420, 1), (1, thursday, "FACEBOOK_MESSENGER", 420, 1)]
    # ... moved to Saturday 14:00: 48 h = 172800 calendar s (bucket 615), business only
    # Thursday 14:00-18:00 = 14400 s (bucket 510; Friday is a holiday, Saturday closed)
    ingest_records(db, org_id, [answers("m9b", "c9", "v9", "bia", 21, "14:00",
                                        channel="FACEBOOK_MESSENGER")])
    after = _histogram_rows(db, org_id)
    assert [r for r in after if r[2] == "FACEBOOK_MESSENGER"] == [
        (0, saturday, "FACEBOOK_MESSENGER", 510, 1), (1, saturday, "FACEBOOK_MESSENGER", 615, 1)]
    assert sum(n for *_, n in after) == sum(n for *_, n in before)
    def per_channel(rows, *leave_out):
        return [r for r in rows if r[2] not in ("*", *leave_out)]

    assert per_channel(after, "FACEBOOK_MESSENGER") == per_channel(before, "FACEBOOK_MESSENGER")
    # the all-channels rows ('*') are the sums of the channels' rows
    for rows in (before, after):
        totals: dict = {}
        for measure, day, _, bucket, n in per_channel(rows):
            totals[(measure, day, "*", bucket)] = totals.get((measure, day, "*", bucket), 0) + n
        assert {r[:4]: r[4] for r in rows if r[2] == "*"} == totals
    from tablero import derived

    derived.refresh(db, org_id)
    assert _histogram_rows(db, org_id) == after  # equal to a whole refresh


def _histogram_rows(db, org_id):
    from sqlalchemy import text

    return db.read(lambda conn: [tuple(r) for r in conn.execute(text(
        "SELECT measure, day, channel, bucket, answers FROM response_bucket"
        " WHERE organization_id = :org ORDER BY measure, day, channel, bucket"),
        {"org": org_id})])


def test_the_origins_closed_contacts_follow_a_reason_that_stops_closing(db, make_api):
    """The origins' "closed" reads each contact's first close, kept at ingestion: a reason
    re-ingested with ``closes = false`` takes its contacts out, as the conversations would."""
    key = "conversations-first-close"
    org_id = db.write(lambda conn: create_organization(conn, key, key))
    ingest_records(db, org_id, RECORDS)
    api = make_api(key)

    def instagram():
        return next(r for r in report(api)["origins"] if r["origin"] == "Instagram")

    # c6 (closed "No interesado") and c7 (v7a transferred) are Instagram's
    assert instagram() == {"origin": "Instagram", "newContacts": 2, "engaged": 2, "closed": 2}
    ingest_records(db, org_id, [{"type": "closing_reason", "id": "no-interesado",
                                 "name": "No interesado", "closes": False}])
    assert instagram()["closed"] == 1  # c7 only
