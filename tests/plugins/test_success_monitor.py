"""Success monitor (SPEC 6.4, 7): RFM scores and segments a person can check by hand.

The shop
--------
Period: CUSTOM 2026-11-01 .. 2026-11-20 (America/Sao_Paulo), so scores are as of the period end,
2026-11-21 00:00 local. Every order is at 12:00 local; R (calendar days from the last order's date
to the period's last day) is "Nov 20 minus the order's date": Nov 20 -> 0, Nov 17 -> 3.

Twelve contacts are scored (N = 12). score = 1 + floor(5 * W / 12), W = contacts strictly worse:
    W 0-2 -> 1,  W 3-4 -> 2,  W 5-7 -> 3,  W 8-9 -> 4,  W 10-11 -> 5.

R (last order; W = contacts with MORE days):
    Ana, Bruno   0 days (tie)   W = 10  -> 5
    Carla        3 (Nov 17)     W = 9   -> 4   (her Nov 22 order is after the period end)
    Dani         5 (Nov 15)     W = 8   -> 4
    Hugo        10 (Nov 10)     W = 7   -> 3
    Eva, Fabio  12 (Nov 8, tie) W = 5   -> 3
    Iris        30 (Oct 21)     W = 4   -> 2
    Kim         40 (Oct 11)     W = 3   -> 2
    Jon         60 (Sep 21)     W = 2   -> 1
    Gil         90 (Aug 22)     W = 1   -> 1
    Lia        200 (May 4)      W = 0   -> 1

F (orders before the end; W = contacts with FEWER orders):
    Bruno, Fabio, Lia 1 (one order each, tie)  W = 0  -> 1
    Eva, Gil          2                        W = 3  -> 2
    Dani, Hugo, Jon   3                        W = 5  -> 3
    Carla, Iris       4 (Carla's 5th is later) W = 8  -> 4
    Kim               5                        W = 10 -> 5
    Ana               6                        W = 11 -> 5

M (average in the contact's main currency, scored among contacts of that currency):
  BRL, N = 10: score = 1 + floor(5 * W / 10): W 0-1 -> 1, 2-3 -> 2, 4-5 -> 3, 6-7 -> 4, 8-9 -> 5
    Gil   (0.10 + 0.20) / 2            = 0.15       W = 0 -> 1
    Lia   10.00                        = 10.00      W = 1 -> 1
    Eva   (40 + 60) / 2 = 50.00, Fabio 50.00 (tie)  W = 2 -> 2
    Jon   300.01 / 3 = 100.00333..     = 100.0033   W = 4 -> 3
    Hugo  300.03 / 3                   = 100.01     W = 5 -> 3
    Dani  600 / 3                      = 200.00     W = 6 -> 4
    Bruno 299.99                                    W = 7 -> 4
    Carla 1800 / 4 (not the later 10000.00) = 450.00 W = 8 -> 5
    Ana   4000.05 / 4 BRL orders       = 1000.0125  W = 9 -> 5  (+ 2 USD orders: not in M)
  USD, N = 2: W 0 -> 1, W 1 -> 1 + floor(5/2) = 3
    Iris  4 x 10.00                    = 10.00      W = 0 -> 1
    Kim   3 x 1234567.89 + 0.01 + 0.02 = 3703703.70 / 5 = 740740.74   W = 1 -> 3
          (as floats that sum is 3703703.6999999997)

Segments (SPEC 7 grid on R, F):
    Ana R5 F5 CHAMPIONS        Bruno R5 F1 RECENT        Carla R4 F4 LOYAL
    Dani R4 F3 POTENTIAL_LOYALIST                        Hugo R3 F3 NEED_ATTENTION
    Eva R3 F2, Fabio R3 F1 ABOUT_TO_SLEEP                Iris R2 F4, Jon R1 F3 AT_RISK
    Kim R2 F5 CANT_LOSE        Gil R1 F2, Lia R1 F1 HIBERNATING          PROMISING: nobody
Categories: Best = Ana + Carla = 2; Have potential = Dani + Bruno = 2;
            Priority = Hugo + Iris + Jon + Kim = 4.

Not scored: Mara (her only order, Nov 23, is after the period end), Nico (deleted Nov 12, before
the end). Lia was deleted Nov 24, after the end: still scored. A second organization with its own
(large) orders must change nothing here.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text
from tablero import StartupError, hookimpl
from tablero.ingest import ingest_records
from tablero.plugin_manager import Registry, make_plugin_manager
from tablero.plugins.success_monitor import (
    DEFAULT_SEGMENTS,
    SegmentCategory,
    SegmentRule,
    compose_segments,
)

NOV = {"period": {"preset": "CUSTOM", "start": "2026-11-01", "end": "2026-11-20"}}
SEGMENT_KEYS = [
    "CHAMPIONS",
    "LOYAL",
    "POTENTIAL_LOYALIST",
    "RECENT",
    "PROMISING",
    "NEED_ATTENTION",
    "ABOUT_TO_SLEEP",
    "AT_RISK",
    "CANT_LOSE",
    "HIBERNATING",
]


def contact(cid, name, **extra):
    return {
        "type": "contact",
        "id": cid,
        "name": name,
        "phone": extra.pop("phone", None),
        "created_at": "2026-01-02T09:00:00-03:00",
        **extra,
    }


def order(oid, cid, amount, day, currency="BRL"):
    return {
        "type": "order",
        "id": oid,
        "contact": cid,
        "amount": amount,
        "currency": currency,
        "ordered_at": f"{day}T12:00:00-03:00",
    }


SHOP = [
    contact("ana", "Ana", phone="+5511987650001", origin="feira"),
    contact("bruno", "Bruno", phone="+5521987650002"),
    contact("carla", "Carla"),
    contact("dani", "Dani"),
    contact("hugo", "Hugo"),
    contact("eva", "Eva"),
    contact("fabio", "Fabio"),
    contact("iris", "Iris", origin="feira"),
    contact("kim", "Kim"),
    contact("jon", "Jon", origin="feira"),
    contact("gil", "Gil"),
    contact("lia", "Lia", deleted_at="2026-11-24T10:00:00-03:00"),
    contact("mara", "Mara"),
    contact("nico", "Nico", deleted_at="2026-11-12T10:00:00-03:00"),
    # Ana: 4 BRL + 2 USD orders
    order("a1", "ana", "1000.00", "2026-11-20"),
    order("a2", "ana", "1000.00", "2026-11-10"),
    order("a3", "ana", "2000.00", "2026-10-20"),
    order("a4", "ana", "0.05", "2026-09-01"),
    order("a5", "ana", "20.00", "2026-11-05", "USD"),
    order("a6", "ana", "30.00", "2026-10-25", "USD"),
    order("b1", "bruno", "299.99", "2026-11-20"),
    order("c1", "carla", "300.00", "2026-11-17"),
    order("c2", "carla", "400.00", "2026-10-30"),
    order("c3", "carla", "500.00", "2026-10-01"),
    order("c4", "carla", "600.00", "2026-08-01"),
    order("c5", "carla", "10000.00", "2026-11-22"),  # after the period end: does not count
    order("d1", "dani", "150.00", "2026-11-15"),
    order("d2", "dani", "250.00", "2026-10-15"),
    order("d3", "dani", "200.00", "2026-07-01"),
    order("h1", "hugo", "100.00", "2026-11-10"),
    order("h2", "hugo", "100.00", "2026-10-10"),
    order("h3", "hugo", "100.03", "2026-09-10"),
    order("e1", "eva", "40.00", "2026-11-08"),
    order("e2", "eva", "60.00", "2026-10-20"),
    order("f1", "fabio", "50.00", "2026-11-08"),
    order("i1", "iris", "10.00", "2026-10-21", "USD"),
    order("i2", "iris", "10.00", "2026-09-21", "USD"),
    order("i3", "iris", "10.00", "2026-08-21", "USD"),
    order("i4", "iris", "10.00", "2026-07-21", "USD"),
    order("k1", "kim", "1234567.89", "2026-10-11", "USD"),
    order("k2", "kim", "1234567.89", "2026-09-11", "USD"),
    order("k3", "kim", "1234567.89", "2026-08-11", "USD"),
    order("k4", "kim", "0.01", "2026-07-11", "USD"),
    order("k5", "kim", "0.02", "2026-06-11", "USD"),
    order("j1", "jon", "100.00", "2026-09-21"),
    order("j2", "jon", "100.00", "2026-08-21"),
    order("j3", "jon", "100.01", "2026-07-21"),
    order("g1", "gil", "0.10", "2026-08-22"),
    order("g2", "gil", "0.20", "2026-07-01"),
    order("l1", "lia", "10.00", "2026-05-04"),
    order("m1", "mara", "75.00", "2026-11-23"),  # after the period end
    order("n1", "nico", "500.00", "2026-11-03"),  # deleted contact: a sale, but not scored
]

# The other organization: same contact ids, much larger orders, all inside the period.
OTHER = [contact(c, c.title()) for c in ("ana", "bruno", "zoe")] + [
    order("x1", "ana", "99999.00", "2026-11-19"),
    order("x2", "bruno", "88888.00", "2026-11-19", "USD"),
    order("x3", "zoe", "77777.00", "2026-11-02"),
]

# external id -> (segment, R days, F, M amount, M currency, R score, F score, M score)
EXPECTED = {
    "ana": ("CHAMPIONS", 0, 6, "1000.0125", "BRL", 5, 5, 5),
    "bruno": ("RECENT", 0, 1, "299.99", "BRL", 5, 1, 4),
    "carla": ("LOYAL", 3, 4, "450.00", "BRL", 4, 4, 5),
    "dani": ("POTENTIAL_LOYALIST", 5, 3, "200.00", "BRL", 4, 3, 4),
    "hugo": ("NEED_ATTENTION", 10, 3, "100.01", "BRL", 3, 3, 3),
    "eva": ("ABOUT_TO_SLEEP", 12, 2, "50.00", "BRL", 3, 2, 2),
    "fabio": ("ABOUT_TO_SLEEP", 12, 1, "50.00", "BRL", 3, 1, 2),
    "iris": ("AT_RISK", 30, 4, "10.00", "USD", 2, 4, 1),
    "kim": ("CANT_LOSE", 40, 5, "740740.74", "USD", 2, 5, 3),
    "jon": ("AT_RISK", 60, 3, "100.0033", "BRL", 1, 3, 3),
    "gil": ("HIBERNATING", 90, 2, "0.15", "BRL", 1, 2, 1),
    "lia": ("HIBERNATING", 200, 1, "10.00", "BRL", 1, 1, 1),
}

_SHOPS: dict[str, tuple[int, str, str]] = {}


@pytest.fixture
def shop(db, make_org):
    """``(org id, org key, other org key)``: the shop and the other organization, ingested once
    per database (tests only read them, except the automations test, which adds its own)."""
    if db.url not in _SHOPS:
        org_id, org_key = make_org()
        ingest_records(db, org_id, SHOP)
        other_id, other_key = make_org()
        ingest_records(db, other_id, OTHER)
        _SHOPS[db.url] = (org_id, org_key, other_key)
    return _SHOPS[db.url]


@pytest.fixture
def api(shop, make_api):
    return make_api(shop[1])


NODE = """externalId name phone segment recencyDays frequency
    averageValue { currency amount } rScore fScore mScore lastOrderAt"""

PAGE = (
    """query($f: ReportFiltersInput, $segment: String!, $first: Int!, $after: String) {
  successMonitor(filters: $f) {
    contacts(segment: $segment, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { """
    + NODE
    + """ } }
    }
  }
}"""
)

TABLE = """query($f: ReportFiltersInput) {
  successMonitor(filters: $f) {
    periodStart periodEnd scoredContacts
    segments { key label category cells { r f } contacts share orders
               revenue { currency amount } averageTicket { currency amount } }
    categories { key label contacts share segments }
  }
}"""


def segment_contacts(api, segment, filters=NOV, first=500):
    """Every node of a segment, following the pages."""
    nodes, after = [], None
    while True:
        page = api.data(PAGE, {"f": filters, "segment": segment, "first": first, "after": after})[
            "successMonitor"
        ]["contacts"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes, page["totalCount"]
        after = page["pageInfo"]["endCursor"]


def every_scored_contact(api, filters=NOV, keys=SEGMENT_KEYS):
    out = {}
    for key in keys:
        for node in segment_contacts(api, key, filters)[0]:
            assert node["externalId"] not in out, f"{node['externalId']} in two segments"
            out[node["externalId"]] = node
    return out


# ---- scores and segments -------------------------------------------------------------------


def test_each_contact_scores_and_segment_by_hand(api):
    nodes = every_scored_contact(api)
    got = {
        ext: (
            n["segment"],
            n["recencyDays"],
            n["frequency"],
            n["averageValue"]["amount"],
            n["averageValue"]["currency"],
            n["rScore"],
            n["fScore"],
            n["mScore"],
        )
        for ext, n in nodes.items()
    }
    assert got == EXPECTED  # Mara (later order) and Nico (deleted) are not there
    assert nodes["ana"]["name"] == "Ana" and nodes["ana"]["phone"] == "+5511987650001"
    assert nodes["ana"]["lastOrderAt"] == "2026-11-20T12:00:00-03:00"
    # Carla's last counted order is Nov 17, not her Nov 22 one
    assert nodes["carla"]["lastOrderAt"] == "2026-11-17T12:00:00-03:00"


def test_segment_table_and_categories(api):
    report = api.data(TABLE, {"f": NOV})["successMonitor"]
    assert (report["periodStart"], report["periodEnd"]) == ("2026-11-01", "2026-11-20")
    assert report["scoredContacts"] == 12
    segments = {s["key"]: s for s in report["segments"]}
    assert [s["key"] for s in report["segments"]] == SEGMENT_KEYS  # Champions first
    counts = {k: s["contacts"] for k, s in segments.items()}
    assert counts == {
        "CHAMPIONS": 1,
        "LOYAL": 1,
        "POTENTIAL_LOYALIST": 1,
        "RECENT": 1,
        "PROMISING": 0,
        "NEED_ATTENTION": 1,
        "ABOUT_TO_SLEEP": 2,
        "AT_RISK": 2,
        "CANT_LOSE": 1,
        "HIBERNATING": 2,
    }
    assert segments["AT_RISK"]["share"] == pytest.approx(2 / 12, abs=1e-6)
    assert segments["PROMISING"] == {
        "key": "PROMISING",
        "label": "Promising",
        "category": None,
        "cells": [{"r": 4, "f": 1}],
        "contacts": 0,
        "share": 0.0,
        "orders": 0,
        "revenue": [],
        "averageTicket": [],
    }

    def money(segment):
        s = segments[segment]
        return (
            s["orders"],
            {m["currency"]: m["amount"] for m in s["revenue"]},
            {m["currency"]: m["amount"] for m in s["averageTicket"]},
        )

    # Ana: BRL 1000 + 1000 + 2000 + 0.05 = 4000.05 over 4 orders; USD 20 + 30 over 2
    assert money("CHAMPIONS") == (
        6,
        {"BRL": "4000.05", "USD": "50.00"},
        {"BRL": "1000.0125", "USD": "25.00"},
    )
    # Carla's Nov 22 order (10000.00) is after the period end
    assert money("LOYAL") == (4, {"BRL": "1800.00"}, {"BRL": "450.00"})
    # Iris USD 4 x 10; Jon BRL 100 + 100 + 100.01: currencies never summed
    assert money("AT_RISK") == (
        7,
        {"BRL": "300.01", "USD": "40.00"},
        {"BRL": "100.0033", "USD": "10.00"},
    )
    # Kim: 3 x 1234567.89 + 0.01 + 0.02, exact (floats give 3703703.6999999997)
    assert money("CANT_LOSE") == (5, {"USD": "3703703.70"}, {"USD": "740740.74"})
    # Gil 0.10 + 0.20 (floats give 0.30000000000000004) + Lia 10.00 = 10.30 over 3
    assert money("HIBERNATING") == (3, {"BRL": "10.30"}, {"BRL": "3.4333"})

    categories = {c["key"]: c for c in report["categories"]}
    assert categories["BEST"] == {
        "key": "BEST",
        "label": "Best customers",
        "contacts": 2,
        "share": pytest.approx(2 / 12, abs=1e-6),
        "segments": ["CHAMPIONS", "LOYAL"],
    }
    assert categories["POTENTIAL"]["contacts"] == 2
    assert categories["POTENTIAL"]["segments"] == ["POTENTIAL_LOYALIST", "RECENT"]
    assert categories["PRIORITY"]["contacts"] == 4
    assert categories["PRIORITY"]["segments"] == ["NEED_ATTENTION", "AT_RISK", "CANT_LOSE"]
    assert categories["PRIORITY"]["label"] == "Priority attention"


def test_origin_filter_shows_a_subset_with_the_organizations_scores(api):
    # Ana, Iris and Jon came from "feira"; their scores are still ranked among all 12
    feira = {**NOV, "origin": "feira"}
    report = api.data(TABLE, {"f": feira})["successMonitor"]
    assert report["scoredContacts"] == 3
    counts = {s["key"]: s["contacts"] for s in report["segments"] if s["contacts"]}
    assert counts == {"CHAMPIONS": 1, "AT_RISK": 2}
    nodes = every_scored_contact(api, feira)
    assert {k: EXPECTED[k][5:] for k in nodes} == {
        "ana": (5, 5, 5),
        "iris": (2, 4, 1),
        "jon": (1, 3, 3),
    }


def test_scores_are_as_of_the_period_end(api):
    # Without a period (LAST_30_DAYS) the scores are as of now, 2026-11-25 12:00: Carla's Nov 22
    # order and Mara's Nov 23 one count now; Lia, deleted Nov 24, no longer does. N stays 12.
    report = api.data(TABLE)["successMonitor"]
    assert report["scoredContacts"] == 12
    nodes = every_scored_contact(api, filters=None)
    assert nodes["carla"]["frequency"] == 5
    assert nodes["carla"]["recencyDays"] == 3  # Nov 22 12:00 -> Nov 25 12:00
    assert nodes["mara"]["frequency"] == 1
    assert "lia" not in nodes and "nico" not in nodes


def test_other_organization_sees_only_its_own(api, shop, make_api):
    # The shop's figures above are exact, so the other organization's orders did not count
    # there; and the other organization sees only its three contacts, all one order each:
    # R: Ana, Bruno 1 day (Nov 19), Zoe 18 -> W 1, 1, 0 -> 1 + floor(5 * W / 3) = 2, 2, 1
    # F: all 1 order -> 1. Every one is HIBERNATING (R 1-2, F 1-2).
    other = make_api(shop[2])
    report = other.data(TABLE, {"f": NOV})["successMonitor"]
    assert report["scoredContacts"] == 3
    hibernating = next(s for s in report["segments"] if s["key"] == "HIBERNATING")
    assert hibernating["contacts"] == 3
    assert hibernating["revenue"] == [
        {"currency": "BRL", "amount": "177776.00"},  # 99999 + 77777
        {"currency": "USD", "amount": "88888.00"},
    ]
    assert set(every_scored_contact(other)) == {"ana", "bruno", "zoe"}
    # a token of the shop never reaches the other organization's contacts
    assert every_scored_contact(api)["ana"]["averageValue"]["amount"] == "1000.0125"


# ---- sales ---------------------------------------------------------------------------------

SALES = """query($f: ReportFiltersInput, $p: PeriodInput) {
  successMonitor(filters: $f) {
    sales(period: $p) {
      periodStart periodEnd previousStart previousEnd
      recency { value previousValue change changePercent }
      frequency { value previousValue change changePercent }
      buyers { value previousValue }
      value { currency value previousValue change changePercent }
      revenue { currency value previousValue change changePercent }
    }
  }
}"""


def test_sales_with_previous_period(api):
    sales = api.data(SALES, {"f": NOV})["successMonitor"]["sales"]
    assert (sales["periodStart"], sales["periodEnd"]) == ("2026-11-01", "2026-11-20")
    assert (sales["previousStart"], sales["previousEnd"]) == ("2026-10-12", "2026-10-31")
    # Orders Nov 1..20: Ana Nov 20 + Nov 10 (BRL) + Nov 5 (USD), Bruno, Carla Nov 17, Dani,
    # Hugo, Eva, Fabio, Nico (deleted later, still a sale) = 10. Previous (Oct 12..31): Ana Oct 20
    # (BRL) + Oct 25 (USD), Carla Oct 30, Dani Oct 15, Eva Oct 20, Iris Oct 21 (USD) = 6.
    # (Hugo Oct 10 and Kim Oct 11 are before Oct 12; Carla Nov 22 and Mara Nov 23 after Nov 20.)
    assert sales["frequency"] == {
        "value": 10.0,
        "previousValue": 6.0,
        "change": 4.0,
        "changePercent": pytest.approx(66.6667),
    }
    assert sales["buyers"] == {"value": 8.0, "previousValue": 5.0}
    # Days from each buyer's last order in the period to its end (Nov 21 00:00):
    # Ana 0, Bruno 0, Carla 3, Dani 5, Hugo 10, Eva 12, Fabio 12, Nico (Nov 3) 17 -> 59 / 8
    # Previous, to Nov 1 00:00: Ana (Oct 25) 6, Carla 1, Dani 16, Eva 11, Iris 10 -> 44 / 5
    assert sales["recency"]["value"] == pytest.approx(7.375)
    assert sales["recency"]["previousValue"] == pytest.approx(8.8)
    assert sales["recency"]["change"] == pytest.approx(-1.425)
    # BRL: 1000 + 1000 + 299.99 + 300 + 150 + 100 + 40 + 50 + 500 = 3439.99 over 9 orders;
    # previous 2000 + 400 + 250 + 60 = 2710.00 over 4. USD: 20.00 over 1; previous 30 + 10 over 2.
    assert sales["revenue"] == [
        {
            "currency": "BRL",
            "value": "3439.99",
            "previousValue": "2710.00",
            "change": "729.99",
            "changePercent": pytest.approx(26.9369),  # 729.99 / 2710 * 100
        },
        {
            "currency": "USD",
            "value": "20.00",
            "previousValue": "40.00",
            "change": "-20.00",
            "changePercent": -50.0,
        },
    ]
    assert sales["value"] == [
        {
            "currency": "BRL",
            "value": "382.2211",  # 3439.99 / 9 = 382.22111...
            "previousValue": "677.50",
            "change": "-295.2789",
            "changePercent": pytest.approx(-43.5836),  # -295.2789 / 677.50 * 100
        },
        {
            "currency": "USD",
            "value": "20.00",
            "previousValue": "20.00",
            "change": "0.00",
            "changePercent": 0.0,
        },
    ]


def test_sales_period_argument_overrides_the_report_period(api):
    # YESTERDAY = Nov 24: no order that day; the day before (Nov 23) has Mara's 75.00
    sales = api.data(SALES, {"f": NOV, "p": {"preset": "YESTERDAY"}})["successMonitor"]["sales"]
    assert (sales["periodStart"], sales["periodEnd"]) == ("2026-11-24", "2026-11-24")
    assert sales["frequency"]["value"] == 0.0 and sales["frequency"]["previousValue"] == 1.0
    assert sales["recency"]["value"] is None
    assert sales["revenue"] == [
        {
            "currency": "BRL",
            "value": "0.00",
            "previousValue": "75.00",
            "change": "-75.00",
            "changePercent": -100.0,
        }
    ]
    assert sales["value"][0]["value"] is None and sales["value"][0]["previousValue"] == "75.00"


# ---- drill-down pages ----------------------------------------------------------------------

# 25 contacts, one order each on the same day: every R and F ties (W = 0 -> score 1), so all are
# HIBERNATING; values repeat (ties broken by contact) so pages must cut inside a tie.
CROWD_VALUES = ["10.00", "20.00", "20.00", "30.00", "30.00", "30.00", "5.50", "5.50", "99.99"]
CROWD = [contact(f"p{i:02d}", f"Person {i}") for i in range(25)] + [
    order(f"q{i:02d}", f"p{i:02d}", CROWD_VALUES[i % len(CROWD_VALUES)], "2026-11-10")
    for i in range(25)
]
_CROWDS: dict[str, str] = {}


@pytest.fixture
def crowd_api(db, make_org, make_api):
    if db.url not in _CROWDS:
        org_id, org_key = make_org()
        ingest_records(db, org_id, CROWD)
        _CROWDS[db.url] = org_key
    return make_api(_CROWDS[db.url])


def test_pages_have_no_duplicates_or_gaps(crowd_api):
    whole, total = segment_contacts(crowd_api, "HIBERNATING", first=500)
    assert total == 25 and len(whole) == 25
    paged, page_total = segment_contacts(crowd_api, "HIBERNATING", first=7)  # 7 + 7 + 7 + 4
    assert page_total == 25
    assert [n["externalId"] for n in paged] == [n["externalId"] for n in whole]
    assert len({n["externalId"] for n in paged}) == 25
    amounts = [float(n["averageValue"]["amount"]) for n in paged]
    assert amounts == sorted(amounts, reverse=True)  # by value, highest first
    assert amounts[0] == 99.99 and amounts[-1] == 5.5


def test_last_page_and_empty_segment(crowd_api):
    variables = {"f": NOV, "segment": "HIBERNATING", "first": 25}
    page = crowd_api.data(PAGE, variables)["successMonitor"]["contacts"]
    assert page["pageInfo"]["hasNextPage"] is False
    after = page["pageInfo"]["endCursor"]
    rest = crowd_api.data(PAGE, {**variables, "after": after})["successMonitor"]["contacts"]
    assert rest == {
        "totalCount": 25,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    empty = crowd_api.data(PAGE, {**variables, "segment": "CHAMPIONS"})["successMonitor"][
        "contacts"
    ]
    assert empty == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }


def test_contact_fields_come_from_one_batched_query(db, crowd_api):
    """Name, phone and external id through the DataLoader: the statement count of a page does
    not grow with the page size (no query per contact)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def run(first):
        statements.clear()
        crowd_api.data(PAGE, {"f": NOV, "segment": "HIBERNATING", "first": first})
        return len(statements)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        small, large = run(2), run(25)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert small == large


