"""The home page panel (SPEC 6.1), on a small hand-built organization.

The clock is pinned at Wednesday 2026-11-25 12:00 in America/Sao_Paulo (UTC-3, no DST). The page's
windows are the 30 local days ending today:

* current window:  2026-10-27 .. 2026-11-25 (day 1 = Nov 25 ... day 30 = Oct 27), up to 12:00;
* previous window: 2026-09-27 .. 2026-10-26 (day 31 = Oct 26).

Every figure below is counted by hand from RECORDS; the comments show the arithmetic. A second
organization holds the same records plus a few more: if any query leaked across tenants, every
figure of the first one would change.
"""

from __future__ import annotations

import types
from datetime import UTC, date, datetime, timedelta

import pytest
import tablero.activity
from sqlalchemy import event
from tablero import QuickAction, hookimpl, trailing_days
from tablero.ingest import ingest_records
from tablero.plugin_manager import Registry, make_plugin_manager
from tablero.plugins.home import queries

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 12:00 in Sao Paulo (the fixtures' clock)
WINDOW_START = date(2026, 10, 27)
# When the ingested first step was marked done: 2026-11-22 12:00 in Sao Paulo.
STEP_DONE_AT = NOW - timedelta(days=3)


def contact(cid, phone, created="2026-01-10T10:00:00-03:00", deleted=None):
    return {"type": "contact", "id": cid, "phone": phone, "created_at": created,
            "deleted_at": deleted}


def message(mid, cid, sent_at, direction="OUTBOUND", channel="WHATSAPP"):
    sender = "CAMPAIGN" if direction == "OUTBOUND" else "CONTACT"
    return {"type": "message", "id": mid, "contact": cid, "channel": channel,
            "direction": direction, "sender": sender, "sent_at": sent_at}


def conversation(vid, cid, kind, status, started_at, sentiment=None):
    record = {"type": "conversation", "id": vid, "contact": cid, "kind": kind,
              "channel": "WHATSAPP", "status": status, "started_at": started_at,
              "sentiment": sentiment}
    if status == "CLOSED":
        record["closed_at"] = started_at.replace("T10:", "T11:")
    return record


RECORDS = [
    # Contacts. Base at the current window's end (asOf): all but `deleted` -> 7.
    # Base at the previous window's end (Oct 27 00:00): all but `new` and `newer` -> 6.
    contact("sp", "+5511987650001"),  # Sao Paulo (DDD 11)
    contact("rj", "+5521987650002"),  # Rio de Janeiro (DDD 21)
    contact("mg", "+5531987650003"),  # Minas Gerais (DDD 31)
    contact("foreign", "+14155550123"),  # a US number: no Brazilian DDD -> unknown state
    contact("deleted", "+5511987650005", deleted="2026-11-10T10:00:00-03:00"),
    contact("idle", "+5548987650007"),  # Santa Catarina, no activity in the windows
    contact("newer", "+5571987650008", created="2026-11-01T09:00:00-03:00"),  # Bahia, idle
    contact("new", "+5541987650006", created="2026-11-20T09:00:00-03:00"),  # Parana
    # Messages. Outbound = sends; reached = distinct contacts with an outbound message.
    message("m-day30", "sp", "2026-10-27T00:00:30-03:00"),  # day 30: inside the window
    message("m-day31", "rj", "2026-10-26T23:59:30-03:00"),  # day 31: previous window
    message("m-sp-again", "sp", "2026-11-20T10:00:00-03:00"),  # sp again: still 1 contact
    message("m-mg-in", "mg", "2026-11-21T10:00:00-03:00", direction="INBOUND"),  # not a send
    message("m-foreign", "foreign", "2026-11-22T10:00:00-03:00", channel="SMS"),
    message("m-deleted", "deleted", "2026-11-05T10:00:00-03:00"),  # sent before the deletion
    message("m-after-asof", "idle", "2026-11-25T13:00:00-03:00"),  # later today: after asOf
    # Conversations (attentions), by the day they started.
    conversation("v-sp-com", "sp", "COMMERCIAL", "CLOSED", "2026-11-10T10:00:00-03:00",
                 "POSITIVE"),
    conversation("v-sp-sup", "sp", "SUPPORT", "NEW", "2026-11-12T10:00:00-03:00", "NEGATIVE"),
    conversation("v-mg-wait", "mg", "SUPPORT", "WAITING", "2026-11-15T10:00:00-03:00",
                 "NEUTRAL"),
    conversation("v-mg-closed", "mg", "SUPPORT", "CLOSED", "2026-11-16T10:00:00-03:00",
                 "POSITIVE"),
    conversation("v-rj-com", "rj", "COMMERCIAL", "CLOSED", "2026-11-18T10:00:00-03:00",
                 "POSITIVE"),
    conversation("v-new-prog", "new", "SUPPORT", "IN_PROGRESS", "2026-11-24T10:00:00-03:00"),
    # Previous window: a support conversation still NEW, not pending in the current window.
    conversation("v-rj-old", "rj", "SUPPORT", "NEW", "2026-10-20T10:00:00-03:00", "NEGATIVE"),
    # Tickets around midnight in Sao Paulo, and one after asOf.
    {"type": "ticket", "id": "t-yesterday", "contact": "sp", "status": "NEW",
     "opened_at": "2026-11-24T23:59:00-03:00"},
    {"type": "ticket", "id": "t-today", "contact": "mg", "status": "NEW",
     "opened_at": "2026-11-25T00:01:00-03:00"},
    {"type": "ticket", "id": "t-after-asof", "status": "NEW",
     "opened_at": "2026-11-25T13:00:00-03:00"},
    # Plan usage today (and yesterday, which the page does not show).
    {"type": "plan_usage", "day": "2026-11-25", "channel": "WHATSAPP", "used": 120, "quota": 100},
    {"type": "plan_usage", "day": "2026-11-25", "channel": "SMS", "used": 50, "quota": 200},
    {"type": "plan_usage", "day": "2026-11-25", "channel": "EMAIL", "used": 0, "quota": 0},
    {"type": "plan_usage", "day": "2026-11-24", "channel": "RCS", "used": 999, "quota": 1000},
    {"type": "onboarding_step", "id": "enable_channel", "done": True},
]

# The other organization: the same records, plus one more active contact.
OTHER_EXTRA = [
    contact("x", "+5511900000001"),
    message("m-x", "x", "2026-11-23T10:00:00-03:00"),
    conversation("v-x", "x", "COMMERCIAL", "NEW", "2026-11-23T10:00:00-03:00", "POSITIVE"),
    {"type": "ticket", "id": "t-x", "status": "NEW", "opened_at": "2026-11-25T09:00:00-03:00"},
    {"type": "plan_usage", "day": "2026-11-25", "channel": "WHATSAPP", "used": 7, "quota": 10},
]

_ORGS: dict[str, tuple[str, str]] = {}
_MAIN_ID: dict[str, int] = {}


@pytest.fixture
def orgs(db, make_org) -> tuple[str, str]:
    """(main org key, other org key), ingested once per database for the whole module."""
    if db.url not in _ORGS:
        done_ts = int(STEP_DONE_AT.timestamp())
        main_id, main_key = make_org()
        ingest_records(db, main_id, RECORDS, now=done_ts)
        other_id, other_key = make_org()
        ingest_records(db, other_id, RECORDS + OTHER_EXTRA, now=done_ts)
        _ORGS[db.url] = (main_key, other_key)
        _MAIN_ID[db.url] = main_id
    return _ORGS[db.url]


def day(d: date) -> int:
    """Index of a local date in the current window's daily series."""
    return (d - WINDOW_START).days


def series(points: dict[date, int]) -> list[int]:
    values = [0] * 30
    for d, n in points.items():
        values[day(d)] = n
    return values


def comparison(value, previous, change, percent):
    return {"value": value, "previousValue": previous, "change": change, "changePercent": percent}


COMPARISON = "{ value previousValue change changePercent }"
SERIES = "{ granularity buckets values total }"
PAGE = f"""
query Home($asOf: DateTime) {{
  home(asOf: $asOf) {{
    period {{ start end previousStart previousEnd today asOf }}
    firstSteps {{ key title done doneAt }}
    activePlan {{ day channels {{ channel used quota percent exceeded }} }}
    quickActions {{ key label route }}
    overview {{
      contactBase {COMPARISON}
      reachedContacts {COMPARISON}
      commercialContacts {COMPARISON}
      supportContacts {COMPARISON}
    }}
    dailyVolume {{ sends {SERIES} commercial {SERIES} support {SERIES} }}
    attentionDistribution {{ total commercial support commercialShare supportShare }}
    geography {{ states {{ uf name contacts }} unknown total }}
    ticketsOpenedToday
    pendingAttentions {{ total new waiting inProgress }}
    satisfaction {{
      positive neutral negative rated unrated positiveShare neutralShare negativeShare score
    }}
  }}
}}
"""


@pytest.fixture
def page(orgs, make_api) -> dict:
    return make_api(orgs[0]).data(PAGE)["home"]


def test_the_rollups_and_the_facts_give_the_same_page(orgs, make_api, monkeypatch):
    """Every figure below is checked on the page read from the activity gaps and conversation
    days; switched off, the contact activity facts and the conversations give the same page."""
    api = make_api(orgs[0])
    from_rollups = api.data(PAGE)["home"]
    monkeypatch.setattr(tablero.activity, "READ_GAPS", False)
    assert api.data(PAGE)["home"] == from_rollups


# ---- the windows ---------------------------------------------------------------------------


def test_period_is_the_30_days_ending_today_and_the_30_before(page):
    assert page["period"] == {
        "start": "2026-10-27",
        "end": "2026-11-25",
        "previousStart": "2026-09-27",
        "previousEnd": "2026-10-26",
        "today": "2026-11-25",
        "asOf": "2026-11-25T12:00:00-03:00",
    }


def test_windows_are_trailing_days_of_the_core():
    period = trailing_days(30, "America/Sao_Paulo", NOW)
    f = queries.home_filters(1, "America/Sao_Paulo", NOW)
    assert f.period == period
    assert (f.current.start, f.current.end, f.current.days) == (WINDOW_START, date(2026, 11, 25), 30)
    assert f.current.end_ts == int(NOW.timestamp()) + 1  # counted up to asOf, not midnight


# ---- first steps ---------------------------------------------------------------------------


def test_first_steps_are_the_organization_checklist(page):
    steps = page["firstSteps"]
    assert [s["key"] for s in steps] == [
        "enable_channel", "import_contacts", "invite_user", "send_first_message",
        "create_automation",
    ]
    assert steps[0] == {
        "key": "enable_channel",
        "title": "Enable a channel",
        "done": True,
        "doneAt": "2026-11-22T12:00:00-03:00",  # when the ingested record marked it done
    }
    assert all(not s["done"] and s["doneAt"] is None for s in steps[1:])


COMPLETE = "mutation ($key: String!) { completeFirstStep(key: $key) { key done doneAt } }"
STEPS = "{ home { firstSteps { key done doneAt } } }"


def test_admin_completes_a_first_step_and_twice_is_harmless(make_org, make_api):
    _, key = make_org()
    api = make_api(key)
    done = api.data(COMPLETE, {"key": "invite_user"})["completeFirstStep"]
    assert done == {"key": "invite_user", "done": True, "doneAt": "2026-11-25T12:00:00-03:00"}
    # An hour later, again: nothing changes, it keeps the first moment.
    later = make_api(key, now=NOW + timedelta(hours=1))
    assert later.data(COMPLETE, {"key": "invite_user"})["completeFirstStep"] == done
    steps = {s["key"]: s for s in later.data(STEPS)["home"]["firstSteps"]}
    assert steps["invite_user"] == done
    assert not steps["import_contacts"]["done"]


def test_completing_an_unknown_step_is_not_found(make_org, make_api):
    _, key = make_org()
    assert make_api(key).error_codes(COMPLETE, {"key": "no_such_step"}) == ["NOT_FOUND"]


@pytest.mark.parametrize("profile", ["OPERATOR", "VIEWER", "AGENT"])
def test_only_admin_completes_first_steps(make_org, make_api, profile):
    _, key = make_org()
    api = make_api(key)
    assert api.error_codes(COMPLETE, {"key": "invite_user"}, profile=profile) == ["FORBIDDEN"]
    steps = {s["key"]: s for s in api.data(STEPS)["home"]["firstSteps"]}
    assert steps["invite_user"]["done"] is False  # nothing was written


def test_completing_a_step_touches_only_the_own_organization(make_org, make_api):
    _, key = make_org()
    _, other = make_org()
    make_api(key).data(COMPLETE, {"key": "import_contacts"})
    steps = {s["key"]: s for s in make_api(other).data(STEPS)["home"]["firstSteps"]}
    assert steps["import_contacts"]["done"] is False


# ---- active plan ---------------------------------------------------------------------------


def test_active_plan_is_today_usage_per_channel(page):
    assert page["activePlan"] == {
        "day": "2026-11-25",
        "channels": [  # yesterday's RCS row is not today's plan
            {"channel": "WHATSAPP", "used": 120, "quota": 100, "percent": 120.0,
             "exceeded": True},
            {"channel": "SMS", "used": 50, "quota": 200, "percent": 25.0, "exceeded": False},
            {"channel": "EMAIL", "used": 0, "quota": 0, "percent": None, "exceeded": False},
        ],
    }


def test_active_plan_follows_as_of_local_day(orgs, make_api):
    # 2026-11-25 01:00 UTC is still the 24th in Sao Paulo (22:00): yesterday's usage.
    plan = make_api(orgs[0]).data(
        "query ($a: DateTime) { home(asOf: $a) { activePlan { day channels { channel used } } } }",
        {"a": "2026-11-25T01:00:00+00:00"},
    )["home"]["activePlan"]
    assert plan == {"day": "2026-11-24", "channels": [{"channel": "RCS", "used": 999}]}


# ---- quick actions -------------------------------------------------------------------------

DEFAULT_ACTIONS = [
    {"key": "send_messages", "label": "Send messages", "route": "/campaigns/new"},
    {"key": "manage_contacts", "label": "Manage contacts", "route": "/contacts"},
    {"key": "attend_tickets", "label": "Attend tickets", "route": "/tickets"},
    {"key": "attend_customers", "label": "Attend customers", "route": "/conversations"},
    {"key": "enable_channel", "label": "Enable channel", "route": "/channels/new"},
    {"key": "invoices", "label": "Invoices", "route": "/billing/invoices"},
]


def test_quick_actions_are_the_six_defaults(page):
    assert page["quickActions"] == DEFAULT_ACTIONS


def test_a_plugin_adds_and_replaces_quick_actions(orgs, make_api):
    plugin = types.ModuleType("erp_shortcuts")
    plugin.tablero_quick_actions = hookimpl(lambda: [
        QuickAction("reports", "Open reports", "/reports"),
        QuickAction("invoices", "Invoices (ERP)", "/erp/invoices"),  # replaces the default
    ])
    registry = Registry.collect(make_plugin_manager(plugins=[plugin]))
    actions = make_api(orgs[0], registry=registry).data("{ home { quickActions { key route } } }")
    assert actions["home"]["quickActions"] == [
        {"key": a["key"], "route": a["route"]} for a in DEFAULT_ACTIONS[:5]
    ] + [
        {"key": "invoices", "route": "/erp/invoices"},  # in the default's place
        {"key": "reports", "route": "/reports"},
    ]


def test_two_plugins_with_one_quick_action_key_fail_naming_both():
    contributed = [("home", a) for a in queries.DEFAULT_QUICK_ACTIONS] + [
        ("crm", QuickAction("leads", "Leads", "/crm/leads")),
        ("sales", QuickAction("leads", "Leads", "/sales/leads")),
    ]
    with pytest.raises(ValueError, match="'crm' and 'sales'"):
        queries.quick_actions(contributed)
    with pytest.raises(TypeError, match="not a tablero.QuickAction"):
        queries.quick_actions([("crm", {"key": "leads"})])


# ---- overview ------------------------------------------------------------------------------


def test_contact_base_leaves_out_deleted_contacts(page):
    # Current (at asOf): sp rj mg foreign idle newer new = 7 (`deleted` was deleted on Nov 10).
    # Previous (at Oct 27 00:00): sp rj mg foreign deleted idle = 6 (newer/new not yet created).
    assert page["overview"]["contactBase"] == comparison(7, 6, 1, 16.6667)


def test_reached_contacts_counts_day_30_but_not_day_31(page):
    # Current: sp (day 30, 00:00:30 on Oct 27; and Nov 20), foreign, deleted = 3; the inbound
    # message from mg is not a send and idle's message comes after asOf.
    # Previous: rj (day 31, 23:59:30 on Oct 26) = 1.
    assert page["overview"]["reachedContacts"] == comparison(3, 1, 2, 200.0)


def test_contacts_in_commercial_attention_with_a_previous_of_zero(page):
    # Current: sp, rj. Previous: none -> changePercent is null, not infinite.
    assert page["overview"]["commercialContacts"] == comparison(2, 0, 2, None)


def test_contacts_in_support_count_a_contact_once(page):
    # Current: sp (also in commercial attention), mg (two support conversations), new = 3.
    # Previous: rj (Oct 20) = 1.
    assert page["overview"]["supportContacts"] == comparison(3, 1, 2, 200.0)


def test_reached_contacts_read_the_activity_facts_over_the_windows_only(db, orgs):
    """The message history is never scanned: whole days are a range search on the activity
    gaps (organization_id, channel, measure, day, ...), and asOf's unfinished day a range
    search on the message time index, which carries the direction (its contacts' previous
    days: primary-key probes of the contact_activity facts)."""
    f = queries.home_filters(_MAIN_ID[db.url], "America/Sao_Paulo", NOW)
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with db.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        queries.reached_contacts(conn, f)
        event.remove(conn, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        if db.is_sqlite:
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            )
            assert (
                "SEARCH activity_gap USING PRIMARY KEY"
                " (organization_id=? AND channel=? AND measure=? AND day>? AND day<?)"
            ) in plan, plan
            assert (
                "SEARCH message USING COVERING INDEX ix_message_org_sent"
                " (organization_id=? AND sent_at>? AND sent_at<?)"
            ) in plan, plan
            assert "SCAN message" not in plan, plan
        else:
            # A tiny test table makes a sequential scan cheapest; forbid it to see the index path.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(
                row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            )
            assert "ix_activity_gap_pg_days" in plan and "(day >=" in plan, plan
            assert "sent_at >=" in plan, plan
            assert "Seq Scan" not in plan, plan

