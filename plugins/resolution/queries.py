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

Two readings give the same figures (``tests/plugins/test_resolution.py`` compares them):

* **the close facts** (:func:`fact_window`), when no filter but the period applies: counts,
  distinct contacts and the series from the ``reason_close_day`` rollup, exact medians from the
  ``reason_close_bucket`` histogram and then the middle bucket's values in ``close_fact`` (see
  :func:`_fact_medians`); the part of ``asOf``'s day before it from ``close_fact``;
* **the conversations** closed in the period otherwise (a group, origin, channel or advisor
  filter, an AGENT's scope): durations are the facts stored at ingestion (``close_business_s``,
  ``close_calendar_s``), medians computed by the database (:func:`tablero.median`).

Nothing here loads the period's conversations into Python: only grouped results (one row per
reason, or per reason and bucket, or a median's bucket).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    case,
    distinct,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from tablero import (
    CloseFact,
    ClosingReasonRule,
    Conversation,
    Granularity,
    ReasonCloseBucket,
    ReasonCloseDay,
    ReasonInfo,
    ReportFilters,
    bucket_index,
    bucket_starts,
    closed_condition,
    day_bucket_index,
    epoch_day,
    histogram_medians,
    local_midnight,
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


def closing_keys(reasons: Sequence[ReasonInfo]) -> list[int]:
    """The row keys whose conversations count as closed: Assignments and the reasons that
    close (after the plugins' rules)."""
    return [_ASSIGNMENTS_KEY] + [r.id for r in reasons if r.closes]


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
    window = fact_window(conn, f)
    if window is not None:
        return _fact_medians(conn, window, closing_keys(reasons), measure)
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
    window = fact_window(conn, f)
    if window is not None:
        by_row = _fact_counts(conn, window)
        keys = closing_keys(reasons)
        if keys == closing_keys(organization_reasons(conn, f.organization_id)):
            # the facts' closed row (-1) follows the stored flags, which the rules keep
            total_contacts = by_row.get(_CLOSED_FACT_KEY, (0, 0))[1]
        else:
            (total_contacts,) = conn.execute(
                select(func.count(distinct(_c.contact_id))).where(*conditions, closed)
            ).one()
        return ReasonCounts(
            reasons,
            {k: v for k, v in by_row.items() if k != _CLOSED_FACT_KEY},
            sum(by_row.get(k, (0, 0))[0] for k in keys),
            int(total_contacts),
        )
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
    window = fact_window(conn, f)
    if window is not None:
        by_row = _fact_series(conn, window, rng, granularity)
    else:
        key = _row_key().label("reason_row")
        bucket = bucket_index(_c.closed_at, rng, granularity).label("bucket")
        by_row = {}
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


# ---------------------------------------------------------------------------------------------
# Reading the close facts (tablero's ``close_fact`` and its two rollups)
# ---------------------------------------------------------------------------------------------

_f = CloseFact.__table__.c
_d = ReasonCloseDay.__table__.c
_b = ReasonCloseBucket.__table__.c
# False: every figure is read from the conversations (the tests compare both readings)
READ_FACTS = True
_CLOSED_FACT_KEY = -1  # reason_close_day's row of the closed conversations (stored flags)


@dataclass(frozen=True)
class FactWindow:
    """How a period is read from the close facts: whole local days ``[first, cut)`` from the
    rollups, and the conversations closed in ``[tail_start, end_ts)`` (the part of the day
    ``cut`` before ``asOf``) from their ``close_fact`` rows; ``tail_start`` None: no such part."""

    organization_id: int
    first: int
    cut: int
    tail_start: int | None
    end_ts: int


def fact_window(conn: Connection, f: ReportFilters) -> FactWindow | None:
    """The facts' reading of ``f``'s current period, or None when the facts cannot answer it:
    a group, origin, channel or advisor filter, or an AGENT's scope (the facts are kept per
    organization only; those read the conversations)."""
    if not READ_FACTS or any(
        value is not None
        for value in (f.group_id, f.origin, f.channel, f.advisor_id, f.scope_advisor_id)
    ):
        return None
    rng = f.current
    tz = ZoneInfo(rng.timezone)
    if rng.start_ts != local_midnight(rng.start, tz):
        return None
    cut = datetime.fromtimestamp(rng.end_ts, tz).date()  # first day not wholly inside
    tail_start = max(rng.start_ts, local_midnight(cut, tz))
    if tail_start < rng.end_ts and not conn.execute(
        select(exists().where(_c.organization_id == f.organization_id, _c.closed_at >= rng.end_ts))
    ).scalar():
        # nothing closed after the end: the cut day's rollups hold only what closed before it
        cut, tail_start = cut + timedelta(days=1), rng.end_ts
    return FactWindow(
        f.organization_id,
        epoch_day(rng.start),
        epoch_day(cut),
        tail_start if tail_start < rng.end_ts else None,
        rng.end_ts,
    )


def _tail_facts(w: FactWindow, *columns):
    """SELECT ``columns`` of the ``close_fact`` rows of the conversations closed in the tail."""
    return (
        select(*columns)
        .select_from(Conversation.__table__)
        .join(
            CloseFact.__table__,
            and_(_f.organization_id == _c.organization_id, _f.conversation_id == _c.id),
        )
        .where(
            # through the conversations' close index (the tail lies within the day ``cut``)
            _c.organization_id == w.organization_id,
            _c.closed_at >= w.tail_start,
            _c.closed_at < w.end_ts,
        )
    )


def _close_days(w: FactWindow):
    """Subquery ``(row_key, day, prev_day, n)``: conversations closed in the window."""
    whole = select(_d.row_key, _d.day, _d.prev_day, _d.conversations.label("n")).where(
        _d.organization_id == w.organization_id, _d.day >= w.first, _d.day < w.cut
    )
    if w.tail_start is None:
        return whole.subquery("closes")
    tail = _tail_facts(w, _f.row_key, _f.day, _f.prev_day, literal(1).label("n"))
    closed_tail = _tail_facts(
        w, literal(_CLOSED_FACT_KEY), _f.day, _f.prev_closed_day, literal(1)
    ).where(_f.prev_closed_day.is_not(None))
    return union_all(whole, tail, closed_tail).subquery("closes")


def _fact_counts(conn: Connection, w: FactWindow) -> dict[int, tuple[int, int]]:
    """``{row key: (conversations, contacts)}``: a contact counts in a row on its first close
    there in the window (its previous close in that row, if any, is before the window); key
    -1: the closed conversations by the stored ``closes`` flags."""
    days = _close_days(w)
    first_close = case((days.c.prev_day < w.first, days.c.n), else_=0)
    return {
        row_key: (int(conversations), int(contacts))
        for row_key, conversations, contacts in conn.execute(
            select(days.c.row_key, func.sum(days.c.n), func.sum(first_close)).group_by(
                days.c.row_key
            )
        )
    }


def _fact_medians(
    conn: Connection, w: FactWindow, closing_keys: Sequence[int], measure: int
) -> dict[tuple[int, int], float | None]:
    """Exact medians of one measure per row and for the totals (the rows in ``closing_keys``),
    from the duration histogram: one statement finds each group's bucket(s) holding the middle
    rank(s) (``reason_close_bucket`` over the window's days, plus the tail), a second reads
    only those buckets' values (``close_fact`` through its bucket index) at those ranks."""
    bucket_column = _f.business_bucket if measure == BUSINESS else _f.calendar_bucket
    value_column = _f.close_business_s if measure == BUSINESS else _f.close_calendar_s
    parts = [
        select(_b.row_key, _b.bucket, _b.conversations.label("n")).where(
            _b.organization_id == w.organization_id,
            _b.measure == measure,
            _b.day >= w.first,
            _b.day < w.cut,
        )
    ]
    if w.tail_start is not None:
        parts.append(
            _tail_facts(w, _f.row_key, bucket_column.label("bucket"), literal(1).label("n"))
            .where(bucket_column.is_not(None))
        )
    units = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("units")
    # per row, then the totals from the closing rows' histograms (the rollups read once)
    per_row = (
        select(units.c.row_key.label("g"), units.c.bucket, func.sum(units.c.n).label("c"))
        .group_by(units.c.row_key, units.c.bucket)
        # empty buckets hold no rank (ingestion deletes the rollup rows it empties)
        .having(func.sum(units.c.n) > 0)
        .cte("per_row")
    )
    histogram = union_all(
        select(per_row.c.g, per_row.c.bucket, per_row.c.c),
        select(literal(_TOTAL_KEY).label("g"), per_row.c.bucket, func.sum(per_row.c.c))
        .where(per_row.c.g.in_(list(closing_keys) or [-2]))
        .group_by(per_row.c.bucket),
    ).subquery("histogram")

    def values(group: int, bucket: int, low: int | None, high: int):
        row_keys = list(closing_keys) if group == _TOTAL_KEY else [group]
        in_bucket = [
            _f.organization_id == w.organization_id,
            _f.row_key.in_(row_keys or [-2]),
            bucket_column == bucket,
            value_column < high,
        ]
        if low is not None:
            in_bucket.append(value_column >= low)
        days = [select(value_column.label("v")).where(*in_bucket, _f.day >= w.first, _f.day < w.cut)]
        if w.tail_start is not None:
            # the day too, so the bucket's index is read for that day only
            days.append(_tail_facts(w, value_column.label("v")).where(*in_bucket, _f.day == w.cut))
        return days[0] if len(days) == 1 else union_all(*days)

    medians: dict[tuple[int, int], float | None] = {
        (group, measure): value
        for group, value in histogram_medians(conn, histogram, values).items()
    }
    medians.setdefault((_TOTAL_KEY, measure), None)
    return medians


def _fact_series(conn: Connection, w: FactWindow, rng, granularity: Granularity):
    """``{row key: [(bucket index, conversations)]}`` from the close facts."""
    days = _close_days(w)
    per_day = (
        select(days.c.row_key, days.c.day, func.sum(days.c.n).label("n"))
        .where(days.c.row_key != _CLOSED_FACT_KEY)
        .group_by(days.c.row_key, days.c.day)
        .subquery()
    )
    bucket = day_bucket_index(per_day.c.day, rng, granularity).label("bucket")
    by_row: dict[int, list[tuple[int, int]]] = {}
    for row_key, index, count in conn.execute(
        select(per_day.c.row_key, bucket, func.sum(per_day.c.n)).group_by(per_day.c.row_key, bucket)
    ):
        by_row.setdefault(row_key, []).append((index, count))
    return by_row
