"""The resolution panel's figures: SQL aggregates over the conversations closed in the period.

Every conversation closed in the period (``closed_at`` inside it, after the core's filters)
belongs to at most one row of the table:

* **Assignments** when it was transferred (``transferred_to_id`` set): the transfer is what ended
  it for the advisor who transferred, whatever reason it may also carry;
* otherwise the row of its closing reason;
* a conversation with ``closed_at`` but neither a reason nor a transfer belongs to no row (the
  core's :func:`tablero.closed_condition` does not count it as closed either).

"Closed" (totals, shares, the ``closed`` series) is :func:`tablero.closed_condition` over the
organization's reasons with the plugins' rules applied — the function the conversations panel
uses — so both panels count the same conversations.

Durations are the facts stored at ingestion (``close_business_s``, ``close_calendar_s``);
medians are computed by the database (:func:`tablero.median`). Nothing here loads the period's
conversations into Python: only grouped results (one row per reason, or per reason and bucket).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import case, distinct, func, literal_column, or_, select
from sqlalchemy.engine import Connection
from tablero import (
    ClosingReasonRule,
    Conversation,
    Granularity,
    ReasonInfo,
    ReportFilters,
    bucket_index,
    bucket_starts,
    closed_condition,
    make_series,
    median,
    organization_reasons,
)

from .types import (
    ResolutionClosingReason,
    ResolutionOverTime,
    ResolutionReasonRow,
    ResolutionReasons,
    ResolutionReasonSeries,
    ResolutionRowKind,
    ResolutionTotals,
)

ASSIGNMENTS = "assignments"
ASSIGNMENTS_NAME = "Assignments"
# Row keys in SQL: a reason's id (ids start at 1), 0 for Assignments, -1 for the totals.
_ASSIGNMENTS_KEY = 0
_TOTAL_KEY = -1
BUSINESS, CALENDAR = 0, 1  # the two duration measures

_c = Conversation.__table__.c


def _row_key():
    """SQL: the table row a conversation belongs to (see the module docstring)."""
    return case(
        (_c.transferred_to_id.is_not(None), literal_column(str(_ASSIGNMENTS_KEY))),
        else_=_c.closing_reason_id,
    )


def _closed_in_period(f: ReportFilters) -> list:
    """Conditions: the filters, ``closed_at`` in the period, and a row to belong to."""
    return f.where(Conversation, time_column=_c.closed_at) + [
        or_(_c.transferred_to_id.is_not(None), _c.closing_reason_id.is_not(None))
    ]


def reason_catalog(
    conn: Connection,
    organization_id: int,
    rules: Sequence[ClosingReasonRule],
    include_archived: bool = False,
) -> list[ResolutionClosingReason]:
    """The organization's closing reasons (in id order), with the plugins' rules applied."""
    return [
        catalog_entry(r)
        for r in organization_reasons(conn, organization_id, rules)
        if include_archived or not r.archived
    ]


def catalog_entry(r: ReasonInfo) -> ResolutionClosingReason:
    return ResolutionClosingReason(
        reason=r.external_id,
        name=r.name,
        closes=r.closes,
        archived=r.archived,
        category=r.category,
    )


def _ordered_rows(reasons: Sequence[ReasonInfo], keys_with_data: set[int]) -> list[tuple]:
    """``(key, ReasonInfo | None)`` for each row, in table order (None = Assignments).

    Reasons that close, then Assignments, then reasons that do not close; an archived reason
    only when it has conversations in the period (so old data stays visible).
    """
    visible = [r for r in reasons if not r.archived or r.id in keys_with_data]
    return (
        [(r.id, r) for r in visible if r.closes]
        + [(_ASSIGNMENTS_KEY, None)]
        + [(r.id, r) for r in visible if not r.closes]
    )


def _labels(reason: ReasonInfo | None) -> dict:
    if reason is None:
        return {
            "reason": ASSIGNMENTS,
            "name": ASSIGNMENTS_NAME,
            "kind": ResolutionRowKind.ASSIGNMENTS,
            "closes": True,
            "category": None,
        }
    return {
        "reason": reason.external_id,
        "name": reason.name,
        "kind": ResolutionRowKind.REASON,
        "closes": reason.closes,
        "category": reason.category,
    }


def reason_medians(
    conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule], measure: int
) -> dict[tuple[int, int], float | None]:
    """``{(row key, measure): median seconds}`` of one measure (``BUSINESS`` or ``CALENDAR``)
    for every row and the totals: one grouped median and one for the totals (on SQLite cheaper
    than one median over a UNION of both). The two measures are independent statements, so the
    GraphQL field computes them concurrently."""
    reasons = organization_reasons(conn, f.organization_id, rules)
    closed = closed_condition(Conversation, reasons)
    conditions = _closed_in_period(f)
    key = _row_key().label("reason_row")
    column = _c.close_business_s if measure == BUSINESS else _c.close_calendar_s
    by_row = median(conn, select(key, column.label("value")).where(*conditions), by=["reason_row"])
    medians = {(row_key, measure): value for row_key, value in by_row.items()}
    medians[(_TOTAL_KEY, measure)] = median(
        conn, select(column.label("value")).where(*conditions, closed)
    )
    return medians


@dataclass(frozen=True)
class ReasonCounts:
    """The table's counts: per row key (conversations, contacts), and the totals."""

    reasons: list[ReasonInfo]
    by_row: dict[int, tuple[int, int]]
    total_conversations: int
    total_contacts: int