def test_daily_volume_is_30_zero_filled_days(page):
    volume = page["dailyVolume"]
    assert volume["sends"]["buckets"][0] == "2026-10-27"
    assert volume["sends"]["buckets"][-1] == "2026-11-25"
    # Outbound messages: Oct 27 (day 30), Nov 5, Nov 20, Nov 22 -> 4; Oct 26 is outside, the
    # inbound one is not a send, the 13:00 one is after asOf.
    assert volume["sends"] == {
        "granularity": "DAY",
        "buckets": [str(WINDOW_START + timedelta(days=i)) for i in range(30)],
        "values": series({date(2026, 10, 27): 1, date(2026, 11, 5): 1, date(2026, 11, 20): 1,
                          date(2026, 11, 22): 1}),
        "total": 4,
    }
    assert volume["commercial"]["values"] == series({date(2026, 11, 10): 1,
                                                     date(2026, 11, 18): 1})
    assert volume["support"]["values"] == series({date(2026, 11, 12): 1, date(2026, 11, 15): 1,
                                                  date(2026, 11, 16): 1, date(2026, 11, 24): 1})
    assert volume["commercial"]["total"] == 2 and volume["support"]["total"] == 4


def test_attention_distribution(page):
    # Commercial: sp, rj (Nov 10, Nov 18). Support: Nov 12, 15, 16, 24. The Oct 20 one is outside.
    assert page["attentionDistribution"] == {
        "total": 6,
        "commercial": 2,
        "support": 4,
        "commercialShare": pytest.approx(2 / 6),
        "supportShare": pytest.approx(4 / 6),
    }