@pytest.mark.parametrize(
    "variables, message",
    [
        ({"segment": "VIP"}, "unknown segment"),
        ({"first": 501}, "first must be between 1 and 500"),
        ({"first": 0}, "first must be between 1 and 500"),
        ({"after": "not-a-cursor"}, "not a cursor"),
    ],
)
def test_drill_down_input_errors(api, variables, message):
    body = api.graphql(PAGE, {"f": NOV, "segment": "AT_RISK", "first": 10, **variables})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert message in body["errors"][0]["message"]


# ---- permissions and periods ---------------------------------------------------------------

CREATE = """mutation($segment: String!, $name: String!) {
  createAutomation(segment: $segment, name: $name) {
    id segment segmentLabel name createdBy createdAt segmentSize
  }
}"""


@pytest.mark.parametrize("profile", ["VIEWER", "AGENT"])
def test_viewer_and_agent_are_refused_everywhere(api, profile):
    assert api.error_codes(TABLE, {"f": NOV}, profile=profile) == ["FORBIDDEN"]
    assert api.error_codes(SALES, {"f": NOV}, profile=profile) == ["FORBIDDEN"]
    variables = {"segment": "AT_RISK", "name": "x"}
    assert api.error_codes(CREATE, variables, profile=profile) == ["FORBIDDEN"]
    for section in ("segments", "contacts"):
        status, body = api.csv(f"/export/success_monitor/{section}.csv", profile=profile)
        assert status == 403 and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_operator_may_see_the_panel(api):
    assert api.data(TABLE, {"f": NOV}, profile="OPERATOR")["successMonitor"]["scoredContacts"] == 12


