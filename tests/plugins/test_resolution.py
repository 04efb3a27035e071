"""Resolution panel (SPEC 6.5): closing reasons table, time to close, reasons over time, CSV.

One hand-built dataset, read once per database. The organization uses the default schedule:
Monday to Friday 09:00-18:00 in America/Sao_Paulo (UTC-3), Brazilian national holidays skipped.
November 2026: Mon 2 (All Souls' Day, a holiday), Fri 20 (Black Awareness Day, a holiday).

The period of most tests is 2026-11-01 .. 2026-11-25 (CUSTOM). Conversations, all closed in it
unless said otherwise ("biz" = business seconds, "cal" = calendar seconds to close):

| id     | contact | advisor | ends with                | started -> closed (local)           | biz    | cal    |
|--------|---------|---------|--------------------------|-------------------------------------|--------|--------|
| k-di   | c5      | carla   | datos-incorrectos        | Tue 11-03 10:00 -> 11:00            | 3600   | 3600   |
| k-er   | c6      | carla   | esperando-respuesta      | Tue 11-03 14:00 -> Wed 11-04 10:00  | 18000  | 72000  |
| k-in   | c7      | ana     | inactivo                 | Wed 10-28 10:00 -> Thu 11-05 10:00  | 162000 | 691200 |
| k-ni1  | c8      | bruno   | no-interesado            | Mon 11-09 09:00 -> 09:10            | 600    | 600    |
| k-ni2  | c8      | bruno   | no-interesado            | Mon 11-16 09:00 -> 09:20            | 1200   | 1200   |
| k-ss   | c9      | carla   | sin-stock                | Tue 11-17 10:00 -> 12:00            | 7200   | 7200   |
| k-v1   | c2      | ana     | venta (closed on holiday)| Thu 11-19 17:00 -> Fri 11-20 10:00  | 3600   | 61200  |
| k-v2   | c3      | bruno   | venta (open over weekend)| Fri 11-13 17:00 -> Mon 11-16 10:00  | 7200   | 234000 |
| k-t1   | c4      | ana     | transfer to bruno        | Tue 11-10 09:00 -> 11:00            | 7200   | 7200   |
| k-v3   | c4      | bruno   | venta (after the transfer)| Tue 11-10 11:00 -> 15:00           | 14400  | 14400  |
| k-v4   | c1      | ana     | venta                    | Wed 11-04 09:00 -> 09:30            | 1800   | 1800   |
| k-ga   | c10     | ana     | garantia (custom reason) | Wed 11-18 17:30 -> 23:30            | 1800   | 21600  |
| k-ev   | c11     | bruno   | esperando-visita (snooze)| Thu 11-19 10:00 -> 10:30            | 1800   | 1800   |
| k-nr   | c6      | carla   | closed without a reason  | Mon 11-23 09:00 -> 10:00            | -      | -      |
| k-open | c5      | carla   | still open               | Tue 11-24 10:00 -> (open)           | -      | -      |
| k-old  | c1      | ana     | venta, before the period | Tue 10-20 10:00 -> 11:00            | -      | -      |

k-in's business time: Wed 10-28 10-18 (8 h) + Thu 9 h + Fri 9 h + Mon 11-02 holiday (0) + Tue 9 h
+ Wed 9 h + Thu 11-05 09-10 (1 h) = 45 h = 162000 s. k-ga closes at 23:30 local = 02:30 UTC on
11-19: bucketed on the local day 11-18.

Contacts (entry group / current group, origin): c1 sales/sales facebook; c2 sales/support site
(entered sales, moved to support); c3 support facebook; c4 sales facebook; c5 support site;
c6 sales site; c7 support facebook; c8 sales facebook; c9 support site; c10 sales site;
c11 support facebook.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select
from tablero import (
    ClosingReasonRule,
    Conversation,
    closed_condition,
    hookimpl,
    organization_reasons,
)
from tablero.ingest import ingest_records
from tablero.plugin_manager import Registry, make_plugin_manager

NOV = {"preset": "CUSTOM", "start": "2026-11-01", "end": "2026-11-25"}
NOV_PARAMS = {"period": "CUSTOM", "start": "2026-11-01", "end": "2026-11-25"}

ROW_FIELDS = (
    "reason name kind closes archived category contacts conversations share "
    "medianTimeToCloseBusiness medianTimeToCloseCalendar"
)
TOTAL_FIELDS = "contacts conversations medianTimeToCloseBusiness medianTimeToCloseCalendar"

REPORT = f"""
query Resolution($filters: ReportFiltersInput, $granularity: Granularity! = DAY) {{
  resolution(filters: $filters) {{
    periodStart periodEnd
    reasons {{ rows {{ {ROW_FIELDS} }} total {{ {TOTAL_FIELDS} }} }}
    reasonsOverTime(granularity: $granularity) {{
      granularity buckets
      reasons {{ reason name kind closes category series {{ values total }} }}
      closed {{ values total }}
    }}
  }}
}}
"""

TABLE = f"""
query Table($filters: ReportFiltersInput) {{
  resolution(filters: $filters) {{
    reasons {{ rows {{ {ROW_FIELDS} }} total {{ {TOTAL_FIELDS} }} }}
  }}
}}
"""


# ---- the dataset ------------------------------------------------------------------------------


def _contact(id_, entry, origin, current=None):
    return {
        "type": "contact",
        "id": id_,
        "phone": "+5511987650000",
        "origin": origin,
        "entry_group": entry,
        "current_group": current or entry,
        "created_at": "2026-10-01T09:00:00-03:00",
    }


def _conversation(id_, contact, advisor, started, closed=None, reason=None, transferred_to=None):
    return {
        "type": "conversation",
        "id": id_,
        "contact": contact,
        "advisor": advisor,
        "kind": "COMMERCIAL",
        "channel": "WHATSAPP",
        "status": "CLOSED" if closed else "IN_PROGRESS",
        "started_at": started + ":00-03:00",
        "closed_at": closed + ":00-03:00" if closed else None,
        "closing_reason": reason,
        "transferred_to": transferred_to,
    }


def dataset_records() -> list[dict]:
    users = [
        {"type": "user", "id": name, "name": name.title(), "profile": "AGENT"}
        for name in ("ana", "bruno", "carla")
    ]
    groups = [
        {"type": "group", "id": "sales", "name": "Sales"},
        {"type": "group", "id": "support", "name": "Support"},
    ]
    reasons = [{"type": "closing_reason", "id": "garantia", "name": "Garantía"}]
    contacts = [
        _contact("c1", "sales", "facebook"),
        _contact("c2", "sales", "site", current="support"),
        _contact("c3", "support", "facebook"),
        _contact("c4", "sales", "facebook"),
        _contact("c5", "support", "site"),
        _contact("c6", "sales", "site"),
        _contact("c7", "support", "facebook"),
        _contact("c8", "sales", "facebook"),
        _contact("c9", "support", "site"),
        _contact("c10", "sales", "site"),
        _contact("c11", "support", "facebook"),
    ]
    c = _conversation
    conversations = [
        c("k-di", "c5", "carla", "2026-11-03T10:00", "2026-11-03T11:00", "datos-incorrectos"),
        c("k-er", "c6", "carla", "2026-11-03T14:00", "2026-11-04T10:00", "esperando-respuesta"),
        c("k-in", "c7", "ana", "2026-10-28T10:00", "2026-11-05T10:00", "inactivo"),
        c("k-ni1", "c8", "bruno", "2026-11-09T09:00", "2026-11-09T09:10", "no-interesado"),
        c("k-ni2", "c8", "bruno", "2026-11-16T09:00", "2026-11-16T09:20", "no-interesado"),
        c("k-ss", "c9", "carla", "2026-11-17T10:00", "2026-11-17T12:00", "sin-stock"),
        c("k-v1", "c2", "ana", "2026-11-19T17:00", "2026-11-20T10:00", "venta"),
        c("k-v2", "c3", "bruno", "2026-11-13T17:00", "2026-11-16T10:00", "venta"),
        c("k-t1", "c4", "ana", "2026-11-10T09:00", "2026-11-10T11:00", transferred_to="bruno"),
        c("k-v3", "c4", "bruno", "2026-11-10T11:00", "2026-11-10T15:00", "venta"),
        c("k-v4", "c1", "ana", "2026-11-04T09:00", "2026-11-04T09:30", "venta"),
        c("k-ga", "c10", "ana", "2026-11-18T17:30", "2026-11-18T23:30", "garantia"),
        c("k-ev", "c11", "bruno", "2026-11-19T10:00", "2026-11-19T10:30", "esperando-visita"),
        c("k-nr", "c6", "carla", "2026-11-23T09:00", "2026-11-23T10:00"),
        c("k-open", "c5", "carla", "2026-11-24T10:00"),
        c("k-old", "c1", "ana", "2026-10-20T10:00", "2026-10-20T11:00", "venta"),
    ]
    return users + groups + reasons + contacts + conversations


def other_org_records() -> list[dict]:
    """Another organization: the same people and a burst of sales that must never show up."""
    return [
        {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
        {"type": "user", "id": "beto", "name": "Beto", "profile": "AGENT"},
        {"type": "group", "id": "sales", "name": "Sales"},
        _contact("c1", "sales", "facebook"),
        *[
            _conversation(f"x{i}", "c1", "ana", "2026-11-04T09:00", "2026-11-04T12:00", "venta")
            for i in range(5)
        ],
        _conversation(
            "xt", "c1", "ana", "2026-11-05T09:00", "2026-11-05T10:00", transferred_to="beto"
        ),
    ]


_DATASETS: dict[str, dict] = {}


@pytest.fixture
def data(db, make_org, make_api):
    """The dataset above and the other organization, ingested once per database."""
    if db.url not in _DATASETS:
        org_id, key = make_org()
        other_id, other_key = make_org()
        ingest_records(db, org_id, dataset_records())
        ingest_records(db, other_id, other_org_records())
        _DATASETS[db.url] = {
            "org_id": org_id,
            "key": key,
            "other_id": other_id,
            "other_key": other_key,
            "api": make_api(key),
            "other_api": make_api(other_key),
        }
    return _DATASETS[db.url]


def table(api, filters=None, **kwargs) -> dict:
    body = api.data(TABLE, {"filters": filters or {"period": NOV}}, **kwargs)
    return body["resolution"]["reasons"]


def rows_by_reason(reasons: dict) -> dict[str, dict]:
    return {row["reason"]: row for row in reasons["rows"]}


def figures(reasons: dict) -> dict[str, tuple]:
    """reason -> (conversations, contacts, median business s, median calendar s)."""
    return {
        row["reason"]: (
            row["conversations"],
            row["contacts"],
            row["medianTimeToCloseBusiness"],
            row["medianTimeToCloseCalendar"],
        )
        for row in reasons["rows"]
    }


# ---- the closing reasons table ----------------------------------------------------------------


def test_each_reason_its_row_in_order(data):
    reasons = table(data["api"])
    assert [(r["reason"], r["kind"], r["closes"]) for r in reasons["rows"]] == [
        ("datos-incorrectos", "REASON", True),
        ("esperando-respuesta", "REASON", True),
        ("inactivo", "REASON", True),
        ("no-interesado", "REASON", True),
        ("sin-stock", "REASON", True),
        ("venta", "REASON", True),
        ("garantia", "REASON", True),  # the custom reason, after the defaults
        ("assignments", "ASSIGNMENTS", True),
        ("esperando-visita", "REASON", False),  # reasons that do not close come last
        ("esperando-recordatorio", "REASON", False),
    ]
    assert rows_by_reason(reasons)["garantia"]["name"] == "Garantía"
    assert rows_by_reason(reasons)["assignments"]["name"] == "Assignments"
    assert figures(reasons) == {
        "datos-incorrectos": (1, 1, 3600.0, 3600.0),
        "esperando-respuesta": (1, 1, 18000.0, 72000.0),
        "inactivo": (1, 1, 162000.0, 691200.0),  # started before the period, closed in it
        # c8 closed twice: 2 conversations, 1 contact; median of 600 and 1200 = 900
        "no-interesado": (2, 1, 900.0, 900.0),
        "sin-stock": (1, 1, 7200.0, 7200.0),
        # k-v1, k-v2, k-v3, k-v4 (k-old closed in October does not count)
        "venta": (4, 4, 5400.0, 37800.0),
        "garantia": (1, 1, 1800.0, 21600.0),
        "assignments": (1, 1, 7200.0, 7200.0),
        "esperando-visita": (1, 1, 1800.0, 1800.0),
        "esperando-recordatorio": (0, 0, None, None),  # zeros, not missing
    }


def test_medians_business_vs_calendar_over_holiday_and_weekend(data):
    venta = rows_by_reason(table(data["api"]))["venta"]
    # business: k-v4 1800 (30 min), k-v1 3600 (Thu 17-18; Fri 11-20 is a holiday), k-v2 7200
    # (Fri 17-18 + Mon 09-10, the weekend skipped), k-v3 14400 (4 h).
    # An even count: the median is the mean of the two middles, (3600 + 7200) / 2 = 5400.
    assert venta["medianTimeToCloseBusiness"] == 5400.0
    # calendar: 1800, 14400, 61200 (17 h), 234000 (65 h) -> (14400 + 61200) / 2 = 37800
    assert venta["medianTimeToCloseCalendar"] == 37800.0


def test_totals_and_shares_leave_out_reasons_that_do_not_close(data):
    reasons = table(data["api"])
    # closed: 1 + 1 + 1 + 2 + 1 + 4 + 1 (garantia) + 1 (assignment) = 12; k-ev (snooze) and k-nr
    # (no reason) are not closed
    assert reasons["total"] == {
        "conversations": 12,
        # c1..c10 (c4 twice: its transfer and its sale; c8 twice): 10 distinct contacts
        "contacts": 10,
        # business, sorted: 600 1200 1800 1800 3600 3600 | 7200 7200 7200 14400 18000 162000
        "medianTimeToCloseBusiness": 5400.0,  # (3600 + 7200) / 2
        # calendar, sorted: 600 1200 1800 3600 7200 7200 | 14400 21600 61200 72000 234000 691200
        "medianTimeToCloseCalendar": 10800.0,  # (7200 + 14400) / 2
    }
    rows = rows_by_reason(reasons)
    assert rows["venta"]["share"] == round(4 / 12, 6)
    assert rows["no-interesado"]["share"] == round(2 / 12, 6)
    assert rows["assignments"]["share"] == round(1 / 12, 6)
    assert rows["esperando-visita"]["share"] is None  # listed, but not part of the closed total
    assert rows["esperando-recordatorio"]["share"] is None
    closing = [r for r in reasons["rows"] if r["closes"]]
    assert sum(r["conversations"] for r in closing) == reasons["total"]["conversations"]
    assert sum(r["share"] for r in closing) == pytest.approx(1.0, abs=1e-5)  # rounded shares


def test_transfer_chain_counts_the_transfer_and_the_sale(data):
    # c4: ana -> (transfer) -> bruno, who closes with Venta
    as_ana = figures(table(data["api"], {"period": NOV, "advisor": "ana"}))
    as_bruno = figures(table(data["api"], {"period": NOV, "advisor": "bruno"}))
    # the transfer closes ana's conversation: an assignment of ana's (2 h, k-t1)
    assert as_ana["assignments"] == (1, 1, 7200.0, 7200.0)
    assert as_bruno["assignments"] == (0, 0, None, None)
    # bruno's new conversation counts under its own reason: venta = k-v2 and k-v3
    # business (7200 + 14400) / 2 = 10800; calendar (234000 + 14400) / 2 = 124200
    assert as_bruno["venta"] == (2, 2, 10800.0, 124200.0)
    # ana's sales: k-v4 1800/1800 and k-v1 3600/61200
    assert as_ana["venta"] == (2, 2, 2700.0, 31500.0)


def test_group_filter_is_the_group_the_contact_entered(data):
    sales = table(data["api"], {"period": NOV, "group": "sales"})
    # sales contacts: c1 c2 c4 c6 c8 c10 -> k-v4, k-v1 (c2 entered sales, is now in support),
    # k-t1, k-v3, k-er, k-ni1, k-ni2, k-ga = 8 closed
    assert sales["total"]["conversations"] == 8
    venta = figures(sales)["venta"]
    # an odd count, the middle one: business k-v4 1800, k-v1 3600, k-v3 14400 -> 3600;
    # calendar k-v4 1800, k-v3 14400, k-v1 61200 -> 14400
    assert venta == (3, 3, 3600.0, 14400.0)
    support = table(data["api"], {"period": NOV, "group": "support"})
    # c3 c5 c7 c9 c11 -> k-v2, k-di, k-in, k-ss = 4 closed (k-ev does not close)
    assert support["total"]["conversations"] == 4
    assert figures(support)["venta"] == (1, 1, 7200.0, 234000.0)
    assert figures(support)["esperando-visita"] == (1, 1, 1800.0, 1800.0)


def test_origin_filter(data):
    facebook = table(data["api"], {"period": NOV, "origin": "facebook"})
    # c1 c3 c4 c7 c8 c11 -> k-v4, k-v2, k-t1, k-v3, k-in, k-ni1, k-ni2 = 7 closed
    assert facebook["total"]["conversations"] == 7
    assert figures(facebook)["venta"][0:2] == (3, 3)
    assert figures(facebook)["datos-incorrectos"] == (0, 0, None, None)
    site = table(data["api"], {"period": NOV, "origin": "site"})
    assert site["total"]["conversations"] == 12 - 7


def test_advisor_filter(data):
    carla = table(data["api"], {"period": NOV, "advisor": "carla"})
    # k-di, k-er, k-ss (k-nr has no reason, k-open is open)
    assert carla["total"]["conversations"] == 3
    assert carla["total"]["contacts"] == 3
    assert figures(carla)["venta"] == (0, 0, None, None)


def test_agent_sees_only_their_own_conversations(data):
    api = data["api"]
    mine = table(api, {"period": NOV}, profile="AGENT", user="ana")
    assert mine == table(api, {"period": NOV, "advisor": "ana"})
    # ana: k-in, k-v1, k-v4, k-ga, k-t1
    assert mine["total"]["conversations"] == 5
    assert figures(mine)["assignments"] == (1, 1, 7200.0, 7200.0)
    # asking for another advisor is refused, not answered with someone else's figures
    codes = api.error_codes(
        TABLE, {"filters": {"period": NOV, "advisor": "bruno"}}, profile="AGENT", user="ana"
    )
    assert codes == ["FORBIDDEN"]
    # an AGENT token whose user the organization does not know sees nothing
    nobody = table(api, {"period": NOV}, profile="AGENT", user="ghost")
    assert nobody["total"]["conversations"] == 0


def test_every_profile_may_view_only_admin_manages_reasons(data):
    api = data["api"]
    for profile in ("ADMIN", "OPERATOR", "VIEWER"):
        assert table(api, profile=profile)["total"]["conversations"] == 12
    mutation = 'mutation { createClosingReason(name: "Nunca") { reason } }'
    for profile in ("OPERATOR", "VIEWER", "AGENT"):
        assert api.error_codes(mutation, profile=profile) == ["FORBIDDEN"]
    response = api.request("POST", "/graphql", json={"query": TABLE})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_another_organizations_conversations_never_count(data):
    mine = table(data["api"])
    assert figures(mine)["venta"][0] == 4  # not 4 + 5
    assert figures(mine)["assignments"][0] == 1  # not 1 + 1
    theirs = table(data["other_api"])
    assert figures(theirs)["venta"] == (5, 1, 10800.0, 10800.0)
    assert figures(theirs)["assignments"] == (1, 1, 3600.0, 3600.0)
    assert "garantia" not in rows_by_reason(theirs)  # our custom reason is ours alone
    assert theirs["total"]["conversations"] == 6


def test_period_without_data_gives_zeros_and_nulls(data):
    june = {"period": {"preset": "CUSTOM", "start": "2026-06-01", "end": "2026-06-30"}}
    body = data["api"].data(REPORT, {"filters": june, "granularity": "WEEK"})["resolution"]
    reasons = body["reasons"]
    assert len(reasons["rows"]) == 10
    for row in reasons["rows"]:
        assert (row["contacts"], row["conversations"], row["share"]) == (0, 0, None)
        assert row["medianTimeToCloseBusiness"] is None
        assert row["medianTimeToCloseCalendar"] is None
    assert reasons["total"] == {
        "contacts": 0,
        "conversations": 0,
        "medianTimeToCloseBusiness": None,
        "medianTimeToCloseCalendar": None,
    }
    over_time = body["reasonsOverTime"]
    # June 2026 starts on a Monday: weeks of 1, 8, 15, 22 and 29 June
    assert len(over_time["buckets"]) == 5
    assert over_time["closed"] == {"values": [0] * 5, "total": 0}
    assert all(s["series"]["values"] == [0] * 5 for s in over_time["reasons"])


def test_default_period_is_the_last_30_days(data):
    body = data["api"].data("{ resolution { periodStart periodEnd } }")
    # now is 2026-11-25 12:00 in Sao Paulo
    assert body["resolution"] == {"periodStart": "2026-10-27", "periodEnd": "2026-11-25"}


def test_as_of_rebuilds_the_table_as_it_was(data):
    # at 2026-11-18 12:00 neither k-ga (closed that night), k-v1 (11-20) nor k-ev had closed
    then = table(data["api"], {"period": NOV, "asOf": "2026-11-18T12:00:00-03:00"})
    assert then["total"]["conversations"] == 12 - 2
    assert figures(then)["venta"][0] == 3
    assert figures(then)["garantia"] == (0, 0, None, None)


def test_catalog_lists_the_organizations_reasons(data):
    catalog = data["api"].data("{ closingReasons { reason name closes category } }")
    assert [r["reason"] for r in catalog["closingReasons"]] == [
        "datos-incorrectos", "esperando-respuesta", "inactivo", "no-interesado", "sin-stock",
        "venta", "esperando-visita", "esperando-recordatorio", "garantia",
    ]  # fmt: skip
    assert catalog["closingReasons"][6] == {
        "reason": "esperando-visita", "name": "Esperando visita", "closes": False,
        "category": None,
    }  # fmt: skip
    # every profile that may see the report sees the same list (it holds no figures)
    as_agent = data["api"].data(
        "{ closingReasons { reason name closes category } }", profile="AGENT", user="ana"
    )
    assert as_agent == catalog


# ---- over time -------------------------------------------------------------------------------


def over_time(api, granularity, filters=None, **kwargs) -> dict:
    body = api.data(
        REPORT, {"filters": filters or {"period": NOV}, "granularity": granularity}, **kwargs
    )
    return body["resolution"]


def test_reasons_over_time_by_week(data):
    report = over_time(data["api"], "WEEK")
    series = report["reasonsOverTime"]
    # weeks start on Monday: 10-26 (holds 11-01), 11-02, 11-09, 11-16, 11-23
    assert series["buckets"] == [
        "2026-10-26",
        "2026-11-02",
        "2026-11-09",
        "2026-11-16",
        "2026-11-23",
    ]
    by_reason = {s["reason"]: s["series"]["values"] for s in series["reasons"]}
    assert by_reason["venta"] == [0, 1, 1, 2, 0]  # 11-04 | 11-10 | 11-16, 11-20
    assert by_reason["assignments"] == [0, 0, 1, 0, 0]  # 11-10
    assert by_reason["esperando-visita"] == [0, 0, 0, 1, 0]
    assert by_reason["esperando-recordatorio"] == [0, 0, 0, 0, 0]
    # closed: wk 11-02 di er in v4 | wk 11-09 ni1 t1 v3 | wk 11-16 ni2 ss v2 v1 ga
    assert series["closed"] == {"values": [0, 4, 3, 5, 0], "total": 12}
    # the same rows as the table, and each series adds up to the table's figure
    rows = report["reasons"]["rows"]
    assert [s["reason"] for s in series["reasons"]] == [r["reason"] for r in rows]
    for entry, row in zip(series["reasons"], rows, strict=True):
        assert entry["series"]["total"] == row["conversations"]
    assert series["closed"]["total"] == report["reasons"]["total"]["conversations"]


def test_reasons_over_time_by_day_in_local_time(data):
    series = over_time(data["api"], "DAY")["reasonsOverTime"]
    assert len(series["buckets"]) == 25
    values = {s["reason"]: s["series"]["values"] for s in series["reasons"]}
    venta = [0] * 25
    for day in (4, 10, 16, 20):
        venta[day - 1] = 1
    assert values["venta"] == venta
    # k-ga closed at 23:30 local on 11-18 (02:30 UTC on 11-19): bucket of 11-18
    garantia = [0] * 25
    garantia[17] = 1
    assert values["garantia"] == garantia


def test_reasons_over_time_by_month(data):
    report = over_time(
        data["api"],
        "MONTH",
        {"period": {"preset": "CUSTOM", "start": "2026-10-01", "end": "2026-11-25"}},
    )
    series = report["reasonsOverTime"]
    assert series["buckets"] == ["2026-10-01", "2026-11-01"]
    values = {s["reason"]: s["series"]["values"] for s in series["reasons"]}
    assert values["venta"] == [1, 4]  # k-old closed on 10-20
    assert series["closed"]["values"] == [1, 12]


def test_agent_over_time_is_scoped(data):
    series = over_time(data["api"], "WEEK", profile="AGENT", user="bruno")["reasonsOverTime"]
    # bruno: k-ni1 (11-09), k-v3 (11-10), k-ni2 + k-v2 (11-16); k-ev does not close
    assert series["closed"]["values"] == [0, 0, 2, 2, 0]


# ---- CSV -------------------------------------------------------------------------------------


def _seconds(value):
    return "" if value is None else repr(value)


def test_reasons_csv_equals_graphql(data):
    api = data["api"]
    status, rows = api.csv("/export/resolution/reasons.csv", **NOV_PARAMS)
    assert status == 200
    header, *body = rows
    assert header == [
        "reason",
        "name",
        "kind",
        "closes",
        "archived",
        "category",
        "contacts",
        "conversations",
        "share",
        "median_time_to_close_business_s",
        "median_time_to_close_business",
        "median_time_to_close_calendar_s",
        "median_time_to_close_calendar",
    ]
    reasons = table(api)
    expected = [
        [
            r["reason"],
            r["name"],
            r["kind"],
            str(r["closes"]).lower(),
            str(r["archived"]).lower(),
            r["category"] or "",
            str(r["contacts"]),
            str(r["conversations"]),
            "" if r["share"] is None else repr(r["share"]),
            _seconds(r["medianTimeToCloseBusiness"]),
            _hms(r["medianTimeToCloseBusiness"]),
            _seconds(r["medianTimeToCloseCalendar"]),
            _hms(r["medianTimeToCloseCalendar"]),
        ]
        for r in reasons["rows"]
    ]
    assert body[:-1] == expected
    total = reasons["total"]
    assert body[-1] == [
        "total",
        "Total (closed conversations)",
        "TOTAL",
        "true",
        "false",
        "",
        "10",
        "12",
        "1.0",
        "5400.0",
        "01:30:00",
        "10800.0",
        "03:00:00",
    ]
    assert body[-1][6:8] == [str(total["contacts"]), str(total["conversations"])]
    venta = next(row for row in body if row[0] == "venta")
    # 5400 s = 1 h 30 min; 37800 s = 10 h 30 min
    assert venta[9:] == ["5400.0", "01:30:00", "37800.0", "10:30:00"]


def _hms(value):
    if value is None:
        return ""
    total = round(value)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def test_over_time_csv_equals_graphql(data):
    api = data["api"]
    status, rows = api.csv("/export/resolution/over-time.csv", granularity="WEEK", **NOV_PARAMS)
    assert status == 200
    header, *body = rows
    assert header == [
        "bucket_start",
        "granularity",
        "reason",
        "name",
        "kind",
        "closes",
        "conversations",
    ]
    series = over_time(api, "WEEK")["reasonsOverTime"]
    expected = [
        [bucket, "WEEK", s["reason"], s["name"], s["kind"], str(s["closes"]).lower(), str(v)]
        for s in series["reasons"]
        for bucket, v in zip(series["buckets"], s["series"]["values"], strict=True)
    ]
    assert body == expected
    assert ["2026-11-16", "WEEK", "venta", "Venta", "REASON", "true", "2"] in body


def test_csv_filters_scope_and_errors(data):
    api = data["api"]
    # the same filters as GraphQL: group
    status, rows = api.csv("/export/resolution/reasons.csv", group="sales", **NOV_PARAMS)
    assert rows[-1][7] == "8"
    # an AGENT's CSV is their own conversations only
    status, rows = api.csv(
        "/export/resolution/reasons.csv", profile="AGENT", user="ana", **NOV_PARAMS
    )
    assert status == 200 and rows[-1][7] == "5"
    status, body = api.csv("/export/resolution/over-time.csv", granularity="HOUR", **NOV_PARAMS)
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "granularity" in body["errors"][0]["message"]
    # an empty period: zeros and empty cells, not an error
    status, rows = api.csv(
        "/export/resolution/reasons.csv", period="CUSTOM", start="2026-06-01", end="2026-06-30"
    )
    assert status == 200
    assert rows[-1][6:] == ["0", "0", "", "", "", "", ""]


# ---- pluggable closing-reason rules ----------------------------------------------------------


class ReasonRulesPlugin:
    """A third-party plugin: "Esperando visita" counts as closing; sales are "won"."""

    @staticmethod
    @hookimpl
    def tablero_closing_reason_rules():
        return [
            ClosingReasonRule("esperando-visita", closes=True, category="visit"),
            ClosingReasonRule("venta", category="won"),
            ClosingReasonRule("no-interesado", category="lost"),
            ClosingReasonRule("sin-stock", category="lost"),
        ]


def _local_ts(text: str) -> int:
    return int(datetime.fromisoformat(text + ":00-03:00").timestamp())


def closed_by_core_function(db, org_id, rules) -> int:
    """What the conversations panel counts as closed: the core's closed_condition."""

    def count(conn):
        reasons = organization_reasons(conn, org_id, rules)
        c = Conversation.__table__.c
        return conn.execute(
            select(func.count()).where(
                c.organization_id == org_id,
                c.closed_at >= _local_ts("2026-11-01T00:00"),
                c.closed_at < _local_ts("2026-11-26T00:00"),
                closed_condition(Conversation, reasons),
            )
        ).scalar()

    return db.read(count)