def test_daily_volume_and_distribution_agree(page):
    volume, distribution = page["dailyVolume"], page["attentionDistribution"]
    assert volume["commercial"]["total"] == distribution["commercial"]
    assert volume["support"]["total"] == distribution["support"]


def test_geography_per_state_with_a_foreign_phone_unknown(page):
    # Contacts with a message or an attention in the window: sp (SP), mg (MG, inbound message
    # and conversations), rj (RJ, conversation Nov 18), new (PR), foreign (unknown).
    # `deleted` had a message but is deleted; idle/newer had nothing (idle's is after asOf).
    geography = page["geography"]
    assert len(geography["states"]) == 27
    non_zero = {s["uf"]: s["contacts"] for s in geography["states"] if s["contacts"]}
    assert non_zero == {"SP": 1, "MG": 1, "RJ": 1, "PR": 1}
    assert {"uf": "SP", "name": "São Paulo", "contacts": 1} in geography["states"]
    assert {"uf": "SC", "name": "Santa Catarina", "contacts": 0} in geography["states"]
    assert geography["unknown"] == 1
    assert geography["total"] == 5


# ---- tickets, pending attentions, satisfaction ---------------------------------------------


def test_tickets_opened_today_in_the_organization_zone(page):
    # 2026-11-24 23:59 is yesterday; 2026-11-25 00:01 is today; 13:00 is after asOf (12:00).
    assert page["ticketsOpenedToday"] == 1


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2026-11-24T23:59:30-03:00", 1),  # "today" is the 24th: the 23:59 ticket
        ("2026-11-25T00:00:30-03:00", 0),  # just past midnight: nothing yet
        ("2026-11-25T23:00:00-03:00", 2),  # 00:01 and 13:00
    ],
)
def test_tickets_opened_today_follow_as_of(orgs, make_api, as_of, expected):
    data = make_api(orgs[0]).data(
        "query ($a: DateTime) { home(asOf: $a) { ticketsOpenedToday } }", {"a": as_of}
    )
    assert data["home"]["ticketsOpenedToday"] == expected