@pytest.mark.parametrize(
    "filters",
    [
        {"period": {"preset": "TODAY"}},
        {"period": {"preset": "LAST_6_MONTHS"}},
        {"period": {"preset": "CUSTOM", "start": "2026-11-20", "end": "2026-11-01"}},
        {"channel": "WHATSAPP"},
    ],
)
def test_periods_and_filters_not_offered(api, filters):
    assert api.error_codes(TABLE, {"f": filters}) == ["BAD_USER_INPUT"]


def test_sales_period_and_csv_refuse_other_presets(api):
    assert api.error_codes(SALES, {"f": NOV, "p": {"preset": "TODAY"}}) == ["BAD_USER_INPUT"]
    status, body = api.csv("/export/success_monitor/segments.csv", period="TODAY")
    assert status == 400 and "not offered" in body["errors"][0]["message"]


# ---- automations ---------------------------------------------------------------------------

AUTOMATIONS = "{ successMonitor { automations { id segment name createdBy segmentSize } } }"


def test_create_automation_records_who_when_and_size(api):
    # the size is the segment's contact count now (scores as of now, whole organization)
    now_table = api.data(TABLE)["successMonitor"]["segments"]
    at_risk_now = next(s["contacts"] for s in now_table if s["key"] == "AT_RISK")
    champions_now = next(s["contacts"] for s in now_table if s["key"] == "CHAMPIONS")
    assert at_risk_now > 0

    created = api.data(CREATE, {"segment": "AT_RISK", "name": " Win them back "})
    assert created["createAutomation"] == {
        "id": 1,
        "segment": "AT_RISK",
        "segmentLabel": "At risk",
        "name": "Win them back",
        "createdBy": "admin",
        "createdAt": "2026-11-25T12:00:00-03:00",
        "segmentSize": at_risk_now,
    }
    second = api.data(CREATE, {"segment": "CHAMPIONS", "name": "Thanks"}, profile="OPERATOR")
    assert second["createAutomation"]["createdBy"] == "operator"
    assert second["createAutomation"]["segmentSize"] == champions_now

    listed = api.data(AUTOMATIONS)["successMonitor"]["automations"]
    assert listed == [
        {
            "id": 2,
            "segment": "CHAMPIONS",
            "name": "Thanks",
            "createdBy": "operator",
            "segmentSize": champions_now,
        },
        {
            "id": 1,
            "segment": "AT_RISK",
            "name": "Win them back",
            "createdBy": "admin",
            "segmentSize": at_risk_now,
        },
    ]
    assert api.error_codes(CREATE, {"segment": "VIP", "name": "x"}) == ["BAD_USER_INPUT"]
    assert api.error_codes(CREATE, {"segment": "AT_RISK", "name": "  "}) == ["BAD_USER_INPUT"]
    assert len(api.data(AUTOMATIONS)["successMonitor"]["automations"]) == 2


