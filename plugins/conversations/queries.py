"""The report's queries: plain blocking functions ``(conn, filters, ...) -> figure``.

Everything is aggregated by the database from the derived facts computed at ingestion
(``contact.first_contact_*``, ``response_interval``, ``message.effective``); no duration is
recomputed here. The filters' :meth:`~tablero.ReportFilters.where` adds the organization, the
group / origin / channel / advisor filters and an AGENT's scope to every table read.

"Known at asOf": an answer or a close that happened after the report's ``asOf`` instant is not
counted, so a past dashboard reproduces exactly (``Period.as_of_ts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    and_,
    case,
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
    ALL_CHANNELS,
    CLOSED_ROW_KEY,
    ClosingReasonRule,
    Comparison,
    Contact,
    ContactDay,
    Conversation,
    ConversationDay,
    FirstResponseBucket,
    Granularity,
    Heatmap,
    InteractionDay,
    Message,
    ReasonCloseDay,
    ReportFilters,
    ResponseBucket,
    ResponseInterval,
    Series,
    bucket_index,
    closed_condition,
    conversation_heatmap,
    day_bucket_index,
    duration_bucket_sql,
    epoch_day,
    histogram_medians,
    local_midnight,
    make_series,
    median,
    organization_reasons,
    table_alias,
)

from .types import ConversationsFirstResponse, ConversationsOriginRow, ConversationsResponseTime

CURRENT, PREVIOUS = 1, 0
BUSINESS, CALENDAR = "business", "calendar"


def _both_periods(f: ReportFilters, column):
    """Conditions for ``column`` in the previous or the current period (they are contiguous),
    and an expression saying which one (``CURRENT`` / ``PREVIOUS``)."""
    conditions = [column >= f.previous.start_ts, column < f.current.end_ts]
    which = case((column >= f.current.start_ts, CURRENT), else_=PREVIOUS).label("which")
    return conditions, which


def _medians(conn: Connection, source, which, conditions, value) -> tuple:
    """(current median, previous median) of ``value`` over ``source`` rows."""
    by_period = median(
        conn,
        select(which, value.label("value")).select_from(source).where(*conditions),
        by=["which"],
    )
    return by_period.get(CURRENT), by_period.get(PREVIOUS)


# The response-time and first-response figures read their histograms (``response_bucket``,
# ``first_response_bucket``) when they can (:func:`day_window`); False: always the rows
# (``response_interval``, ``contact``; tests compare both).
READ_FACTS = True

_r = ResponseInterval.__table__.c
_h = ResponseBucket.__table__.c
_k = Contact.__table__.c
_fh = FirstResponseBucket.__table__.c


@dataclass(frozen=True)
class DayWindow:
    """How both periods are read from a histogram by local day: whole days ``[first, cut)``
    from the rollup (days before ``split`` are the previous period's), and the rows in
    ``[tail_start, end_ts)`` (the part of the day ``cut`` before ``asOf``) from the raw rows;
    ``tail_start`` None: no such part (then the rollup's days end at ``end_ts``)."""

    organization_id: int
    channel: str | None
    first: int
    split: int
    cut: int
    tail_start: int | None
    start_ts: int  # the previous period's start
    split_ts: int  # the current period's start
    end_ts: int
    as_of_ts: int

    def which(self, day):
        return case((day >= self.split, CURRENT), else_=PREVIOUS)

    @property
    def rollup_end_ts(self) -> int:
        return self.end_ts if self.tail_start is None else self.tail_start

    def bounds(self, group: int) -> tuple[int, int]:
        return (self.split_ts, self.end_ts) if group == CURRENT else (self.start_ts, self.split_ts)


def day_window(conn: Connection, f: ReportFilters, instant) -> DayWindow | None:
    """The histograms' reading of both periods by ``instant`` (the answer's, or the contact's
    creation), or None when they cannot answer: a group, origin or advisor filter, or an
    AGENT's scope (the histograms are kept per organization and channel only)."""
    if not READ_FACTS or any(
        value is not None for value in (f.group_id, f.origin, f.advisor_id, f.scope_advisor_id)
    ):
        return None
    current, previous = f.current, f.previous
    tz = ZoneInfo(current.timezone)
    if previous.start_ts != local_midnight(previous.start, tz) or (
        current.start_ts != local_midnight(current.start, tz)
        or previous.end_ts != current.start_ts
    ):
        return None
    cut = datetime.fromtimestamp(current.end_ts, tz).date()  # first day not wholly inside
    tail_start = max(current.start_ts, local_midnight(cut, tz))
    table = instant.table
    if tail_start < current.end_ts and not f.remember(
        ("anything at or after", table.name, instant.name, current.end_ts),
        lambda: conn.execute(
            select(exists().where(table.c.organization_id == f.organization_id,
                                  instant >= current.end_ts))
        ).scalar(),
    ):
        # nothing after the end: the cut day's rollup rows hold only what came before it
        cut, tail_start = cut + timedelta(days=1), current.end_ts
    return DayWindow(
        f.organization_id,
        f.channel,
        epoch_day(previous.start),
        epoch_day(current.start),
        epoch_day(cut),
        tail_start if tail_start < current.end_ts else None,
        previous.start_ts,
        current.start_ts,
        current.end_ts,
        f.period.as_of_ts,
    )


def _reasons(conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule] = ()):
    """The organization's closing reasons with ``rules`` applied, read once per request."""
    return f.remember(
        ("closing reasons", *map(id, rules)),
        lambda: organization_reasons(conn, f.organization_id, rules),
    )


def _tail_bounds(column, w: DayWindow) -> list:
    """``column`` within the part of asOf's day before asOf (``[tail_start, end)``)."""
    return [column >= w.tail_start, column < w.end_ts]


def _summed(parts: list):
    """The histogram ``(g, bucket, c)`` of ``parts`` (rows ``(g, bucket, n)``), empty buckets
    left out."""
    units = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("units")
    return (
        select(units.c.g, units.c.bucket, func.sum(units.c.n).label("c"))
        .group_by(units.c.g, units.c.bucket)
        .having(func.sum(units.c.n) > 0)
        .subquery("histogram")
    )


def _first_response_histogram(w: DayWindow, measure: str):
    """Both periods' histogram of the contacts' first-response durations, answered by asOf:
    the rollup's days, minus the contacts of those days answered after asOf, plus the contacts
    created in the tail and answered by asOf."""
    bucket = _k.first_business_bucket if measure == BUSINESS else _k.first_calendar_bucket
    value = _k.first_contact_business_s if measure == BUSINESS else _k.first_contact_calendar_s
    parts = [
        select(w.which(_fh.created_day).label("g"), _fh.bucket, _fh.contacts.label("n")).where(
            _fh.organization_id == w.organization_id,
            _fh.measure == (0 if measure == BUSINESS else 1),
            _fh.created_day >= w.first,
            _fh.created_day < w.cut,
        ),
        # answered after asOf (a past dashboard): through the first-contact index
        select(
            case((_k.created_at >= w.split_ts, CURRENT), else_=PREVIOUS).label("g"),
            bucket.label("bucket"),
            literal(-1).label("n"),
        ).where(
            _k.organization_id == w.organization_id,
            _k.first_contact_at > w.as_of_ts,
            # "+ 0": through the first-contact index (the few answered after asOf), not the
            # creation index (every contact of both periods)
            _k.created_at + 0 >= w.start_ts,
            _k.created_at + 0 < w.rollup_end_ts,
            bucket.is_not(None),
        ),
    ]
    if w.tail_start is not None:
        parts.append(
            select(
                literal(CURRENT).label("g"),
                literal_column(duration_bucket_sql(value.name)).label("bucket"),
                literal(1).label("n"),
            ).where(
                _k.organization_id == w.organization_id,
                _k.created_at >= w.tail_start,
                _k.created_at < w.end_ts,
                _k.first_contact_at <= w.as_of_ts,
            )
        )
    return _summed(parts)


def _first_response_histogram_medians(
    conn: Connection, w: DayWindow, measure: str, totals: dict | None = None
) -> tuple:
    bucket_column = _k.first_business_bucket if measure == BUSINESS else _k.first_calendar_bucket
    value_column = (
        _k.first_contact_business_s if measure == BUSINESS else _k.first_contact_calendar_s
    )

    def values(group: int, bucket: int, _low, _high):
        start, end = w.bounds(group)
        return select(value_column.label("v")).where(
            _k.organization_id == w.organization_id,
            bucket_column == bucket,
            _k.created_at >= start,
            _k.created_at < end,
            _k.first_contact_at <= w.as_of_ts,
        )

    medians = histogram_medians(conn, _first_response_histogram(w, measure), values, totals)
    return medians.get(CURRENT), medians.get(PREVIOUS)


def first_response_medians(conn: Connection, f: ReportFilters, measure: str) -> tuple:
    """(current, previous) median of ``contact.first_contact_<measure>_s`` (``business`` or
    ``calendar``) over the contacts created in each period and answered by asOf."""
    window = day_window(conn, f, _k.created_at)
    if window is not None:
        return _first_response_histogram_medians(conn, window, measure)
    k = Contact.__table__.c
    in_periods, which = _both_periods(f, k.created_at)
    conditions = f.where(Contact, which=None) + in_periods
    answered = and_(k.first_contact_at.is_not(None), k.first_contact_at <= f.period.as_of_ts)
    column = k.first_contact_business_s if measure == BUSINESS else k.first_contact_calendar_s
    return _medians(conn, Contact, which, conditions, case((answered, column)))


def first_response_calendar(conn: Connection, f: ReportFilters) -> tuple[tuple, int]:
    """The calendar medians of :func:`first_response_medians` and the number of contacts
    created in the period and answered by asOf: from the histogram, that number is its
    current period's total (one statement for both)."""
    window = day_window(conn, f, _k.created_at)
    if window is not None:
        totals: dict = {}
        medians = _first_response_histogram_medians(conn, window, CALENDAR, totals)
        return medians, totals.get(CURRENT, 0)
    k = Contact.__table__.c
    answered = conn.execute(
        select(func.count()).where(
            *f.where(Contact, time_column=k.created_at),
            k.first_contact_at.is_not(None),
            k.first_contact_at <= f.period.as_of_ts,
        )
    ).scalar()
    return first_response_medians(conn, f, CALENDAR), int(answered or 0)


def created_contacts(conn: Connection, f: ReportFilters) -> int:
    """The contacts created in the period (deleted included; the creation index only)."""
    k = Contact.__table__.c
    return int(
        conn.execute(
            select(func.count()).where(*f.where(Contact, time_column=k.created_at))
        ).scalar()
        or 0
    )


def first_response(business: tuple, calendar: tuple[tuple, int], total: int):
    calendar, answered_count = calendar
    return ConversationsFirstResponse(
        business=Comparison.of(*business),
        calendar=Comparison.of(*calendar),
        answered_contacts=answered_count,
        unanswered_contacts=total - answered_count,
    )


def first_response_time(conn: Connection, f: ReportFilters) -> ConversationsFirstResponse:
    """Medians of ``contact.first_contact_*`` over the contacts created in each period (the
    GraphQL field runs the three parts concurrently)."""
    return first_response(
        first_response_medians(conn, f, BUSINESS),
        first_response_calendar(conn, f),
        created_contacts(conn, f),
    )


def _response_histogram(w: DayWindow, measure: str):
    """Both periods' histogram of one measure: rows ``(g: CURRENT / PREVIOUS, bucket, c)``."""
    channel = [_h.channel == (w.channel or ALL_CHANNELS)]
    parts = [
        select(w.which(_h.day).label("g"), _h.bucket, _h.answers.label("n")).where(
            _h.organization_id == w.organization_id,
            _h.measure == (0 if measure == BUSINESS else 1),
            _h.day >= w.first,
            _h.day < w.cut,
            *channel,
        )
    ]
    if w.tail_start is not None:
        value = _r.business_s if measure == BUSINESS else _r.calendar_s
        parts.append(
            # through the answers' covering index: the bucket from the value, as stored
            select(
                literal(CURRENT).label("g"),
                literal_column(duration_bucket_sql(value.name)).label("bucket"),
                literal(1).label("n"),
            ).where(*_tail(w))
        )
    return _summed(parts)


def _tail(w: DayWindow) -> list:
    channel = [] if w.channel is None else [_r.channel == w.channel]
    return [
        _r.organization_id == w.organization_id,
        _r.answered_at >= w.tail_start,
        _r.answered_at < w.end_ts,
        *channel,
    ]


def _response_histogram_medians(
    conn: Connection, w: DayWindow, measure: str, totals: dict | None = None
) -> tuple:
    bucket_column = _r.business_bucket if measure == BUSINESS else _r.calendar_bucket
    value_column = _r.business_s if measure == BUSINESS else _r.calendar_s
    channel = [] if w.channel is None else [_r.channel == w.channel]

    def values(group: int, bucket: int, _low, _high):
        start, end = w.bounds(group)
        return select(value_column.label("v")).where(
            _r.organization_id == w.organization_id,
            bucket_column == bucket,
            _r.answered_at >= start,
            _r.answered_at < end,
            *channel,
        )

    medians = histogram_medians(conn, _response_histogram(w, measure), values, totals)
    return medians.get(CURRENT), medians.get(PREVIOUS)


def response_medians(conn: Connection, f: ReportFilters, measure: str) -> tuple:
    """(current, previous) median of the ``response_interval`` durations answered in each
    period (``business`` or ``calendar`` seconds)."""
    window = day_window(conn, f, _r.answered_at)
    if window is not None:
        return _response_histogram_medians(conn, window, measure)
    r = ResponseInterval.__table__.c
    in_periods, which = _both_periods(f, r.answered_at)
    conditions = f.where(ResponseInterval, which=None) + in_periods
    column = r.business_s if measure == BUSINESS else r.calendar_s
    return _medians(conn, ResponseInterval, which, conditions, column)


def response_calendar(conn: Connection, f: ReportFilters) -> tuple[tuple, int]:
    """The calendar medians of :func:`response_medians` and the answers in the current period:
    from the histogram, its current period's total (one statement for both)."""
    w = day_window(conn, f, _r.answered_at)
    if w is not None:
        totals: dict = {}
        medians = _response_histogram_medians(conn, w, CALENDAR, totals)
        return medians, totals.get(CURRENT, 0)
    r = ResponseInterval.__table__.c
    answers = conn.execute(
        select(func.count()).where(*f.where(ResponseInterval, time_column=r.answered_at))
    ).scalar()
    return response_medians(conn, f, CALENDAR), int(answers or 0)


def response(business: tuple, calendar: tuple[tuple, int]) -> ConversationsResponseTime:
    calendar, answers = calendar
    return ConversationsResponseTime(
        business=Comparison.of(*business), calendar=Comparison.of(*calendar), answers=answers
    )


def response_time(conn: Connection, f: ReportFilters) -> ConversationsResponseTime:
    """Medians of the ``response_interval`` rows answered in each period (the GraphQL field runs
    the three parts concurrently)."""
    return response(
        response_medians(conn, f, BUSINESS),
        response_calendar(conn, f),
    )


def interactions(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Distinct (advisor, contact, local day) with an effective contact, per bucket: from the
    ``interaction_day`` rollup (the days before asOf's, and the part of asOf's day before it
    from the messages) when no group, origin or advisor filter applies; else from the
    messages."""
    m = Message.__table__.c
    rng = f.current
    w = day_window(conn, f, m.sent_at)
    day = bucket_index(m.sent_at, rng, Granularity.DAY).label("day")
    bucket = (
        day if granularity is Granularity.DAY else bucket_index(m.sent_at, rng, granularity)
    ).label("bucket")
    in_period = f.where(Message, time_column=m.sent_at)
    if w is not None and w.tail_start is not None:
        # the tail's bounds alone: given the period's start too, SQLite ranges the index from
        # the first lower bound written (the whole period, not the tail)
        in_period = [*f.where(Message, which=None), *_tail_bounds(m.sent_at, w)]
    triples = (
        select(m.advisor_id, m.contact_id, day, bucket)
        # the bare boolean column ("effective = 1" on SQLite) matches the partial index
        # ix_message_org_effective on both databases
        .where(*in_period, m.effective)
        .distinct()
        .subquery()
    )
    from_messages = select(triples.c.bucket, func.count().label("n")).group_by(triples.c.bucket)
    if w is None:
        return make_series(rng, granularity, conn.execute(from_messages).all())
    d = InteractionDay.__table__.c
    from_days = select(
        day_bucket_index(d.day, rng, granularity).label("bucket"), d.interactions.label("n")
    ).where(
        d.organization_id == w.organization_id,
        d.channel == (w.channel or ALL_CHANNELS),
        d.day >= w.split,
        d.day < w.cut,
    )
    parts = [from_days] if w.tail_start is None else [from_days, from_messages]
    units = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("units")
    rows = conn.execute(
        select(units.c.bucket, func.sum(units.c.n)).group_by(units.c.bucket)
    ).all()
    return make_series(rng, granularity, rows)


def _series(
    conn: Connection, f: ReportFilters, table, column, conditions, granularity,
    days=None,
) -> Series:
    """Rows of ``table`` per bucket of ``column`` in the current period. ``days(w)``, when
    given: a SELECT ``(day, n)`` of a rollup's counts per local day for the window ``w``
    (:func:`day_window` by ``column``), read instead of the rows for its whole days; the
    part of asOf's day before asOf is read from the rows."""
    rng = f.current
    bucket = bucket_index(column, rng, granularity).label("bucket")
    w = day_window(conn, f, column) if days is not None else None
    if w is not None and w.tail_start is not None:  # the tail's bounds alone (see interactions)
        conditions = [*f.where(table, which=None), *_tail_bounds(column, w), *conditions]
    else:
        conditions = [*f.where(table, time_column=column), *conditions]
    from_rows = (
        select(bucket, func.count().label("n")).select_from(table).where(*conditions)
        .group_by(bucket)
    )
    if w is None:
        return make_series(rng, granularity, conn.execute(from_rows).all())
    per_day = days(w).subquery("per_day")
    from_days = select(
        day_bucket_index(per_day.c.day, rng, granularity).label("bucket"), per_day.c.n
    ).where(per_day.c.day >= w.split, per_day.c.day < w.cut)
    parts = [from_days] if w.tail_start is None else [from_days, from_rows]
    units = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("units")
    rows = conn.execute(
        select(units.c.bucket, func.sum(units.c.n)).group_by(units.c.bucket)
    ).all()
    return make_series(rng, granularity, rows)


def new_contacts(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Contacts created in the period (deleted included; group = the group they entered), from
    the ``contact_day`` rollup when no group, origin or advisor filter applies."""

    def days(w: DayWindow):
        d = ContactDay.__table__.c
        return select(d.created_day.label("day"), d.contacts.label("n")).where(
            d.organization_id == w.organization_id,
            d.created_day >= w.split,
            d.created_day < w.cut,
        )

    return _series(conn, f, Contact, Contact.__table__.c.created_at, [], granularity, days)


def new_conversations(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Conversations started in the period, from the ``conversation_day`` rollup (per channel)
    when no group, origin or advisor filter applies."""

    def days(w: DayWindow):
        d = ConversationDay.__table__.c
        return select(d.day, (d.commercial + d.support).label("n")).where(
            d.organization_id == w.organization_id,
            d.channel == (w.channel or ALL_CHANNELS),
            d.day >= w.split,
            d.day < w.cut,
        )

    return _series(
        conn, f, Conversation, Conversation.__table__.c.started_at, [], granularity, days
    )


def closed_conversations(
    conn: Connection,
    f: ReportFilters,
    rules: Sequence[ClosingReasonRule] = (),
    granularity: Granularity = Granularity.DAY,
) -> Series:
    """Conversations closed in the period: transferred, or closed with a reason that closes.
    From the close facts' rollup (``reason_close_day``, its closed row) when no filter but the
    period applies and the plugins' rules close what the stored flags close."""
    reasons = _reasons(conn, f, rules)
    c = Conversation.__table__.c
    days = None
    if f.channel is None and _closing(reasons) == _closing(
        _reasons(conn, f)
    ):

        def days(w: DayWindow):
            d = ReasonCloseDay.__table__.c
            return (
                select(d.day, func.sum(d.conversations).label("n"))
                .where(
                    d.organization_id == w.organization_id,
                    d.row_key == CLOSED_ROW_KEY,
                    d.day >= w.split,
                    d.day < w.cut,
                )
                .group_by(d.day)
            )

    return _series(
        conn, f, Conversation, c.closed_at, [closed_condition(Conversation, reasons)],
        granularity, days,
    )


def _closing(reasons) -> set:
    return {r.id for r in reasons if r.closes}


def origins(
    conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule] = ()
) -> list[ConversationsOriginRow]:
    """Per origin, the cohort of contacts created in the period (deleted excluded, current
    group): its size, how many got an effective contact, how many have a closed conversation."""
    reasons = _reasons(conn, f, rules)
    k = Contact.__table__.c
    conv = table_alias(Conversation, "closed_conversation")
    as_of = f.period.as_of_ts
    # The cohort is a set of contacts: channel does not apply; the advisor filter (and an
    # AGENT's scope) does, to the cohort and to the conversations that count as closed.
    contact_filters = f.without("channel")
    conversation_filters = f.without("channel", "group_id", "origin")
    has_closed = exists().where(
        *conversation_filters.where(conv, which=None),
        conv.c.contact_id == k.id,
        closed_condition(conv, reasons),
        # "+ 0" keeps SQLite's planner on the (organization, contact) index: left to itself it
        # walks every closed conversation of the organization for each contact of the cohort.
        conv.c.closed_at + 0 <= as_of,
    )
    engaged = and_(k.first_contact_at.is_not(None), k.first_contact_at <= as_of)
    if READ_FACTS and f.advisor_id is None and f.scope_advisor_id is None and _closing(
        reasons
    ) == _closing(_reasons(conn, f)):
        # the contact's first close, kept at ingestion (the stored flags close what the rules
        # close): the cohort is read from ix_contact_org_created_origin alone
        has_closed = and_(k.first_closed_at.is_not(None), k.first_closed_at <= as_of)
    new_count = func.count()
    rows = conn.execute(
        select(
            k.origin,
            new_count.label("new_contacts"),
            func.sum(case((engaged, 1), else_=0)).label("engaged"),
            func.sum(case((has_closed, 1), else_=0)).label("closed"),
        )
        .where(
            *contact_filters.where(Contact, time_column=k.created_at, group_basis="current"),
            or_(k.deleted_at.is_(None), k.deleted_at > as_of),
        )
        .group_by(k.origin)
        .order_by(new_count.desc(), k.origin.is_(None), k.origin)
    ).all()
    return [
        ConversationsOriginRow(
            origin=origin,
            new_contacts=int(count),
            engaged=int(engaged_count or 0),
            closed=int(closed_count or 0),
        )
        for origin, count, engaged_count, closed_count in rows
    ]


def busiest_hours(conn: Connection, f: ReportFilters) -> Heatmap:
    """Conversations started in the period, by local ISO weekday x hour: the core's heatmap of
    conversations started (the ``conversation_hour`` rollup when no group, origin or advisor
    filter applies and :data:`READ_FACTS`; else the conversations)."""
    return conversation_heatmap(conn, f, f.current, rollup=READ_FACTS)