def test_pending_attentions_one_of_each_status(page):
    # Support conversations started in the window and not closed: NEW (sp, Nov 12),
    # WAITING (mg, Nov 15), IN_PROGRESS (new, Nov 24). mg's Nov 16 one is CLOSED; rj's NEW one
    # started on Oct 20, before the window.
    assert page["pendingAttentions"] == {"total": 3, "new": 1, "waiting": 1, "inProgress": 1}


def test_satisfaction_index(page):
    # Conversations started in the window: POSITIVE sp-com, mg-closed, rj-com; NEUTRAL mg-wait;
    # NEGATIVE sp-sup; no sentiment: new-prog. rj's NEGATIVE one is from the previous window.
    # score = (3 - 1) / 5 = 0.4
    assert page["satisfaction"] == {
        "positive": 3,
        "neutral": 1,
        "negative": 1,
        "rated": 5,
        "unrated": 1,
        "positiveShare": 0.6,
        "neutralShare": 0.2,
        "negativeShare": 0.2,
        "score": 0.4,
    }


def test_empty_organization_has_zeros_and_nulls_not_errors(make_org, make_api):
    _, key = make_org()
    home = make_api(key).data(PAGE)["home"]
    assert home["satisfaction"]["score"] is None
    assert home["satisfaction"]["rated"] == home["satisfaction"]["unrated"] == 0
    assert home["overview"]["reachedContacts"] == comparison(0, 0, 0, None)
    assert home["attentionDistribution"]["commercialShare"] is None
    assert home["activePlan"]["channels"] == []
    assert home["geography"]["total"] == 0 and len(home["geography"]["states"]) == 27
    assert home["dailyVolume"]["sends"]["values"] == [0] * 30