# ---- CSV -----------------------------------------------------------------------------------

CSV_NOV = {"period": "CUSTOM", "start": "2026-11-01", "end": "2026-11-20"}


def test_segments_csv_equals_graphql(api):
    segments = api.data(TABLE, {"f": NOV})["successMonitor"]["segments"]
    status, rows = api.csv("/export/success_monitor/segments.csv", **CSV_NOV)
    assert status == 200
    header, *lines = rows
    assert header == [
        "segment",
        "label",
        "category",
        "contacts",
        "share",
        "orders",
        "currency",
        "revenue",
        "average_ticket",
    ]
    expected = []
    for s in segments:
        head = [
            s["key"],
            s["label"],
            s["category"] or "",
            str(s["contacts"]),
            repr(round(s["share"], 6)),
            str(s["orders"]),
        ]
        if not s["revenue"]:
            expected.append(head + ["", "", ""])
        for revenue, ticket in zip(s["revenue"], s["averageTicket"], strict=True):
            expected.append(head + [revenue["currency"], revenue["amount"], ticket["amount"]])
    assert lines == expected
    assert [
        "CANT_LOSE",
        "Can't lose them",
        "PRIORITY",
        "1",
        repr(round(1 / 12, 6)),
        "5",
        "USD",
        "3703703.70",
        "740740.74",
    ] in lines


