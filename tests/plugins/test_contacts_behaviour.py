"""The contacts behaviour panel (SPEC 6.2), on a small hand-built organization.

The clock is pinned at Wednesday 2026-11-25 12:00 in America/Sao_Paulo (UTC-3, no DST). Most
tests ask for the CUSTOM period 2026-11-01 .. 2026-11-20; its previous period is
2026-10-12 .. 2026-10-31. Every figure below is counted by hand from RECORDS (the comments show
the arithmetic). A second organization holds the same records plus a few more: if any query leaked
across tenants, the first one's figures would change.

The campaign contacts, all messages sent in the period unless said otherwise:

=======  =========================================  ================================================
contact  campaign messages (status)                 what follows
=======  =========================================  ================================================
a        k1 REPLIED Nov 2 10:00, k2 DELIVERED Nov 5   commercial conversation Nov 2 11:00 (converted);
         (two campaigns: counted once per level)      order Nov 20
b        k1 READ Nov 2 (no DELIVERED record)          two support conversations
c        k3 (SMS) FAILED Nov 3                        a support conversation
d        k1 CLICKED Nov 2 10:00                       commercial Nov 9 09:59: 1 minute inside 7 days
e        k1 CLICKED Nov 2 10:00                       commercial Nov 9 10:01: 1 minute outside 7 days
f        k1 CLICKED Nov 2 10:00                       commercial Nov 2 09:00: *before* the message
g        k4 (EMAIL) SENT Nov 4                        order Nov 5 (but g never interacted)
k        k4 (EMAIL) CLICKED Nov 6                     order Nov 8 (converted by an order)
h        k1 DELIVERED Oct 20 (previous period),       -
         k2 DELIVERED Nov 22 (after the period)
=======  =========================================  ================================================
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import tablero.activity
import tablero.campaigns
from tablero import SalesOrder, StartupError, hookimpl
from tablero.ingest import ingest_records
from tablero.plugin_manager import Registry, make_plugin_manager
from tablero.plugins.contacts_behaviour import FunnelStage, compose_stages

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # 12:00 in Sao Paulo (the fixtures' clock)
NOV = {"period": {"preset": "CUSTOM", "start": "2026-11-01", "end": "2026-11-20"}}
NOV_CSV = {"period": "CUSTOM", "start": "2026-11-01", "end": "2026-11-20"}


def T(local: str) -> str:
    """A local Sao Paulo wall-clock time, e.g. T("2026-11-02 10:00")."""
    return local.replace(" ", "T") + ":00-03:00"


def contact(cid, phone, created, group, origin="site", deleted=None):
    return {"type": "contact", "id": cid, "phone": phone, "created_at": T(created),
            "entry_group": group, "current_group": group, "origin": origin,
            "deleted_at": T(deleted) if deleted else None}


def campaign_message(mid, cid, campaign, channel, status, sent):
    return {"type": "message", "id": mid, "contact": cid, "campaign": campaign,
            "channel": channel, "direction": "OUTBOUND", "sender": "CAMPAIGN",
            "status": status, "sent_at": T(sent)}


def inbound(mid, cid, sent):
    return {"type": "message", "id": mid, "contact": cid, "channel": "WHATSAPP",
            "direction": "INBOUND", "sender": "CONTACT", "sent_at": T(sent)}


def conversation(vid, cid, kind, started, channel="WHATSAPP"):
    return {"type": "conversation", "id": vid, "contact": cid, "kind": kind,
            "channel": channel, "status": "NEW", "started_at": T(started)}


def order(oid, cid, amount, ordered):
    return {"type": "order", "id": oid, "contact": cid, "amount": amount,
            "ordered_at": T(ordered)}


RECORDS = [
    {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
    {"type": "group", "id": "g1", "name": "Vendas"},
    {"type": "group", "id": "g2", "name": "Pos-venda"},
    {"type": "campaign", "id": "k1", "name": "Boas-vindas 1", "channel": "WHATSAPP",
     "journey": "Welcome"},
    {"type": "campaign", "id": "k2", "name": "Boas-vindas 2", "channel": "WHATSAPP",
     "journey": "Welcome"},
    {"type": "campaign", "id": "k3", "name": "Promo SMS", "channel": "SMS"},  # no journey
    {"type": "campaign", "id": "k4", "name": "Winback e-mail", "channel": "EMAIL",
     "journey": "Winback"},
    # Contacts: (phone -> state), created, entry group, origin.
    contact("a", "+5511987650001", "2026-06-10 10:00", "g1", origin="ads"),  # SP
    contact("b", "+5521987650002", "2026-07-15 10:00", "g1"),  # RJ
    contact("c", "+5531987650003", "2026-08-20 10:00", "g1"),  # MG
    contact("d", "+5511987650004", "2026-09-05 10:00", "g1"),  # SP
    contact("e", "+5541987650005", "2026-10-10 10:00", "g2", origin="ads"),  # PR
    # 2026-10-31 23:30 in Sao Paulo is 2026-11-01 02:30 UTC: an October contact.
    contact("f", "+14155550123", "2026-10-31 23:30", "g2"),  # US number: unknown state
    contact("g", "+5561987650007", "2026-11-01 00:30", "g2"),  # DF, a November contact
    contact("k", "+5571987650008", "2026-11-03 10:00", "g2"),  # BA
    contact("h", "+5511987650009", "2026-05-01 10:00", "g1"),  # SP
    contact("j", "+5585987650010", "2026-09-01 10:00", "g2", deleted="2026-11-15 10:00"),
    contact("l", "+5511987650011", "2026-11-10 10:00", "g1", deleted="2026-11-12 10:00"),
    # Campaign messages.
    campaign_message("m-a1", "a", "k1", "WHATSAPP", "REPLIED", "2026-11-02 10:00"),
    campaign_message("m-a2", "a", "k2", "WHATSAPP", "DELIVERED", "2026-11-05 10:00"),
    campaign_message("m-b1", "b", "k1", "WHATSAPP", "READ", "2026-11-02 10:00"),
    campaign_message("m-c1", "c", "k3", "SMS", "FAILED", "2026-11-03 10:00"),
    campaign_message("m-d1", "d", "k1", "WHATSAPP", "CLICKED", "2026-11-02 10:00"),
    campaign_message("m-e1", "e", "k1", "WHATSAPP", "CLICKED", "2026-11-02 10:00"),
    campaign_message("m-f1", "f", "k1", "WHATSAPP", "CLICKED", "2026-11-02 10:00"),
    campaign_message("m-g1", "g", "k4", "EMAIL", "SENT", "2026-11-04 10:00"),
    campaign_message("m-k1", "k", "k4", "EMAIL", "CLICKED", "2026-11-06 10:00"),
    campaign_message("m-h0", "h", "k1", "WHATSAPP", "DELIVERED", "2026-10-20 10:00"),
    campaign_message("m-h2", "h", "k2", "WHATSAPP", "DELIVERED", "2026-11-22 10:00"),
    # Other messages: interactions, not campaign sends.
    inbound("m-b0", "b", "2026-07-20 10:00"),
    inbound("m-c0", "c", "2026-10-31 23:30"),  # 2026-11-01 02:30 UTC: an October interaction
    # Conversations (attentions).
    conversation("v-a", "a", "COMMERCIAL", "2026-11-02 11:00"),  # 1 h after m-a1
    conversation("v-f", "f", "COMMERCIAL", "2026-11-02 09:00", channel="WEBCHAT"),  # before
    # 7 days - 1 minute after m-d1; by phone: a conversion on any channel counts.
    conversation("v-d", "d", "COMMERCIAL", "2026-11-09 09:59", channel="VOICE_CALL"),
    conversation("v-e", "e", "COMMERCIAL", "2026-11-09 10:01"),  # 7 days + 1 minute
    conversation("v-b", "b", "SUPPORT", "2026-11-10 10:00"),
    conversation("v-c", "c", "SUPPORT", "2026-11-11 10:00"),
    conversation("v-b2", "b", "SUPPORT", "2026-11-12 10:00"),
    conversation("v-j", "j", "COMMERCIAL", "2026-10-15 10:00"),  # previous period
    # Orders.
    order("o-a", "a", "100.00", "2026-11-20 10:00"),
    order("o-k", "k", "50.00", "2026-11-08 10:00"),  # 2 days after m-k1
    order("o-g", "g", "30.00", "2026-11-05 10:00"),  # 1 day after m-g1, but g never interacted
]

# The other organization: the same records and more activity on the same days.
OTHER_EXTRA = [
    contact("x", "+5511900000001", "2026-11-02 08:00", "g1"),
    campaign_message("m-x1", "x", "k1", "WHATSAPP", "REPLIED", "2026-11-02 10:00"),
    campaign_message("m-b9", "b", "k3", "SMS", "CLICKED", "2026-11-07 10:00"),
    conversation("v-x", "x", "COMMERCIAL", "2026-11-02 10:30"),
    conversation("v-b9", "b", "COMMERCIAL", "2026-11-07 11:00"),
    conversation("v-g9", "g", "SUPPORT", "2026-11-07 11:00"),
]

_ORGS: dict[str, tuple[str, str]] = {}


@pytest.fixture
def orgs(db, make_org) -> tuple[str, str]:
    """(main org key, other org key), ingested once per database for the whole module."""
    if db.url not in _ORGS:
        main_id, main_key = make_org()
        ingest_records(db, main_id, RECORDS)
        other_id, other_key = make_org()
        ingest_records(db, other_id, RECORDS + OTHER_EXTRA)
        _ORGS[db.url] = (main_key, other_key)
    return _ORGS[db.url]


@pytest.fixture
def api(orgs, make_api):
    return make_api(orgs[0])


COMPARISON = "{ value previousValue change changePercent }"
LEVELS = "levels { key label contacts rateOfFirst rateOfPrevious }"
JOURNEY_ROW = "{ journey label reachedContacts commercialContacts conversionRate }"
PANEL = f"""
query Panel($f: ReportFiltersInput, $days: Int! = 7) {{
  contactsBehaviour(filters: $f) {{
    period {{ start end previousStart previousEnd timezone }}
    interactions {{
      contactBase {COMPARISON}
      reachedContacts {COMPARISON}
      commercialContacts {COMPARISON}
      supportContacts {COMPARISON}
    }}
    messageFunnel(attributionDays: $days) {{ attributionDays {LEVELS} }}
    journeyFunnel(attributionDays: $days) {{
      attributionDays total {JOURNEY_ROW} journeys {JOURNEY_ROW}
    }}
    contactsOverTime {{ month interactedContacts newContacts contactBase }}
    geography {{ states {{ uf name contacts }} unknown total }}
    dailyVolume {{
      sends {{ buckets values total }} commercial {{ values total }} support {{ values total }}
    }}
    attentionDistribution {{ total commercial support commercialShare supportShare }}
    commercialHeatmap {{ cells {{ weekday hour value }} total max }}
  }}
}}
"""
FUNNEL = """
query Funnel($f: ReportFiltersInput, $days: Int! = 7) {
  contactsBehaviour(filters: $f) {
    messageFunnel(attributionDays: $days) { levels { key contacts } }
  }
}
"""


def panel(api, filters=None, days=7, **kwargs) -> dict:
    variables = {"f": {**NOV, **(filters or {})}, "days": days}
    return api.data(PANEL, variables, **kwargs)["contactsBehaviour"]


def funnel_counts(api, filters=None, days=7) -> dict[str, int]:
    variables = {"f": {**NOV, **(filters or {})}, "days": days}
    levels = api.data(FUNNEL, variables)["contactsBehaviour"]["messageFunnel"]["levels"]
    return {level["key"]: level["contacts"] for level in levels}


def comparison(value, previous, change, percent):
    return {"value": value, "previousValue": previous, "change": change, "changePercent": percent}


@pytest.fixture
def page(api) -> dict:
    return panel(api)


@pytest.mark.parametrize("filters", [None, {"channel": "WHATSAPP"}])
def test_the_rollups_and_the_facts_give_the_same_panel(api, monkeypatch, filters):
    """The figures below are checked on the panel read from the activity gaps and conversation
    days (where no group or origin filter applies); switched off, the contact activity facts and
    the conversations give the same panel."""
    from_rollups = panel(api, filters)
    monkeypatch.setattr(tablero.activity, "READ_GAPS", False)
    assert panel(api, filters) == from_rollups


# ---- period and interactions ------------------------------------------------------------------


def test_period_and_its_previous_period(page):
    assert page["period"] == {
        "start": "2026-11-01",
        "end": "2026-11-20",
        "previousStart": "2026-10-12",
        "previousEnd": "2026-10-31",
        "timezone": "America/Sao_Paulo",
    }


def test_interaction_blocks_compare_with_the_previous_period(page):
    assert page["interactions"] == {
        # At Nov 21 00:00: 11 contacts created (all), minus j and l deleted by then -> 9.
        # At Nov 1 00:00: h a b c d e f j (f at Oct 31 23:30 local) -> 8; none deleted yet.
        "contactBase": comparison(9, 8, 1, 12.5),
        # Campaign messages: a b c d e f g k in November (a twice: once); h on Oct 20.
        "reachedContacts": comparison(8, 1, 7, 700.0),
        # Commercial conversations started: a f d e; before: j.
        "commercialContacts": comparison(4, 1, 3, 300.0),
        # Support: b (twice: once) and c; none before, so no percentage.
        "supportContacts": comparison(2, 0, 2, None),
    }


# ---- conversion funnel by message status ------------------------------------------------------


def test_message_funnel_five_levels_of_distinct_contacts(page):
    funnel = page["messageFunnel"]
    assert funnel["attributionDays"] == 7
    assert [(lv["key"], lv["contacts"]) for lv in funnel["levels"]] == [
        ("sent", 8),  # a b c d e f g k; a got two campaigns and counts once; c's FAILED counts
        ("delivered", 6),  # a b d e f k: b's READ has no DELIVERED record and still counts
        ("read", 6),  # the same six
        ("interacted", 5),  # a (replied), d e f k (clicked)
        ("converted", 3),  # a (conversation), d (1 minute inside), k (order); not e f g
    ]
    rates = [(lv["rateOfFirst"], lv["rateOfPrevious"]) for lv in funnel["levels"]]
    assert rates == [
        (1.0, 1.0),
        (pytest.approx(6 / 8), pytest.approx(6 / 8)),
        (pytest.approx(6 / 8), 1.0),
        (pytest.approx(5 / 8), pytest.approx(5 / 6)),
        (pytest.approx(3 / 8), pytest.approx(3 / 5)),
    ]
    assert [lv["label"] for lv in funnel["levels"]] == [
        "Sent", "Delivered", "Read", "Interacted", "Converted"
    ]


def test_attribution_window_boundaries(api):
    # e converts 7 days + 1 minute after its message: outside 7 days, inside 8.
    assert funnel_counts(api, days=7)["converted"] == 3
    assert funnel_counts(api, days=8)["converted"] == 4
    # One day: a (1 hour after); not k (2 days after) nor d (7 days - 1 minute after).
    assert funnel_counts(api, days=1)["converted"] == 1
    # f's conversation came an hour *before* its message: never a conversion, at any window.
    assert funnel_counts(api, days=90)["converted"] == 4  # a d e k


def test_a_conversion_after_as_of_is_not_seen_yet(api):
    # Replaying the report as it was on Nov 9 at 09:00: d's conversation (09:59) had not happened.
    assert funnel_counts(api, {"asOf": "2026-11-09T09:00:00-03:00"})["converted"] == 2  # a k
    assert funnel_counts(api, {"asOf": "2026-11-09T10:00:00-03:00"})["converted"] == 3  # a k d


@pytest.mark.parametrize("days", [0, 91, -1])
def test_attribution_days_out_of_range_is_bad_user_input(api, days):
    variables = {"f": NOV, "days": days}
    assert api.error_codes(FUNNEL, variables) == ["BAD_USER_INPUT"]
    query = FUNNEL.replace("messageFunnel", "journeyFunnel").replace(
        "{ levels { key contacts } }", "{ attributionDays }"
    )
    assert api.error_codes(query, variables) == ["BAD_USER_INPUT"]


def test_failed_message_counts_as_sent_only(api):
    # Channel SMS holds only c's FAILED message.
    assert funnel_counts(api, {"channel": "SMS"}) == {
        "sent": 1, "delivered": 0, "read": 0, "interacted": 0, "converted": 0
    }


def test_channel_filter_narrows_the_campaign_messages(api):
    # WhatsApp: a b d e f (a's k1 and k2 both WhatsApp); converted a d (d's conversation was a
    # phone call: the channel filter narrows the campaign messages, not the conversion).
    assert funnel_counts(api, {"channel": "WHATSAPP"}) == {
        "sent": 5, "delivered": 5, "read": 5, "interacted": 4, "converted": 2
    }
    # E-mail: g (SENT, then an order: not interacted, so not converted) and k (CLICKED, order).
    assert funnel_counts(api, {"channel": "EMAIL"}) == {
        "sent": 2, "delivered": 1, "read": 1, "interacted": 1, "converted": 1
    }


def test_group_and_origin_filters(api):
    # Group g1 (entered): a b c d h l -> campaign contacts a b c d.
    assert funnel_counts(api, {"group": "g1"}) == {
        "sent": 4, "delivered": 3, "read": 3, "interacted": 2, "converted": 2
    }
    # Origin "ads": a and e; e's conversion is outside the window.
    assert funnel_counts(api, {"origin": "ads"}) == {
        "sent": 2, "delivered": 2, "read": 2, "interacted": 2, "converted": 1
    }


def test_interactions_under_filters(api):
    g1 = panel(api, {"group": "g1"})["interactions"]
    assert g1 == {
        "contactBase": comparison(5, 5, 0, 0.0),  # h a b c d (l deleted) vs h a b c d
        "reachedContacts": comparison(4, 1, 3, 300.0),  # a b c d vs h
        "commercialContacts": comparison(2, 0, 2, None),  # a d
        "supportContacts": comparison(2, 0, 2, None),  # b c
    }
    whatsapp = panel(api, {"channel": "WHATSAPP"})["interactions"]
    assert whatsapp == {
        "contactBase": comparison(9, 8, 1, 12.5),  # the base has no channel
        "reachedContacts": comparison(5, 1, 4, 400.0),  # a b d e f vs h
        "commercialContacts": comparison(2, 1, 1, 100.0),  # a e (d by phone, f web chat) vs j
        "supportContacts": comparison(2, 0, 2, None),
    }


# ---- funnel across journeys -------------------------------------------------------------------


def test_journey_funnel_total_and_per_journey(page):
    journeys = page["journeyFunnel"]
    assert journeys["attributionDays"] == 7
    assert journeys["total"] == {
        "journey": None, "label": "All journeys",
        "reachedContacts": 8, "commercialContacts": 2, "conversionRate": 0.25,  # a d
    }
    assert journeys["journeys"] == [
        # k1 + k2: a b d e f; a (1 h) and d (7 days - 1 minute) started a commercial conversation.
        {"journey": "Welcome", "label": "Welcome",
         "reachedContacts": 5, "commercialContacts": 2, "conversionRate": 0.4},
        # k4: g and k bought, but an order is not a commercial conversation.
        {"journey": "Winback", "label": "Winback",
         "reachedContacts": 2, "commercialContacts": 0, "conversionRate": 0.0},
        # k3 has no journey: c.
        {"journey": None, "label": "(no journey)",
         "reachedContacts": 1, "commercialContacts": 0, "conversionRate": 0.0},
    ]


def test_journey_funnel_under_filters(api):
    whatsapp = panel(api, {"channel": "WHATSAPP"})["journeyFunnel"]
    # Only k1 and k2 are WhatsApp campaigns: Welcome, with d's conversion by phone included.
    assert whatsapp["total"]["reachedContacts"] == 5
    assert [(j["journey"], j["reachedContacts"], j["commercialContacts"])
            for j in whatsapp["journeys"]] == [("Welcome", 5, 2)]
    g2 = panel(api, {"group": "g2"})["journeyFunnel"]
    # Group g2: e f (Welcome, no conversion inside 7 days), g k (Winback).
    assert [(j["journey"], j["reachedContacts"], j["commercialContacts"])
            for j in g2["journeys"]] == [("Welcome", 2, 0), ("Winback", 2, 0)]


def test_journey_funnel_window_is_an_argument(api):
    eight = panel(api, days=8)["journeyFunnel"]
    assert eight["total"]["commercialContacts"] == 3  # a d e
    assert eight["journeys"][0]["commercialContacts"] == 3


FUNNEL_CASES = {
    "november": ({}, 7),
    "one_day": ({}, 1),
    "eight_days": ({}, 8),
    "ninety_days": ({}, 90),
    "whatsapp": ({"channel": "WHATSAPP"}, 7),
    "email": ({"channel": "EMAIL"}, 7),
    "group_g2": ({"group": "g2"}, 8),
    "origin_ads": ({"origin": "ads"}, 7),
    "as_of_nov_9_09h": ({"asOf": "2026-11-09T09:00:00-03:00"}, 7),
    # asOf's day holds sends before it: five first sends there; a's on Nov 5 is not its first
    "as_of_nov_2_10h30": ({"asOf": "2026-11-02T10:30:00-03:00"}, 7),
    "as_of_nov_5_10h30": ({"asOf": "2026-11-05T10:30:00-03:00"}, 7),
    "as_of_nov_6_whatsapp": ({"asOf": "2026-11-06T12:00:00-03:00", "channel": "WHATSAPP"}, 7),
    "last_30_days": ({"period": {"preset": "LAST_30_DAYS"}}, 7),
}
FUNNELS = """
query Funnels($f: ReportFiltersInput, $days: Int!) {
  contactsBehaviour(filters: $f) {
    messageFunnel(attributionDays: $days) { levels { key contacts rateOfFirst rateOfPrevious } }
    journeyFunnel(attributionDays: $days) {
      total { reachedContacts commercialContacts }
      journeys { journey reachedContacts commercialContacts conversionRate }
    }
  }
}
"""


@pytest.mark.parametrize("case", sorted(FUNNEL_CASES))
def test_the_campaign_sends_and_the_messages_give_the_same_funnels(api, db, monkeypatch, case):
    """Read three ways: from the ``campaign_gap`` rollup (where no group or origin filter
    applies; the part of asOf's day before it from the sends), from ``campaign_send`` (each
    campaign message with its contact's next commercial conversation and order) and from the
    messages, conversations and orders themselves: the same funnels; the first two touch no
    message row."""
    from sqlalchemy import event
    from tablero.plugins.contacts_behaviour import stages

    filters, days = FUNNEL_CASES[case]
    variables = {"f": {**NOV, **filters}, "days": days}
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    def read() -> tuple[dict, list[str]]:
        statements[:] = []
        data = api.data(FUNNELS, variables)["contactsBehaviour"]
        return data, list(statements)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        from_gaps, gap_statements = read()
        monkeypatch.setattr(tablero.campaigns, "READ_CAMPAIGN_GAPS", False)
        from_sends, send_statements = read()
        monkeypatch.setattr(stages, "READ_FACTS", False)
        from_messages, message_statements = read()
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert from_gaps == from_sends == from_messages
    filtered = "group" in filters or "origin" in filters
    assert any("FROM campaign_gap" in s for s in gap_statements) is not filtered
    for reading in (gap_statements, send_statements):
        assert any("FROM campaign_send" in s for s in reading)
        assert not any("FROM message" in s for s in reading)
    assert not any("campaign_gap" in s for s in send_statements)
    assert not any("campaign_send" in s or "campaign_gap" in s for s in message_statements)
    levels = [level["contacts"] for level in from_gaps["messageFunnel"]["levels"]]
    journeys = {j["journey"]: j["reachedContacts"] for j in from_gaps["journeyFunnel"]["journeys"]}
    if case == "as_of_nov_2_10h30":
        # only the part of Nov 2 before asOf: a (REPLIED) b (READ) d e f (CLICKED) at 10:00;
        # a's conversation at 11:00 has not happened yet
        assert levels == [5, 5, 5, 4, 0]
        assert journeys == {"Welcome": 5}
    if case == "as_of_nov_5_10h30":
        # + c (FAILED, Nov 3) and g (SENT, Nov 4); a's second send (Nov 5 10:00) is not a new
        # contact; a converted (1 h after its REPLIED message), g's order has no interaction
        assert levels == [7, 5, 5, 4, 1]
        assert journeys == {"Welcome": 5, None: 1, "Winback": 1}


def test_the_campaign_sends_follow_new_and_changed_records(db, make_org, make_api):
    """A conversation or an order that arrives later, and a message re-sent at another time,
    are seen by the funnels at once (the contact's campaign sends are rebuilt with them)."""
    org_id, key = make_org()
    ingest_records(db, org_id, RECORDS[:5] + [
        contact("b", "+5521987650002", "2026-07-15 10:00", "g1"),
        campaign_message("m-b1", "b", "k1", "WHATSAPP", "REPLIED", "2026-11-02 10:00"),
    ])
    api = make_api(key)

    def counts():
        return funnel_counts(api)["sent"], funnel_counts(api)["converted"]

    assert counts() == (1, 0)
    ingest_records(db, org_id, [conversation("v-b", "b", "COMMERCIAL", "2026-11-08 10:00")])
    assert counts() == (1, 1)  # 6 days after the message
    # the message was in fact sent on Nov 1: the conversation is now 7 days + 1 day after it
    ingest_records(db, org_id, [
        campaign_message("m-b1", "b", "k1", "WHATSAPP", "REPLIED", "2026-11-01 09:00"),
    ])
    assert counts() == (1, 0)
    ingest_records(db, org_id, [order("o-b", "b", "10.00", "2026-11-03 10:00")])
    assert counts() == (1, 1)  # an order 2 days after it
    journey = api.data(FUNNELS, {"f": NOV, "days": 7})["contactsBehaviour"]["journeyFunnel"]
    assert journey["total"] == {"reachedContacts": 1, "commercialContacts": 0}  # orders don't
    ingest_records(db, org_id, [conversation("v-b", "b", "COMMERCIAL", "2026-11-07 10:00")])
    journey = api.data(FUNNELS, {"f": NOV, "days": 7})["contactsBehaviour"]["journeyFunnel"]
    assert journey["total"] == {"reachedContacts": 1, "commercialContacts": 1}  # moved earlier
    # the campaign moves to another journey: its contact's sends count there
    ingest_records(db, org_id, [
        {"type": "campaign", "id": "k1", "name": "Boas-vindas 1", "channel": "WHATSAPP",
         "journey": "Onboarding"},
    ])
    journey = api.data(FUNNELS, {"f": NOV, "days": 7})["contactsBehaviour"]["journeyFunnel"]
    assert [(j["journey"], j["reachedContacts"]) for j in journey["journeys"]] == [
        ("Onboarding", 1)
    ]


def test_the_converted_levels_read_only_the_converting_sends(db, orgs):
    """The message funnel's converted level and the journey funnel's converted contacts read
    the partial index of the sends that were clicked or replied or converted within 90 days
    (ix_campaign_send_org_converting), not every send of the period."""
    from sqlalchemy import event
    from tablero import ReportFilters, trailing_days
    from tablero.orgs import organization_by_key
    from tablero.plugins.contacts_behaviour import queries

    org_id = db.read(lambda conn: organization_by_key(conn, orgs[0]))  # (its id column first)
    f = ReportFilters(org_id, "America/Sao_Paulo", trailing_days(30, "America/Sao_Paulo", NOW))
    window = 7 * 86_400
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with db.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", capture)
        queries._converted_and_interacted(conn, f, window, f.period.as_of_ts)
        converted_level = captured[-1]
        queries._journeys_from_gaps(conn, f, window)
        journey_converted = captured[-1]
        event.remove(conn, "before_cursor_execute", capture)
        for statement, parameters in (converted_level, journey_converted):
            if db.is_sqlite:
                plan = " ".join(
                    str(row[-1])
                    for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                )
                assert "COVERING INDEX ix_campaign_send_org_converting" in plan, plan
            else:
                # On a tiny table any index costs the same; without the two full indexes (in a
                # transaction rolled back), the partial one is chosen only if the statement's
                # conditions imply its predicate (else: a sequential scan, even when disabled)
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                conn.exec_driver_sql("DROP INDEX ix_campaign_send_org_sent")
                conn.exec_driver_sql("DROP INDEX ix_campaign_send_org_contact")
                plan = " ".join(
                    row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)
                )
                conn.rollback()
                assert "ix_campaign_send_org_converting" in plan, plan


def test_the_same_figure_is_the_same_number_everywhere(page):
    reached = page["interactions"]["reachedContacts"]["value"]
    assert reached == page["messageFunnel"]["levels"][0]["contacts"]
    assert reached == page["journeyFunnel"]["total"]["reachedContacts"]
    commercial = page["attentionDistribution"]["commercial"]
    assert commercial == page["dailyVolume"]["commercial"]["total"]
    assert commercial == page["commercialHeatmap"]["total"]
    months = page["contactsOverTime"]
    assert months[-1]["contactBase"] == page["interactions"]["contactBase"]["value"]
    assert months[-1]["interactedContacts"] == page["geography"]["total"]  # none deleted


# ---- contacts over time -----------------------------------------------------------------------


def test_contacts_over_time_six_months_in_sao_paulo(page):
    assert page["contactsOverTime"] == [
        {"month": "2026-06-01", "interactedContacts": 0, "newContacts": 1, "contactBase": 2},
        {"month": "2026-07-01", "interactedContacts": 1, "newContacts": 1, "contactBase": 3},
        {"month": "2026-08-01", "interactedContacts": 0, "newContacts": 1, "contactBase": 4},
        {"month": "2026-09-01", "interactedContacts": 0, "newContacts": 2, "contactBase": 6},
        # October: h (message), j (conversation) and c, whose message of Oct 31 23:30 local is
        # Nov 1 02:30 UTC; new: e, and f created at that same local instant.
        {"month": "2026-10-01", "interactedContacts": 3, "newContacts": 2, "contactBase": 8},
        # November up to the period's end (Nov 20): a b c d e f g k; new g k l (l deleted
        # since, still new); base 8 + 3 - j - l = 9. h's message of Nov 22 is after the end.
        {"month": "2026-11-01", "interactedContacts": 8, "newContacts": 3, "contactBase": 9},
    ]


def test_contacts_over_time_follows_the_period_end(api):
    october = {"period": {"preset": "CUSTOM", "start": "2026-10-01", "end": "2026-10-31"}}
    months = panel(api, october)["contactsOverTime"]
    assert [m["month"] for m in months] == [
        "2026-05-01", "2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"
    ]
    assert months[0] == {
        "month": "2026-05-01", "interactedContacts": 0, "newContacts": 1, "contactBase": 1
    }
    assert months[-1] == {
        "month": "2026-10-01", "interactedContacts": 3, "newContacts": 2, "contactBase": 8
    }


# ---- shared activity figures ------------------------------------------------------------------


def test_geography_of_contacts_with_interactions(page):
    states = {s["uf"]: s["contacts"] for s in page["geography"]["states"]}
    assert len(states) == 27
    # a d (SP), b (RJ), c (MG), e (PR), g (DF), k (BA); f's US number -> unknown.
    assert {uf: n for uf, n in states.items() if n} == {
        "SP": 2, "RJ": 1, "MG": 1, "PR": 1, "DF": 1, "BA": 1
    }
    assert page["geography"]["unknown"] == 1
    assert page["geography"]["total"] == 8


def test_daily_volume_attention_distribution_and_heatmap(page):
    volume = page["dailyVolume"]
    assert volume["sends"]["buckets"][0] == "2026-11-01"
    assert len(volume["sends"]["values"]) == 20

    def on(day: int, values: list[int]) -> int:
        return values[day - 1]

    sends = volume["sends"]["values"]
    # Nov 2: a b d e f; Nov 3: c (failed, still sent); Nov 4: g; Nov 5: a; Nov 6: k.
    assert [on(d, sends) for d in (2, 3, 4, 5, 6)] == [5, 1, 1, 1, 1]
    assert volume["sends"]["total"] == 9 == sum(sends)
    commercial = volume["commercial"]["values"]
    assert (on(2, commercial), on(9, commercial), volume["commercial"]["total"]) == (2, 2, 4)
    assert volume["support"]["total"] == 3
    assert page["attentionDistribution"] == {
        "total": 7, "commercial": 4, "support": 3,
        "commercialShare": pytest.approx(4 / 7), "supportShare": pytest.approx(3 / 7),
    }
    heatmap = page["commercialHeatmap"]
    assert len(heatmap["cells"]) == 168
    # Nov 2 and Nov 9 2026 are Mondays: v-f 09:00, v-d 09:59, v-e 10:01, v-a 11:00 (local).
    busy = {(c["weekday"], c["hour"]): c["value"] for c in heatmap["cells"] if c["value"]}
    assert busy == {(1, 9): 2, (1, 10): 1, (1, 11): 1}
    assert (heatmap["total"], heatmap["max"]) == (4, 2)


# ---- tenancy and permissions ------------------------------------------------------------------


def test_another_organizations_rows_never_count(orgs, make_api, page):
    other = panel(make_api(orgs[1]))
    assert page != other  # the other organization does see its extra rows...
    assert other["messageFunnel"]["levels"][0]["contacts"] == 9  # ... x joins its funnel
    assert panel(make_api(orgs[0])) == page  # ... and none of them reaches the first one


@pytest.mark.parametrize("profile", ["VIEWER", "AGENT"])
def test_viewer_and_agent_are_refused(api, profile):
    body = api.graphql(PANEL, {"f": NOV}, profile=profile)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert body["data"] is None  # no zeros that look like data
    status, _ = api.csv("/export/contacts_behaviour/message-funnel.csv", profile=profile)
    assert status == 403


def test_operator_sees_the_panel(api, page):
    assert panel(api, profile="OPERATOR") == page


def test_advisor_filter_is_refused_not_ignored(api):
    body = api.graphql(PANEL, {"f": {**NOV, "advisor": "ana"}})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    status, body = api.csv("/export/contacts_behaviour/interactions.csv", advisor="ana")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_default_period_is_the_last_30_days(api):
    data = api.data("{ contactsBehaviour { period { start end } } }")
    assert data["contactsBehaviour"]["period"] == {"start": "2026-10-27", "end": "2026-11-25"}


# ---- CSV equals GraphQL -----------------------------------------------------------------------


def csv(api, section, **params):
    status, rows = api.csv(f"/export/contacts_behaviour/{section}.csv", **NOV_CSV, **params)
    assert status == 200, rows
    return rows


def num(text: str) -> float | None:
    return None if text == "" else float(text)


def test_csv_interactions_and_funnels_equal_graphql(api, page):
    rows = csv(api, "interactions")
    assert rows[0] == ["figure", "value", "previous_value", "change", "change_percent"]
    names = {"contact_base": "contactBase", "reached_contacts": "reachedContacts",
             "commercial_contacts": "commercialContacts", "support_contacts": "supportContacts"}
    assert [r[0] for r in rows[1:]] == list(names)
    for name, *values in rows[1:]:
        figure = page["interactions"][names[name]]
        expected = [figure["value"], figure["previousValue"], figure["change"],
                    figure["changePercent"]]
        assert [num(v) for v in values] == expected

    rows = csv(api, "message-funnel")
    assert rows[0] == ["level", "label", "contacts", "rate_of_first", "rate_of_previous"]
    assert [[r[0], r[1], int(r[2]), num(r[3]), num(r[4])] for r in rows[1:]] == [
        [lv["key"], lv["label"], lv["contacts"], pytest.approx(lv["rateOfFirst"]),
         pytest.approx(lv["rateOfPrevious"])]
        for lv in page["messageFunnel"]["levels"]
    ]
    rows = csv(api, "message-funnel", attributionDays="8")
    assert rows[-1][:3] == ["converted", "Converted", "4"]
    status, body = api.csv("/export/contacts_behaviour/message-funnel.csv", attributionDays="91")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    rows = csv(api, "journey-funnel")
    assert rows[0] == ["scope", "journey", "label", "reached_contacts", "commercial_contacts",
                       "conversion_rate"]
    journeys = page["journeyFunnel"]
    expected = [("total", journeys["total"])] + [("journey", j) for j in journeys["journeys"]]
    assert [[r[0], r[1] or None, r[2], int(r[3]), int(r[4]), num(r[5])] for r in rows[1:]] == [
        [scope, j["journey"], j["label"], j["reachedContacts"], j["commercialContacts"],
         j["conversionRate"]]
        for scope, j in expected
    ]


def test_csv_over_time_and_activity_equal_graphql(api, page):
    rows = csv(api, "contacts-over-time")
    assert rows[0] == ["month", "interacted_contacts", "new_contacts", "contact_base"]
    assert [[r[0], int(r[1]), int(r[2]), int(r[3])] for r in rows[1:]] == [
        [m["month"], m["interactedContacts"], m["newContacts"], m["contactBase"]]
        for m in page["contactsOverTime"]
    ]

    rows = csv(api, "geography")
    assert rows[0] == ["uf", "state", "contacts"]
    geo = page["geography"]
    assert [[r[0], r[1], int(r[2])] for r in rows[1:-1]] == [
        [s["uf"], s["name"], s["contacts"]] for s in geo["states"]
    ]
    assert rows[-1][0] == "UNKNOWN" and int(rows[-1][2]) == geo["unknown"]

    rows = csv(api, "daily-volume")
    assert rows[0] == ["day", "sends", "commercial", "support"]
    volume = page["dailyVolume"]
    assert [r[0] for r in rows[1:]] == volume["sends"]["buckets"]
    assert [int(r[1]) for r in rows[1:]] == volume["sends"]["values"]
    assert [int(r[2]) for r in rows[1:]] == volume["commercial"]["values"]
    assert [int(r[3]) for r in rows[1:]] == volume["support"]["values"]

    rows = csv(api, "attention-distribution")
    dist = page["attentionDistribution"]
    assert rows == [
        ["kind", "attentions", "share"],
        ["COMMERCIAL", "4", rows[2 - 1][2]],
        ["SUPPORT", "3", rows[3 - 1][2]],
        ["TOTAL", "7", "1.0"],
    ]
    assert num(rows[1][2]) == pytest.approx(dist["commercialShare"])
    assert num(rows[2][2]) == pytest.approx(dist["supportShare"])

    rows = csv(api, "commercial-heatmap")
    assert rows[0] == ["weekday", "hour", "conversations"]
    assert [[int(v) for v in r] for r in rows[1:]] == [
        [c["weekday"], c["hour"], c["value"]] for c in page["commercialHeatmap"]["cells"]
    ]


def test_csv_filters_match_graphql(api):
    rows = csv(api, "message-funnel", group="g1", channel="WHATSAPP")
    graphql = funnel_counts(api, {"group": "g1", "channel": "WHATSAPP"})
    assert {r[0]: int(r[2]) for r in rows[1:]} == graphql
    # g1 on WhatsApp: a b d; delivered/read a b d; interacted a d; converted a d.
    assert graphql == {"sent": 3, "delivered": 3, "read": 3, "interacted": 2, "converted": 2}


# ---- pluggable funnel stages ------------------------------------------------------------------


class PurchasedWithin30Days:
    """A test plugin: a sixth level, contacts who bought within 30 days of a campaign message."""


    @staticmethod
    @hookimpl
    def tablero_funnel_stages():
        return [
            FunnelStage(
                key="purchased_30d",
                label="Purchased within 30 days",
                after="converted",
                condition=lambda scope: scope.followed_within(
                    SalesOrder, SalesOrder.__table__.c.ordered_at, seconds=30 * 86_400
                ),
            )
        ]


class RepliedInsteadOfInteracted:
    """A test plugin: the 'interacted' level counts replies only."""


    @staticmethod
    @hookimpl
    def tablero_funnel_stages():
        def replied(scope):
            m = scope.message_alias()
            return scope.contact_id.in_(scope.campaign_messages(m.c.status == "REPLIED", message=m))

        return [FunnelStage(key="replied", label="Replied", replaces="interacted",
                            condition=replied)]


def registry_with(*plugins) -> Registry:
    return Registry.collect(make_plugin_manager(plugins=plugins))


def test_a_plugin_adds_a_level_and_levels_stay_nested(orgs, make_api):
    api = make_api(orgs[0], registry=registry_with(PurchasedWithin30Days))
    # Bought within 30 days of a campaign message: a (o-a), k (o-k) and g (o-g) - but g is not
    # converted (never interacted), so the new level, nested under "converted", holds a and k.
    assert funnel_counts(api) == {
        "sent": 8, "delivered": 6, "read": 6, "interacted": 5, "converted": 3, "purchased_30d": 2
    }
    # the CSV reads the same registry: the plugin's level is in the file too
    rows = csv(api, "message-funnel")
    assert [(row[0], row[2]) for row in rows[1:]] == [
        ("sent", "8"), ("delivered", "6"), ("read", "6"), ("interacted", "5"),
        ("converted", "3"), ("purchased_30d", "2"),
    ]


def test_a_plugin_replaces_a_level(orgs, make_api):
    api = make_api(orgs[0], registry=registry_with(RepliedInsteadOfInteracted))
    # Only a replied; converted is now counted among those who replied: a.
    assert funnel_counts(api) == {
        "sent": 8, "delivered": 6, "read": 6, "replied": 1, "converted": 1
    }
    both = make_api(orgs[0], registry=registry_with(RepliedInsteadOfInteracted,
                                                    PurchasedWithin30Days))
    assert list(funnel_counts(both).values()) == [8, 6, 6, 1, 1, 1]


def stage(key, **kwargs):
    return FunnelStage(key=key, label=key.title(), condition=lambda scope: None, **kwargs)


def test_stage_composition():
    keys = [s.key for s in compose_stages([("p", stage("x", after="read")), ("q", stage("z"))])]
    assert keys == ["sent", "delivered", "read", "x", "interacted", "converted", "z"]


@pytest.mark.parametrize(
    "contributions, message",
    [
        ([("p", stage("x", after="nope"))], "unknown stage 'nope'"),
        ([("p", stage("x", replaces="read")), ("q", stage("y", replaces="read"))],
         "replaced by both 'p' and 'q'"),
        ([("p", stage("read"))], "used by both 'contacts_behaviour' and 'p'"),
        ([("p", stage("x", after="read", replaces="sent"))], "both after and replaces"),
        ([("p", "not a stage")], "not a FunnelStage"),
    ],
)
def test_stage_conflicts_fail_loudly_naming_the_plugin(contributions, message):
    with pytest.raises(StartupError, match=message):
        compose_stages(contributions)