# ---- asOf ----------------------------------------------------------------------------------


def test_as_of_reproduces_an_earlier_page(orgs, make_api):
    # The page as it was on Nov 26 at 12:00: window Oct 28 .. Nov 26. The day-30 message (Oct 27)
    # has left the window; idle's message of Nov 25 13:00 has entered it.
    overview = make_api(orgs[0], now=NOW + timedelta(days=5)).data(
        "query ($a: DateTime) { home(asOf: $a) { period { start end } "
        f"overview {{ reachedContacts {COMPARISON} }} }} }}",
        {"a": "2026-11-26T12:00:00-03:00"},
    )["home"]
    assert overview["period"] == {"start": "2026-10-28", "end": "2026-11-26"}
    # Current: sp (Nov 20), foreign, deleted, idle = 4. Previous (Sep 28 .. Oct 27): sp, rj = 2.
    assert overview["overview"]["reachedContacts"] == comparison(4, 2, 2, 100.0)


@pytest.mark.parametrize("as_of", ["2026-11-25T12:00:00", "0001-01-01T00:00:00+00:00"])
def test_as_of_without_an_offset_or_out_of_range_is_bad_user_input(orgs, make_api, as_of):
    codes = make_api(orgs[0]).error_codes(
        "query ($a: DateTime) { home(asOf: $a) { ticketsOpenedToday } }", {"a": as_of}
    )
    assert codes == ["BAD_USER_INPUT"]