def test_contacts_csv_equals_graphql(api):
    nodes = every_scored_contact(api)
    status, rows = api.csv("/export/success_monitor/contacts.csv", **CSV_NOV)
    assert status == 200
    header, *lines = rows
    assert header[:6] == ["contact", "name", "phone", "segment", "segment_label", "category"]
    assert len(lines) == 12
    by_contact = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    for ext, node in nodes.items():
        line = by_contact[ext]
        assert line["segment"] == node["segment"]
        assert line["name"] == node["name"] and line["phone"] == (node["phone"] or "")
        assert int(line["recency_days"]) == node["recencyDays"]
        assert int(line["frequency"]) == node["frequency"]
        assert line["average_value"] == node["averageValue"]["amount"]
        assert line["currency"] == node["averageValue"]["currency"]
        assert [int(line[k]) for k in ("r_score", "f_score", "m_score")] == [
            node["rScore"],
            node["fScore"],
            node["mScore"],
        ]
        assert line["last_order_at"] == node["lastOrderAt"]
    # grouped by segment in table order, each segment in drill-down order
    assert [line[0] for line in lines] == [
        n["externalId"] for key in SEGMENT_KEYS for n in segment_contacts(api, key)[0]
    ]


# ---- pluggable segments --------------------------------------------------------------------