def test_a_plugin_rule_changes_what_closes_and_adds_categories(data, db, make_api):
    registry = Registry.collect(make_plugin_manager(plugins=[ReasonRulesPlugin]))
    rules = [rule for _, rule in registry.closing_reason_rules]
    api = make_api(data["key"], registry=registry)
    reasons = table(api)
    rows = rows_by_reason(reasons)
    assert rows["esperando-visita"]["closes"] is True
    assert rows["esperando-visita"]["category"] == "visit"
    assert rows["venta"]["category"] == "won"
    assert rows["no-interesado"]["category"] == rows["sin-stock"]["category"] == "lost"
    assert rows["inactivo"]["category"] is None
    # k-ev now closes: 12 + 1 closed, and it moves up among the closing rows; its contact
    # c11 joins the 10 contacts with a closed conversation (the rule differs from the stored
    # flags, so this total is counted from the conversations, not the close facts)
    assert reasons["total"]["conversations"] == 13
    assert reasons["total"]["contacts"] == 11
    assert table(data["api"])["total"]["contacts"] == 10
    assert rows["esperando-visita"]["share"] == round(1 / 13, 6)
    order = [r["reason"] for r in reasons["rows"]]
    assert order.index("esperando-visita") < order.index("assignments")
    # the conversations panel counts closed conversations with the same core function and rules
    assert closed_by_core_function(db, data["org_id"], rules) == 13
    assert (
        closed_by_core_function(db, data["org_id"], [])
        == table(data["api"])["total"]["conversations"]
        == 12
    )
    # the catalog shows the rules too
    catalog = api.data("{ closingReasons { reason closes category } }")["closingReasons"]
    assert {"reason": "venta", "closes": True, "category": "won"} in catalog
    # the CSV reads the same registry: the rule applies there too
    status, rows = api.csv("/export/resolution/reasons.csv", **NOV_PARAMS)
    assert status == 200
    header, *body = rows
    csv_rows = {row[0]: dict(zip(header, row)) for row in body}
    assert csv_rows["esperando-visita"]["closes"] == "true"
    assert csv_rows["esperando-visita"]["category"] == "visit"
    assert csv_rows["esperando-visita"]["share"] == repr(round(1 / 13, 6))


