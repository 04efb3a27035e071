"""CSV sections of the report, built from the same query functions as the GraphQL fields, so a
download always equals the figures on screen.

* ``summary.csv``: ``figure,value,previous_value,change,change_percent`` — the headline
  figures (medians in seconds, counts); previous values only where the report compares.
* ``series.csv``: ``series,bucket,value`` — each series as rows (bucket = first local day of the
  bucket); ``?granularity=DAY|WEEK|MONTH`` (default DAY).
* ``origins.csv``: ``origin,new_contacts,engaged,closed`` — the origins table, in its order.
* ``heatmap.csv``: ``weekday,hour,conversations`` — all 168 cells of the busiest hours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tablero import (
    BadUserInput,
    ClosingReasonRule,
    Comparison,
    CsvSection,
    Granularity,
    ReportFilters,
)

from . import queries
from .report import VIEW

PLUGIN = "conversations"


def _rules(registry) -> list[ClosingReasonRule]:
    """The plugins' closing-reason rules, as the GraphQL fields read them."""
    return [rule for _, rule in registry.closing_reason_rules]


def granularity_param(params: Mapping[str, str]) -> Granularity:
    raw = (params.get("granularity") or "DAY").upper()
    try:
        return Granularity[raw]
    except KeyError:
        raise BadUserInput(
            f"granularity={params.get('granularity')!r} is not valid; use DAY, WEEK or MONTH"
        ) from None


def _comparison_row(figure: str, comparison: Comparison) -> list[object]:
    return [
        figure,
        comparison.value,
        comparison.previous_value,
        comparison.change,
        comparison.change_percent,
    ]


def summary_rows(
    conn, filters: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list]:
    rules = _rules(registry)
    first = queries.first_response_time(conn, filters)
    response = queries.response_time(conn, filters)
    yield ["figure", "value", "previous_value", "change", "change_percent"]
    yield _comparison_row("first_response_business_s", first.business)
    yield _comparison_row("first_response_calendar_s", first.calendar)
    yield ["answered_contacts", first.answered_contacts, None, None, None]
    yield ["unanswered_contacts", first.unanswered_contacts, None, None, None]
    yield _comparison_row("response_business_s", response.business)
    yield _comparison_row("response_calendar_s", response.calendar)
    yield ["answers", response.answers, None, None, None]
    yield ["interactions", queries.interactions(conn, filters).total, None, None, None]
    yield ["new_contacts", queries.new_contacts(conn, filters).total, None, None, None]
    yield ["new_conversations", queries.new_conversations(conn, filters).total, None, None, None]
    closed = queries.closed_conversations(conn, filters, rules).total
    yield ["closed_conversations", closed, None, None, None]


def series_rows(
    conn, filters: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list]:
    granularity = granularity_param(params)
    rules = _rules(registry)
    yield ["series", "bucket", "value"]
    for name, series in (
        ("interactions", queries.interactions(conn, filters, granularity)),
        ("new_contacts", queries.new_contacts(conn, filters, granularity)),
        ("new_conversations", queries.new_conversations(conn, filters, granularity)),
        ("closed_conversations", queries.closed_conversations(conn, filters, rules, granularity)),
    ):
        for bucket, value in zip(series.buckets, series.values, strict=True):
            yield [name, bucket, value]


def origins_rows(
    conn, filters: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list]:
    yield ["origin", "new_contacts", "engaged", "closed"]
    for row in queries.origins(conn, filters, _rules(registry)):
        yield [row.origin, row.new_contacts, row.engaged, row.closed]


def heatmap_rows(conn, filters: ReportFilters, params: Mapping[str, str]) -> Iterator[list]:
    yield ["weekday", "hour", "conversations"]
    for cell in queries.busiest_hours(conn, filters).cells:
        yield [cell.weekday, cell.hour, cell.value]


CSV_SECTIONS = [
    CsvSection(
        PLUGIN,
        "summary",
        VIEW,
        summary_rows,
        "Headline figures: first response and response time medians (seconds) with the "
        "previous period, and the totals of the series.",
    ),
    CsvSection(
        PLUGIN,
        "series",
        VIEW,
        series_rows,
        "Interactions, new contacts, new conversations and closed conversations per bucket "
        "(?granularity=DAY|WEEK|MONTH).",
    ),
    CsvSection(PLUGIN, "origins", VIEW, origins_rows, "The origins table."),
    CsvSection(PLUGIN, "heatmap", VIEW, heatmap_rows, "Conversations started by weekday x hour."),
]
