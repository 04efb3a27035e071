"""Contacts behaviour panel operations for bench/run.py.

``panel_30d`` is what the frontend asks for on load (issue target: p50 <= 150 ms on the medium
set, <= 750 ms on the large one, SQLite and PostgreSQL); ``panel_90d`` the same over LAST_90_DAYS.
The other operations isolate the heavy parts — the distinct-contact counts over campaign messages
(interactions, the two funnels), the six months of contacts over time, the geography of
interacting contacts — and the filtered variants (a channel, a group, the longest window).
"""

from __future__ import annotations

COMPARISON = "{ value previousValue change changePercent }"
SERIES = "{ buckets values total }"
LEVELS = "levels { key label contacts rateOfFirst rateOfPrevious }"
JOURNEY_ROW = "{ journey label reachedContacts commercialContacts conversionRate }"

PANEL = f"""
query ContactsBehaviour($filters: ReportFiltersInput, $days: Int! = 7) {{
  contactsBehaviour(filters: $filters) {{
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
    dailyVolume {{ sends {SERIES} commercial {SERIES} support {SERIES} }}
    attentionDistribution {{ total commercial support commercialShare supportShare }}
    commercialHeatmap {{ cells {{ weekday hour value }} total max }}
  }}
}}
"""


def _part(selection: str) -> str:
    days = ", $days: Int! = 7" if "$days" in selection else ""
    return (
        f"query Part($filters: ReportFiltersInput{days}) {{"
        f" contactsBehaviour(filters: $filters) {{ {selection} }} }}"
    )


def _period(preset: str, **more) -> dict:
    return {"filters": {"period": {"preset": preset}, **more}}


LAST_30 = _period("LAST_30_DAYS")
LAST_90 = _period("LAST_90_DAYS")

QUERIES: dict[str, tuple[str, dict]] = {
    "panel_30d": (PANEL, LAST_30),
    "panel_90d": (PANEL, LAST_90),
    # asOf after the data set's last record: asOf's day is read from the facts too
    "panel_30d_end_of_data": (PANEL, _period("LAST_30_DAYS", asOf="2026-11-25T23:59:59-03:00")),
    "panel_30d_whatsapp": (PANEL, _period("LAST_30_DAYS", channel="WHATSAPP")),
    "panel_30d_group": (PANEL, _period("LAST_30_DAYS", group="vendas-sp")),
    "panel_30d_window_90": (PANEL, {**LAST_30, "days": 90}),
    "interactions_30d": (
        _part(
            f"interactions {{ contactBase {COMPARISON} reachedContacts {COMPARISON} "
            f"commercialContacts {COMPARISON} supportContacts {COMPARISON} }}"
        ),
        LAST_30,
    ),
    "message_funnel_30d": (_part(f"messageFunnel(attributionDays: $days) {{ {LEVELS} }}"), LAST_30),
    "message_funnel_90d": (_part(f"messageFunnel(attributionDays: $days) {{ {LEVELS} }}"), LAST_90),
    "journey_funnel_30d": (
        _part(f"journeyFunnel(attributionDays: $days) {{ total {JOURNEY_ROW} }}"),
        LAST_30,
    ),
    "contacts_over_time": (
        _part("contactsOverTime { month interactedContacts newContacts contactBase }"),
        LAST_30,
    ),
    "geography_30d": (_part("geography { unknown total }"), LAST_30),
    "shared_activity_30d": (
        _part(
            f"dailyVolume {{ sends {SERIES} }} attentionDistribution {{ total }} "
            "commercialHeatmap { total max }"
        ),
        LAST_30,
    ),
}
