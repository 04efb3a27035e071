"""New contacts and conversations report operations for bench/run.py.

``report_30d`` is what the frontend asks for on load (target: p50 <= 100 ms on the medium set,
<= 500 ms on the large one, SQLite and PostgreSQL); ``report_90d`` the same over LAST_90_DAYS.
The other operations isolate the heaviest parts (medians over two periods, the distinct
interaction triples, the origins cohort) and the filtered variants (a channel, a group, an
advisor — the same SQL as an AGENT's own scope).
"""

from __future__ import annotations

COMPARISON = "{ value previousValue change changePercent }"
SERIES = "{ buckets values total }"

REPORT = f"""
query ConversationsReport($filters: ReportFiltersInput, $granularity: Granularity! = DAY) {{
  conversationsReport(filters: $filters) {{
    period {{ start end previousStart previousEnd timezone }}
    firstResponseTime {{
      business {COMPARISON} calendar {COMPARISON} answeredContacts unansweredContacts
    }}
    responseTime {{ business {COMPARISON} calendar {COMPARISON} answers }}
    interactions(granularity: $granularity) {SERIES}
    newContacts(granularity: $granularity) {SERIES}
    newConversations(granularity: $granularity) {SERIES}
    closedConversations(granularity: $granularity) {SERIES}
    origins {{ origin newContacts engaged closed }}
    busiestHours {{ cells {{ weekday hour value }} total max }}
    refreshedAt
  }}
}}
"""


def _part(selection: str) -> str:
    return (
        "query Part($filters: ReportFiltersInput) {"
        f" conversationsReport(filters: $filters) {{ {selection} }} }}"
    )


def _period(preset: str, **more) -> dict:
    return {"filters": {"period": {"preset": preset}, **more}}


LAST_30 = _period("LAST_30_DAYS")
LAST_90 = _period("LAST_90_DAYS")

QUERIES: dict[str, tuple[str, dict]] = {
    "report_30d": (REPORT, LAST_30),
    "report_90d": (REPORT, LAST_90),
    "report_90d_weekly": (REPORT, {**LAST_90, "granularity": "WEEK"}),
    "report_30d_whatsapp": (REPORT, _period("LAST_30_DAYS", channel="WHATSAPP")),
    "report_30d_group": (REPORT, _period("LAST_30_DAYS", group="vendas-sp")),
    # the advisor filter is the same SQL as an AGENT's own scope
    "report_30d_advisor": (REPORT, _period("LAST_30_DAYS", advisor="agent-01")),
    "first_response_90d": (
        _part(
            f"firstResponseTime {{ business {COMPARISON} calendar {COMPARISON} "
            "answeredContacts unansweredContacts }"
        ),
        LAST_90,
    ),
    "response_time_90d": (
        _part(f"responseTime {{ business {COMPARISON} calendar {COMPARISON} answers }}"),
        LAST_90,
    ),
    "interactions_90d": (_part(f"interactions {SERIES}"), LAST_90),
    "origins_90d": (_part("origins { origin newContacts engaged closed }"), LAST_90),
    "busiest_hours_90d": (_part("busiestHours { total max }"), LAST_90),
}