class WhalesPlugin:
    """Adds WHALES (R 5, F 5): it takes that cell from CHAMPIONS."""

    @hookimpl
    def tablero_rfm_segments(self):
        return [SegmentRule("WHALES", "Whales", SegmentCategory.BEST, {5}, {5}, position=5)]


def test_a_plugin_adds_a_segment(shop, make_api):
    registry = Registry.collect(make_plugin_manager(plugins=[WhalesPlugin()]))
    api = make_api(shop[1], registry=registry)
    report = api.data(TABLE, {"f": NOV})["successMonitor"]
    segments = {s["key"]: s for s in report["segments"]}
    assert report["segments"][0]["key"] == "WHALES"
    assert segments["WHALES"]["contacts"] == 1  # Ana, R5 F5
    assert segments["CHAMPIONS"]["contacts"] == 0
    assert segments["CHAMPIONS"]["cells"] == [{"r": 5, "f": 4}]
    assert sum(s["contacts"] for s in report["segments"]) == report["scoredContacts"] == 12
    best = next(c for c in report["categories"] if c["key"] == "BEST")
    assert best["segments"] == ["WHALES", "CHAMPIONS", "LOYAL"]
    assert best["contacts"] == 2  # Ana (now WHALES) + Carla
    # every contact in exactly one segment (every_scored_contact asserts no repeats)
    nodes = every_scored_contact(api, keys=list(segments))
    assert set(nodes) == set(EXPECTED)
    assert nodes["ana"]["segment"] == "WHALES"
    # the CSV reads the same registry: the plugin's segment is in both files
    status, rows = api.csv("/export/success_monitor/segments.csv", **CSV_NOV)
    assert status == 200 and rows[1][0] == "WHALES" and rows[1][3] == "1"
    status, rows = api.csv("/export/success_monitor/contacts.csv", **CSV_NOV)
    assert status == 200
    header = rows[0]
    by_contact = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert by_contact["ana"]["segment"] == "WHALES"


