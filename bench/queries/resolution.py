"""Resolution report operations for bench/run.py.

``panel_30d`` is the whole panel as the frontend loads it (closing-reasons table with totals and
medians, plus the reasons over time): target p50 <= 100 ms on the medium set, <= 500 ms on the
large one, on SQLite and PostgreSQL. ``panel_90d`` is the same over LAST_90_DAYS. The other
operations isolate the table (its medians are the heaviest part) and the series, and the
filtered variants (a group, an origin) that add a sub-select on the contacts.
"""

from __future__ import annotations

ROW = (
    "reason name kind closes archived category contacts conversations share "
    "medianTimeToCloseBusiness medianTimeToCloseCalendar"
)
TOTAL = "contacts conversations medianTimeToCloseBusiness medianTimeToCloseCalendar"
TABLE = f"reasons {{ rows {{ {ROW} }} total {{ {TOTAL} }} }}"
OVER_TIME = (
    "reasonsOverTime(granularity: $granularity) { granularity buckets "
    "reasons { reason name kind closes category series { values total } } "
    "closed { values total } }"
)


def _operation(selection: str) -> str:
    granularity = ", $granularity: Granularity! = DAY" if "$granularity" in selection else ""
    return (
        f"query Resolution($filters: ReportFiltersInput{granularity}) {{"
        f" resolution(filters: $filters) {{ periodStart periodEnd refreshedAt {selection} }} }}"
    )


PANEL = _operation(f"{TABLE} {OVER_TIME}")


def _period(preset: str, granularity: str | None = None, **more) -> dict:
    variables = {"filters": {"period": {"preset": preset}, **more}}
    return {**variables, "granularity": granularity} if granularity else variables


LAST_30 = _period("LAST_30_DAYS")
LAST_90 = _period("LAST_90_DAYS")

QUERIES: dict[str, tuple[str, dict]] = {
    "panel_30d": (PANEL, LAST_30),
    # asOf after the data set's last record: the last day comes from the rollups too (the case
    # of a dashboard as of now); "panel_30d" (15:00 UTC, with later closes) reads its tail
    "panel_30d_end_of_data": (PANEL, {"filters": {"period": {"preset": "LAST_30_DAYS"},
                                                   "asOf": "2026-11-25T23:59:59-03:00"}}),
    "panel_90d": (PANEL, LAST_90),
    "panel_90d_weekly": (PANEL, _period("LAST_90_DAYS", "WEEK")),
    "panel_6m_monthly": (PANEL, _period("LAST_6_MONTHS", "MONTH")),
    "table_30d": (_operation(TABLE), LAST_30),
    "over_time_30d": (_operation(OVER_TIME), LAST_30),
    "table_90d": (_operation(TABLE), LAST_90),
    "over_time_90d": (_operation(OVER_TIME), LAST_90),
    "panel_30d_group": (PANEL, _period("LAST_30_DAYS", group="vendas-sp")),
    "panel_30d_origin": (PANEL, _period("LAST_30_DAYS", origin="Facebook Ads")),
}