def reason_counts(
    conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule]
) -> ReasonCounts:
    reasons = organization_reasons(conn, f.organization_id, rules)
    closed = closed_condition(Conversation, reasons)
    conditions = _closed_in_period(f)
    key = _row_key().label("reason_row")
    by_row = {
        row_key: (conversations, contacts)
        for row_key, conversations, contacts in conn.execute(
            select(key, func.count(), func.count(distinct(_c.contact_id)))
            .where(*conditions)
            .group_by(key)
        )
    }
    total_conversations, total_contacts = conn.execute(
        select(func.count(), func.count(distinct(_c.contact_id))).where(*conditions, closed)
    ).one()
    return ReasonCounts(reasons, by_row, int(total_conversations), int(total_contacts))


def closing_reasons(
    conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule]
) -> ResolutionReasons:
    """The closing-reasons table: one row per reason plus Assignments, and the totals."""
    return reasons_table(
        reason_counts(conn, f, rules),
        {
            **reason_medians(conn, f, rules, BUSINESS),
            **reason_medians(conn, f, rules, CALENDAR),
        },
    )


def reasons_table(
    counts: ReasonCounts, medians: dict[tuple[int, int], float | None]
) -> ResolutionReasons:
    """Assemble the table from :func:`reason_counts` and both measures' :func:`reason_medians`."""
    total_conversations = counts.total_conversations
    rows = []
    for row_key, reason in _ordered_rows(counts.reasons, set(counts.by_row)):
        conversations, contacts = counts.by_row.get(row_key, (0, 0))
        labels = _labels(reason)
        share = None
        if labels["closes"] and total_conversations:
            share = round(conversations / total_conversations, 6)
        rows.append(
            ResolutionReasonRow(
                **labels,
                archived=reason.archived if reason else False,
                contacts=contacts,
                conversations=conversations,
                share=share,
                median_time_to_close_business=medians.get((row_key, BUSINESS)),
                median_time_to_close_calendar=medians.get((row_key, CALENDAR)),
            )
        )
    total = ResolutionTotals(
        contacts=counts.total_contacts,
        conversations=total_conversations,
        median_time_to_close_business=medians.get((_TOTAL_KEY, BUSINESS)),
        median_time_to_close_calendar=medians.get((_TOTAL_KEY, CALENDAR)),
    )
    return ResolutionReasons(rows=rows, total=total)


def reasons_over_time(
    conn: Connection,
    f: ReportFilters,
    rules: Sequence[ClosingReasonRule],
    granularity: Granularity = Granularity.DAY,
) -> ResolutionOverTime:
    """Per row of the table, conversations closed per bucket (one grouped query for all rows)."""
    reasons = organization_reasons(conn, f.organization_id, rules)
    rng = f.current
    key = _row_key().label("reason_row")
    bucket = bucket_index(_c.closed_at, rng, granularity).label("bucket")
    by_row: dict[int, list[tuple[int, int]]] = {}
    for row_key, index, count in conn.execute(
        select(key, bucket, func.count()).where(*_closed_in_period(f)).group_by(key, bucket)
    ):
        by_row.setdefault(row_key, []).append((index, count))

    series = []
    closed_counts: list[tuple[int, int]] = []
    for row_key, reason in _ordered_rows(reasons, set(by_row)):
        labels = _labels(reason)
        counts = by_row.get(row_key, [])
        if labels["closes"]:
            closed_counts += counts
        series.append(
            ResolutionReasonSeries(**labels, series=make_series(rng, granularity, counts))
        )
    return ResolutionOverTime(
        granularity=granularity,
        buckets=bucket_starts(rng, granularity),
        reasons=series,
        closed=make_series(rng, granularity, closed_counts),
    )