# ---- tenancy -------------------------------------------------------------------------------


def test_another_organization_rows_never_count(orgs, make_api, page):
    # The other organization has every record of this one plus contact x: a message, a
    # commercial conversation, a ticket today, and its own plan usage.
    other = make_api(orgs[1]).data(PAGE)["home"]
    assert other["overview"]["reachedContacts"] == comparison(4, 1, 3, 300.0)
    assert other["overview"]["commercialContacts"] == comparison(3, 0, 3, None)
    assert other["ticketsOpenedToday"] == 2
    assert other["activePlan"]["channels"][0] == {
        "channel": "WHATSAPP", "used": 7, "quota": 10, "percent": 70.0, "exceeded": False,
    }
    assert other["satisfaction"]["positive"] == 4
    # ... and this organization's page is the one counted above.
    assert page["overview"]["reachedContacts"]["value"] == 3
    assert page["ticketsOpenedToday"] == 1
    assert page["geography"]["total"] == 5


# ---- who may see what ----------------------------------------------------------------------

# Every field of the page -> the profiles that may see it (SPEC 2).
EVERYONE_BUT_AGENT = {"ADMIN", "OPERATOR", "VIEWER"}
ACCESS = {
    "period { start }": EVERYONE_BUT_AGENT,
    "firstSteps { key }": EVERYONE_BUT_AGENT,
    "activePlan { day }": EVERYONE_BUT_AGENT,
    "quickActions { key }": {"ADMIN", "OPERATOR"},
    f"overview {{ contactBase {COMPARISON} }}": EVERYONE_BUT_AGENT,
    "dailyVolume { sends { total } }": EVERYONE_BUT_AGENT,
    "attentionDistribution { total }": EVERYONE_BUT_AGENT,
    "geography { total }": EVERYONE_BUT_AGENT,
    "ticketsOpenedToday": EVERYONE_BUT_AGENT,
    "pendingAttentions { total }": EVERYONE_BUT_AGENT,
    "satisfaction { rated }": EVERYONE_BUT_AGENT,
}
CSV_PATHS = ["/export/home/daily-volume.csv", "/export/home/geography.csv"]