def test_default_grid_covers_every_pair_once():
    grid = compose_segments([("success_monitor", rule) for rule in DEFAULT_SEGMENTS])
    cells = [cell for segment in grid.segments for cell in segment.cells]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert [s.key for s in grid.segments] == SEGMENT_KEYS


def _compose(*plugins):
    base = [("success_monitor", rule) for rule in DEFAULT_SEGMENTS]
    return compose_segments(base + [(name, rule) for name, rules in plugins for rule in rules])


def test_grid_conflicts_fail_at_start_up():
    # replacing CHAMPIONS (R5 F4-5) by R5 F5 leaves R5 F4 uncovered
    narrow = SegmentRule("CHAMPIONS", "Champions", "BEST", {5}, {5}, 10)
    with pytest.raises(StartupError, match="not covered: R=5 F=4"):
        _compose(("narrow", [narrow]))
    # two plugins claiming one cell
    one = SegmentRule("VIP", "VIP", None, {5}, {5})
    two = SegmentRule("STARS", "Stars", None, {4, 5}, {5})
    with pytest.raises(
        StartupError,
        match=r"R=5 F=5 is claimed by segment VIP \('a'\) and by "
        r"segment STARS \('b'\)",
    ):
        _compose(("a", [one]), ("b", [two]))
    with pytest.raises(StartupError, match="contributed by both 'a' and 'b'"):
        _compose(("a", [one]), ("b", [SegmentRule("VIP", "VIP", None, {1}, {1})]))
    with pytest.raises(StartupError, match="return tablero.plugins.success_monitor.SegmentRule"):
        _compose(("a", [{"key": "VIP"}]))
    with pytest.raises(StartupError, match="scores 1..5"):
        SegmentRule("VIP", "VIP", None, {6}, {1})
    with pytest.raises(StartupError, match="unknown category"):
        SegmentRule("VIP", "VIP", "GOLD", {5}, {1})


def test_a_plugin_may_replace_the_whole_grid():
    high = SegmentRule("ACTIVE", "Active", "BEST", range(3, 6), range(1, 6), 1)
    low = SegmentRule("LAPSED", "Lapsed", "PRIORITY", {1, 2}, range(1, 6), 2)
    grid = _compose(("mine", [high, low]))
    assert [s.key for s in grid.segments] == ["ACTIVE", "LAPSED"]
    assert [s.key for s in grid.category_members(SegmentCategory.POTENTIAL)] == []


def test_a_broken_grid_fails_the_registry_on_first_use():
    class Narrow:
        @hookimpl
        def tablero_rfm_segments(self):
            return [SegmentRule("CHAMPIONS", "Champions", "BEST", {5}, {5}, 10)]

    from tablero.plugins.success_monitor import segment_grid

    registry = Registry.collect(make_plugin_manager(plugins=[Narrow()]))
    with pytest.raises(StartupError, match="R=5 F=4"):
        segment_grid(registry)


# The shop as of Nov 20 with nothing after: no order after Nov 20 (Carla's Nov 22 and Mara's
# Nov 23 left out) and no deletion after it (Lia not deleted). Scoring then reads the customer
# order facts (the segment table the customer_cell rollup) and sales the day rollups.
AS_OF_NOV_20 = [
    {k: v for k, v in r.items() if k != "deleted_at"} if r["id"] == "lia" else r
    for r in SHOP
    if r["type"] != "order" or r["ordered_at"] < "2026-11-21"
]
# ... and noise after the period's end that changes no figure: a new buyer, a deletion
NOISE = [
    contact("late", "Late"),
    order("late1", "late", "5.00", "2026-11-25"),
    contact("gone", "Gone", deleted_at="2026-11-26T10:00:00-03:00"),
]
LAST_30_AFTERNOON = {
    "period": {"preset": "LAST_30_DAYS"}, "asOf": "2026-11-20T15:00:00-03:00",
}
# ... and, for a period ending at 15:00 on Nov 20, orders later that day: Bruno (who also bought
# at 12:00), Ana at 23:59, and the new buyer
SAME_DAY = NOISE + [
    {**order("b2", "bruno", "1.00", "2026-11-20"), "ordered_at": "2026-11-20T18:00:00-03:00"},
    {**order("a7", "ana", "2.00", "2026-11-20"), "ordered_at": "2026-11-20T23:59:00-03:00"},
    {**order("late2", "late", "3.00", "2026-11-20"), "ordered_at": "2026-11-20T16:00:00-03:00"},
]


