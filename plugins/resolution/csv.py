"""CSV sections: ``/export/resolution/reasons.csv`` and ``/export/resolution/over-time.csv``.

Both call the same query functions as the GraphQL fields, with the same filters (query
parameters ``period, start, end, group, origin, channel, advisor, asOf``; over-time also takes
``granularity=DAY|WEEK|MONTH``), so a download always equals the figures on screen. Durations are
given in seconds and as ``HH:MM:SS``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sqlalchemy.engine import Connection
from tablero import (
    BadUserInput,
    CsvSection,
    Granularity,
    ReportFilters,
    format_duration,
)

from . import queries
from .schema import VIEW, plugin_rules


def reason_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list[object]]:
    table = queries.closing_reasons(conn, f, plugin_rules(registry))
    yield [
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
    for row in table.rows:
        business, calendar = row.median_time_to_close_business, row.median_time_to_close_calendar
        yield [
            row.reason,
            row.name,
            row.kind.value,
            row.closes,
            row.archived,
            row.category,
            row.contacts,
            row.conversations,
            row.share,
            business,
            format_duration(business),
            calendar,
            format_duration(calendar),
        ]
    total = table.total
    business, calendar = total.median_time_to_close_business, total.median_time_to_close_calendar
    yield [
        "total",
        "Total (closed conversations)",
        "TOTAL",
        True,
        False,
        None,
        total.contacts,
        total.conversations,
        1.0 if total.conversations else None,
        business,
        format_duration(business),
        calendar,
        format_duration(calendar),
    ]


def over_time_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list[object]]:
    raw = (params.get("granularity") or "DAY").upper()
    try:
        granularity = Granularity[raw]
    except KeyError:
        raise BadUserInput(
            f"granularity {raw!r} is not one of {', '.join(g.value for g in Granularity)}"
        ) from None
    over_time = queries.reasons_over_time(conn, f, plugin_rules(registry), granularity)
    yield ["bucket_start", "granularity", "reason", "name", "kind", "closes", "conversations"]
    for entry in over_time.reasons:
        for start, value in zip(entry.series.buckets, entry.series.values, strict=True):
            yield [
                start,
                granularity.value,
                entry.reason,
                entry.name,
                entry.kind.value,
                entry.closes,
                value,
            ]


SECTIONS = [
    CsvSection(
        plugin="resolution",
        name="reasons",
        capability=VIEW,
        rows=reason_rows,
        description="Closing reasons table (one row per reason, Assignments, then the totals).",
    ),
    CsvSection(
        plugin="resolution",
        name="over-time",
        capability=VIEW,
        rows=over_time_rows,
        description="Conversations closed per reason and bucket (granularity=DAY|WEEK|MONTH).",
    ),
]