# ---- the close facts and the conversations agree ---------------------------------------------

AS_OF_CASES = {
    "november": {"period": NOV},
    "november_weekly": {"period": NOV},
    # 12:00 on Nov 10: k-t1 (closed 11:00) is in the day's part before asOf, k-v3 (15:00) not
    "last_30_as_of_nov_10_noon": {
        "period": {"preset": "LAST_30_DAYS"}, "asOf": "2026-11-10T12:00:00-03:00"
    },
    # 10:15 on Nov 19: k-ga (Nov 18, 23:30) counts on Nov 18; k-ev (10:30) not yet
    "last_7_as_of_nov_19": {
        "period": {"preset": "LAST_7_DAYS"}, "asOf": "2026-11-19T10:15:00-03:00"
    },
    "today_as_of_nov_16": {"period": {"preset": "TODAY"}, "asOf": "2026-11-16T09:15:00-03:00"},
    "nothing_closed": {"period": {"preset": "CUSTOM", "start": "2026-09-01", "end": "2026-09-30"}},
}


@pytest.mark.parametrize("case", sorted(AS_OF_CASES))
def test_the_close_facts_and_the_conversations_give_the_same_panel(data, db, case, monkeypatch):
    """Read once from the close facts (reason_close_day / reason_close_bucket, and close_fact
    for the part of asOf's day before it) and once from the conversations: the same panel."""
    from sqlalchemy import event
    from tablero.plugins.resolution import queries

    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    variables = {
        "filters": AS_OF_CASES[case],
        "granularity": "WEEK" if case.endswith("weekly") else "DAY",
    }
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        from_facts = data["api"].data(REPORT, variables)
        facts_statements, statements[:] = list(statements), []
        monkeypatch.setattr(queries, "READ_FACTS", False)
        from_conversations = data["api"].data(REPORT, variables)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert from_facts == from_conversations
    assert any("reason_close_bucket" in s for s in facts_statements)
    assert not any("reason_close" in s or "close_fact" in s for s in statements)
    if case == "last_30_as_of_nov_10_noon":
        rows = rows_by_reason(from_facts["resolution"]["reasons"])
        # Oct 12 .. Nov 10 noon: k-old (Oct 20, 1 h) and k-v4 (Nov 4, 30 min), both c1's
        venta = rows["venta"]
        assert (venta["conversations"], venta["contacts"]) == (2, 1)
        assert venta["medianTimeToCloseBusiness"] == (3600 + 1800) / 2
        assert rows["assignments"]["conversations"] == 1  # k-t1, closed at 11:00