@pytest.mark.parametrize(
    "filters, noise",
    [(NOV, NOISE), (LAST_30_AFTERNOON, SAME_DAY), ({**NOV, "origin": "feira"}, NOISE)],
    ids=["nov", "afternoon", "origin"],
)
def test_facts_rollups_and_orders_give_the_same_figures(
    db, make_org, make_api, monkeypatch, filters, noise
):
    """Three readings of the same figures: the facts with nothing after the end; the facts
    corrected for the late contacts (and sales' rollups for the last day's later orders); and,
    with the late-row limit at -1, everything grouped from the orders."""
    from tablero.plugins.success_monitor import queries

    apis = {}
    for name, records in (("facts", AS_OF_NOV_20), ("corrected", AS_OF_NOV_20 + noise)):
        org_id, org_key = make_org()
        ingest_records(db, org_id, records)
        apis[name] = make_api(org_key)
    apis["orders"] = apis["corrected"]

    def read(name):
        if name == "orders":
            monkeypatch.setattr(queries, "MAX_LATE_ROWS", -1)
        with _statements(db) as statements:
            figures = [apis[name].data(TABLE, {"f": filters}), apis[name].data(SALES, {"f": filters})]
            for key in SEGMENT_KEYS:
                variables = {"f": filters, "segment": key, "first": 3, "after": None}
                figures.append(apis[name].data(PAGE, variables))
        monkeypatch.undo()
        return figures, " ".join(statements)

    (facts, facts_sql), (corrected, corrected_sql), (grouped, grouped_sql) = (
        read("facts"), read("corrected"), read("orders")
    )
    assert facts == corrected == grouped
    unfiltered = "origin" not in filters
    # which facts each reading used: the rollups only without filters
    assert "customer_orders" in facts_sql and "customer_orders" in corrected_sql
    for rollup in ("customer_cell", "order_day_total", "buyer_day"):
        assert (rollup in facts_sql) is unfiltered
        assert (rollup in corrected_sql) is unfiltered
    # the corrected reading takes the late contacts out; the facts alone have none
    assert "late AS" in corrected_sql and "late AS" not in facts_sql
    for table in ("customer_orders", "customer_cell", "order_day_total", "buyer_day"):
        assert table not in grouped_sql
    # Lia kept (not deleted), Mara and Carla's late order left out: Carla R 3, F 4 as before
    carla = every_scored_contact(apis["facts"], filters=NOV)["carla"]
    assert (carla["recencyDays"], carla["frequency"]) == (3, 4)
    assert apis["facts"].data(TABLE, {"f": NOV})["successMonitor"]["scoredContacts"] == 12


def test_sales_as_of_an_afternoon_leave_that_days_later_orders_out(db, make_org, make_api):
    """LAST_30_DAYS as of Nov 20 15:00: Oct 22 .. Nov 20 15:00. Orders in it: Ana Nov 20 12:00,
    Nov 10, Nov 5 (USD), Oct 25 (USD) = 4; Bruno Nov 20 12:00; Carla Nov 17, Oct 30; Dani Nov 15;
    Hugo Nov 10; Eva Nov 8; Fabio Nov 8; Nico Nov 3: 12 orders of 8 buyers. Bruno's 18:00, Ana's
    23:59 and the new buyer's 16:00 orders that day come after the end and count nowhere."""
    org_id, org_key = make_org()
    ingest_records(db, org_id, AS_OF_NOV_20 + SAME_DAY)
    sales = make_api(org_key).data(SALES, {"f": LAST_30_AFTERNOON})["successMonitor"]["sales"]
    assert (sales["periodStart"], sales["periodEnd"]) == ("2026-10-22", "2026-11-20")
    assert sales["frequency"]["value"] == 12.0
    # buyers: Ana 0, Bruno 0, Carla 3, Dani 5, Hugo 10, Eva 12, Fabio 12, Nico 17 (Nov 3)
    assert sales["buyers"]["value"] == 8
    assert sales["recency"]["value"] == pytest.approx((0 + 0 + 3 + 5 + 10 + 12 + 12 + 17) / 8)


def test_the_scoring_source_follows_what_lies_after_the_end(db, make_org, monkeypatch):
    import dataclasses

    from tablero.plugins.success_monitor import queries

    facts_id, _ = make_org()
    ingest_records(db, facts_id, AS_OF_NOV_20)
    f = _filters(facts_id, end_ts=_ts("2026-11-21T00:00:00-03:00"))
    src = db.read(lambda conn: queries.source(conn, f))
    assert src.facts and src.cells
    feira = db.read(lambda conn: queries.source(conn, dataclasses.replace(f, origin="feira")))
    assert feira.facts and not feira.cells
    earlier = _filters(facts_id, end_ts=_ts("2026-11-20T00:00:00-03:00"))
    # Ana and Bruno ordered on Nov 20, after that end: two late orders, corrected for ...
    monkeypatch.setattr(queries, "MAX_LATE_ROWS", 2)
    assert db.read(lambda conn: queries.source(conn, earlier)).facts
    late = db.read(lambda conn: sorted(conn.execute(
        select(queries.late_contacts(earlier).c.contact_id)).scalars()))
    ids = db.read(lambda conn: sorted(conn.execute(text(
        "SELECT id FROM contact WHERE organization_id = :org AND external_id IN ('ana', 'bruno')"
    ), {"org": facts_id}).scalars()))
    assert late == ids
    # ... unless there are more late rows than the limit: then every order is grouped
    monkeypatch.setattr(queries, "MAX_LATE_ROWS", 1)
    assert not db.read(lambda conn: queries.source(conn, earlier)).facts


class _statements:
    """Collect the SQL statements run on ``db`` inside a ``with`` block."""

    def __init__(self, db):
        self.engine, self.seen = db.engine, []

    def _collect(self, conn, cursor, statement, *args):
        self.seen.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._collect)
        return self.seen

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._collect)


def _ts(text: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(text).timestamp())


def _filters(org_id: int, end_ts: int):
    """ReportFilters of the organization whose current period is Nov 1 .. the day before
    ``end_ts``."""
    import datetime as dt

    from tablero import DateRange, PeriodPreset, ReportFilters
    from tablero.periods import Period

    tz = "America/Sao_Paulo"
    last = (dt.datetime.fromtimestamp(end_ts - 1, dt.UTC) - dt.timedelta(hours=3)).date()
    current = DateRange.of(dt.date(2026, 11, 1), last, tz)
    previous = DateRange.of(dt.date(2026, 10, 1), dt.date(2026, 10, 31), tz)
    period = Period(PeriodPreset.CUSTOM, current, previous, end_ts, last)
    return ReportFilters(organization_id=org_id, timezone=tz, period=period)