def test_access_table_covers_every_field_of_the_page(orgs, make_api):
    schema_fields = make_api(orgs[0]).data('{ __type(name: "HomePage") { fields { name } } }')
    names = {f["name"] for f in schema_fields["__type"]["fields"]}
    assert names == {selection.split(" ")[0] for selection in ACCESS}


@pytest.mark.parametrize("profile", ["ADMIN", "OPERATOR", "VIEWER", "AGENT"])
def test_every_profile_access_to_every_field(orgs, make_api, profile):
    api = make_api(orgs[0])
    for selection, allowed in ACCESS.items():
        body = api.graphql(f"{{ home {{ {selection} }} }}", profile=profile)
        codes = [e["extensions"]["code"] for e in body.get("errors") or []]
        if profile in allowed:
            assert codes == [], (profile, selection, body)
            assert body["data"]["home"] is not None
        else:
            assert codes == ["FORBIDDEN"], (profile, selection, body)
            assert body["data"] is None or body["data"]["home"] is None  # never zeros
    for path in CSV_PATHS:
        status, _ = api.csv(path, profile=profile)
        assert status == (200 if profile in EVERYONE_BUT_AGENT else 403), (profile, path)
    status = "ok" if profile == "ADMIN" else "FORBIDDEN"
    codes = api.error_codes(COMPLETE, {"key": "no_such_step"}, profile=profile)
    assert codes == (["NOT_FOUND"] if status == "ok" else ["FORBIDDEN"])