# ---- managing closing reasons ----------------------------------------------------------------

CREATE = """
mutation($name: String!, $externalId: String, $closes: Boolean! = true) {
  createClosingReason(name: $name, externalId: $externalId, closes: $closes) {
    reason name closes archived category
  }
}
"""
RENAME = """
mutation($reason: String!, $name: String!) {
  renameClosingReason(reason: $reason, name: $name) { reason name }
}
"""
ARCHIVE = """
mutation($reason: String!, $archived: Boolean! = true) {
  archiveClosingReason(reason: $reason, archived: $archived) { reason archived }
}
"""
CATALOG = "query($all: Boolean!) { closingReasons(includeArchived: $all) { reason name } }"


def errors(api, query, variables):
    body = api.graphql(query, variables)
    return [(e["extensions"]["code"], e["message"]) for e in body.get("errors") or []]


def test_create_rename_archive_a_closing_reason(make_org, make_api, db):
    _, key = make_org()
    api = make_api(key)
    created = api.data(CREATE, {"name": "Retorno agendado", "closes": False})
    assert created["createClosingReason"] == {
        "reason": "retorno-agendado",  # the slug of the name
        "name": "Retorno agendado",
        "closes": False,
        "archived": False,
        "category": None,
    }
    given = api.data(CREATE, {"name": "Garantía extendida", "externalId": "warranty"})
    assert given["createClosingReason"]["reason"] == "warranty"
    slugged = api.data(CREATE, {"name": "Pós-venda: ação"})["createClosingReason"]
    assert slugged["reason"] == "pos-venda-acao"

    # a new reason is in the table (zeros), not-closing ones after Assignments
    order = [r["reason"] for r in table(api)["rows"]]
    assert order[-4:] == [
        "assignments",
        "esperando-visita",
        "esperando-recordatorio",
        "retorno-agendado",
    ]
    assert order[6:8] == ["warranty", "pos-venda-acao"]

    renamed = api.data(RENAME, {"reason": "warranty", "name": "Garantia 2 anos"})
    assert renamed["renameClosingReason"] == {"reason": "warranty", "name": "Garantia 2 anos"}

    archived = api.data(ARCHIVE, {"reason": "warranty"})
    assert archived["archiveClosingReason"] == {"reason": "warranty", "archived": True}
    active = [r["reason"] for r in api.data(CATALOG, {"all": False})["closingReasons"]]
    everything = [r["reason"] for r in api.data(CATALOG, {"all": True})["closingReasons"]]
    assert "warranty" not in active and "warranty" in everything
    # archived without conversations in the period: gone from the table
    assert "warranty" not in rows_by_reason(table(api))
    api.data(ARCHIVE, {"reason": "warranty", "archived": False})
    assert "warranty" in rows_by_reason(table(api))


