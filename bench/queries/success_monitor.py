"""Success monitor operations for bench/run.py.

``page`` is what the frontend asks for on load: segments + categories + sales (target: p50 <=
200 ms on the medium set, <= 1 s on the large one). The others isolate the parts: the RFM
scoring behind the segment table, sales alone, a drill-down page (first and a later one cannot be
expressed without a cursor, so ``drill_down`` is the first page of the largest segments), and a
past period (scores as of an earlier end).
"""

from __future__ import annotations

SEGMENTS = """
    scoredContacts
    segments { key label category contacts share orders
               revenue { currency amount } averageTicket { currency amount } }
    categories { key label contacts share segments }"""

SALES = """
    sales {
      periodStart periodEnd previousStart previousEnd
      recency { value previousValue change changePercent }
      frequency { value previousValue change changePercent }
      buyers { value previousValue change changePercent }
      value { currency value previousValue change changePercent }
      revenue { currency value previousValue change changePercent }
    }"""

PAGE = f"""
query SuccessMonitorPage($filters: ReportFiltersInput) {{
  successMonitor(filters: $filters) {{
    periodStart periodEnd
    {SEGMENTS}
    {SALES}
  }}
}}
"""

SEGMENTS_ONLY = f"""
query SuccessMonitorSegments($filters: ReportFiltersInput) {{
  successMonitor(filters: $filters) {{ {SEGMENTS} }}
}}
"""

SALES_ONLY = f"""
query SuccessMonitorSales($filters: ReportFiltersInput) {{
  successMonitor(filters: $filters) {{ {SALES} }}
}}
"""

DRILL_DOWN = """
query SuccessMonitorDrillDown($filters: ReportFiltersInput, $segment: String!, $first: Int!) {
  successMonitor(filters: $filters) {
    contacts(segment: $segment, first: $first) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node {
        externalId name phone segment recencyDays frequency
        averageValue { currency amount } rScore fScore mScore lastOrderAt
      } }
    }
  }
}
"""


def _period(preset: str) -> dict:
    return {"filters": {"period": {"preset": preset}}}


CUSTOM_PAST = {
    "filters": {"period": {"preset": "CUSTOM", "start": "2026-06-01", "end": "2026-06-30"}}
}

QUERIES: dict[str, tuple[str, dict]] = {
    "page_30d": (PAGE, _period("LAST_30_DAYS")),
    # asOf after the data set's last order: the scoring reads the customer order facts
    "page_30d_end_of_data": (
        PAGE,
        {"filters": {**_period("LAST_30_DAYS")["filters"], "asOf": "2026-11-25T23:59:59-03:00"}},
    ),
    "page_90d": (PAGE, _period("LAST_90_DAYS")),
    "page_7d": (PAGE, _period("LAST_7_DAYS")),
    "page_june": (PAGE, CUSTOM_PAST),
    "segments_30d": (SEGMENTS_ONLY, _period("LAST_30_DAYS")),
    "sales_30d": (SALES_ONLY, _period("LAST_30_DAYS")),
    "sales_90d": (SALES_ONLY, _period("LAST_90_DAYS")),
    "drill_down_hibernating_100": (
        DRILL_DOWN,
        {**_period("LAST_30_DAYS"), "segment": "HIBERNATING", "first": 100},
    ),
    "drill_down_champions_500": (
        DRILL_DOWN,
        {**_period("LAST_30_DAYS"), "segment": "CHAMPIONS", "first": 500},
    ),
}