# ---- CSV -----------------------------------------------------------------------------------


def test_daily_volume_csv_equals_graphql(orgs, make_api, page):
    status, rows = make_api(orgs[0]).csv(CSV_PATHS[0], profile="VIEWER")
    assert status == 200
    assert rows[0] == ["day", "sends", "commercial_attentions", "support_attentions"]
    volume = page["dailyVolume"]
    assert rows[1:] == [
        [d, str(s), str(c), str(p)]
        for d, s, c, p in zip(
            volume["sends"]["buckets"], volume["sends"]["values"],
            volume["commercial"]["values"], volume["support"]["values"], strict=True,
        )
    ]


def test_geography_csv_equals_graphql(orgs, make_api, page):
    status, rows = make_api(orgs[0]).csv(CSV_PATHS[1])
    assert status == 200
    assert rows[0] == ["uf", "state", "contacts"]
    geography = page["geography"]
    assert rows[1:28] == [[s["uf"], s["name"], str(s["contacts"])] for s in geography["states"]]
    assert rows[28:] == [["UNKNOWN", "Unknown (no Brazilian DDD)", str(geography["unknown"])]]


def test_csv_takes_as_of_like_the_page(orgs, make_api):
    api = make_api(orgs[0])
    as_of = "2026-11-26T12:00:00-03:00"
    status, rows = api.csv(CSV_PATHS[0], asOf=as_of)
    sends = api.data(
        "query ($a: DateTime) { home(asOf: $a) { dailyVolume { sends { buckets values } } } }",
        {"a": as_of},
    )["home"]["dailyVolume"]["sends"]
    assert status == 200
    assert [r[0] for r in rows[1:]] == sends["buckets"]
    assert [int(r[1]) for r in rows[1:]] == sends["values"]


def test_csv_refuses_report_filters(orgs, make_api):
    status, body = make_api(orgs[0]).csv(CSV_PATHS[1], period="LAST_90_DAYS")
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