def test_reason_names_are_unique_per_organization(make_org, make_api):
    _, key = make_org()
    _, other_key = make_org()
    api = make_api(key)
    assert errors(api, CREATE, {"name": "venta "}) == [
        (
            "BAD_USER_INPUT",
            (
                'the name "venta" clashes with closing reason "Venta" (id "venta"); '
                "names are unique per organization"
            ),
        )
    ]
    assert errors(api, CREATE, {"name": "Sin Stock"})[0][0] == "BAD_USER_INPUT"
    assert errors(api, CREATE, {"name": "Assignments"})[0][0] == "BAD_USER_INPUT"
    assert errors(api, CREATE, {"name": "   "})[0][0] == "BAD_USER_INPUT"
    assert errors(api, CREATE, {"name": "Vendido", "externalId": "venta"}) == [
        (
            "BAD_USER_INPUT",
            'the id "venta" is already used by closing reason "Venta"; pass another externalId',
        )
    ]
    assert errors(api, RENAME, {"reason": "inactivo", "name": "No Interesado"})[0] == (
        "BAD_USER_INPUT",
        (
            'the name "No Interesado" clashes with closing reason "No interesado" '
            '(id "no-interesado"); names are unique per organization'
        ),
    )
    assert errors(api, RENAME, {"reason": "nope", "name": "Nuevo"}) == [
        ("NOT_FOUND", 'closing reason "nope" does not exist in this organization')
    ]
    assert errors(api, ARCHIVE, {"reason": "nope"})[0][0] == "NOT_FOUND"
    # renaming a reason to its own name (another case) is fine
    assert api.data(RENAME, {"reason": "venta", "name": "VENTA"})["renameClosingReason"] == {
        "reason": "venta",
        "name": "VENTA",
    }
    # a name is unique per organization, not across organizations
    mine = api.data(CREATE, {"name": "Recompra"})["createClosingReason"]
    theirs = make_api(other_key).data(CREATE, {"name": "Recompra"})["createClosingReason"]
    assert mine["reason"] == theirs["reason"] == "recompra"
    other_catalog = make_api(other_key).data(CATALOG, {"all": True})["closingReasons"]
    assert {"reason": "venta", "name": "Venta"} in other_catalog  # our rename is ours alone


def test_an_archived_reason_keeps_its_history(db, make_org, make_api):
    org_id, key = make_org()
    ingest_records(
        db,
        org_id,
        [
            {"type": "user", "id": "ana", "name": "Ana", "profile": "AGENT"},
            {"type": "closing_reason", "id": "promo", "name": "Promoção"},
            _contact("c1", None, "site"),
            _conversation("k1", "c1", "ana", "2026-11-04T09:00", "2026-11-04T10:00", "promo"),
        ],
    )
    api = make_api(key)
    api.data(ARCHIVE, {"reason": "promo"})
    # November used it: the row stays (archived), so the totals still add up
    promo = rows_by_reason(table(api))["promo"]
    assert (promo["archived"], promo["conversations"], promo["share"]) == (True, 1, 1.0)
    assert table(api)["total"]["conversations"] == 1
    # October did not: the archived reason is gone from the table
    october = {"period": {"preset": "CUSTOM", "start": "2026-10-01", "end": "2026-10-31"}}
    assert "promo" not in rows_by_reason(table(api, october))


def test_a_new_organization_gets_the_plugins_contributed_reasons(db):
    from uuid import uuid4

    from tablero.orgs import create_organization

    rules = [
        ClosingReasonRule("visita-tecnica", name="Visita técnica", closes=False),
        ClosingReasonRule("venta", category="won"),  # a rule without a name contributes nothing
    ]
    key = f"org-{uuid4().hex[:10]}"
    org_id = db.write(lambda conn: create_organization(conn, key, key, rules=rules))
    reasons = {r.external_id: r for r in db.read(lambda conn: organization_reasons(conn, org_id))}
    assert len(reasons) == 9  # the eight defaults and the contributed one
    assert reasons["visita-tecnica"].name == "Visita técnica"
    assert reasons["visita-tecnica"].closes is False
