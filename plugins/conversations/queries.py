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

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.engine import Connection
from tablero import (
    ClosingReasonRule,
    Comparison,
    Contact,
    Conversation,
    Granularity,
    Heatmap,
    Message,
    ReportFilters,
    ResponseInterval,
    Series,
    bucket_index,
    closed_condition,
    heatmap_cells,
    make_heatmap,
    make_series,
    median,
    organization_reasons,
)

from .types import ConversationsFirstResponse, ConversationsOriginRow, ConversationsResponseTime

CURRENT, PREVIOUS = 1, 0


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


def first_response_time(conn: Connection, f: ReportFilters) -> ConversationsFirstResponse:
    """Medians of ``contact.first_contact_*`` over the contacts created in each period."""
    k = Contact.__table__.c
    in_periods, which = _both_periods(f, k.created_at)
    conditions = f.where(Contact, which=None) + in_periods
    answered = and_(k.first_contact_at.is_not(None), k.first_contact_at <= f.period.as_of_ts)
    calendar = _medians(
        conn, Contact, which, conditions, case((answered, k.first_contact_calendar_s))
    )
    business = _medians(
        conn, Contact, which, conditions, case((answered, k.first_contact_business_s))
    )
    counts = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((answered, 1), else_=0)), 0)).where(
            *f.where(Contact, time_column=k.created_at)
        )
    ).one()
    total, answered_count = int(counts[0]), int(counts[1])
    return ConversationsFirstResponse(
        business=Comparison.of(*business),
        calendar=Comparison.of(*calendar),
        answered_contacts=answered_count,
        unanswered_contacts=total - answered_count,
    )


def response_time(conn: Connection, f: ReportFilters) -> ConversationsResponseTime:
    """Medians of the ``response_interval`` rows answered in each period."""
    r = ResponseInterval.__table__.c
    in_periods, which = _both_periods(f, r.answered_at)
    conditions = f.where(ResponseInterval, which=None) + in_periods
    calendar = _medians(conn, ResponseInterval, which, conditions, r.calendar_s)
    business = _medians(conn, ResponseInterval, which, conditions, r.business_s)
    answers = conn.execute(
        select(func.count()).where(*f.where(ResponseInterval, time_column=r.answered_at))
    ).scalar()
    return ConversationsResponseTime(
        business=Comparison.of(*business),
        calendar=Comparison.of(*calendar),
        answers=int(answers or 0),
    )


def interactions(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Distinct (advisor, contact, local day) with an effective contact, per bucket."""
    m = Message.__table__.c
    rng = f.current
    day = bucket_index(m.sent_at, rng, Granularity.DAY).label("day")
    bucket = (
        day if granularity is Granularity.DAY else bucket_index(m.sent_at, rng, granularity)
    ).label("bucket")
    triples = (
        select(m.advisor_id, m.contact_id, day, bucket)
        # the bare boolean column ("effective = 1" on SQLite) matches the partial index
        # ix_message_org_effective on both databases
        .where(*f.where(Message, time_column=m.sent_at), m.effective)
        .distinct()
        .subquery()
    )
    rows = conn.execute(select(triples.c.bucket, func.count()).group_by(triples.c.bucket)).all()
    return make_series(rng, granularity, rows)


def _series(conn: Connection, f: ReportFilters, table, column, conditions, granularity) -> Series:
    bucket = bucket_index(column, f.current, granularity).label("bucket")
    rows = conn.execute(
        select(bucket, func.count())
        .select_from(table)
        .where(*f.where(table, time_column=column), *conditions)
        .group_by(bucket)
    ).all()
    return make_series(f.current, granularity, rows)


def new_contacts(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Contacts created in the period (deleted included; group = the group they entered)."""
    return _series(conn, f, Contact, Contact.__table__.c.created_at, [], granularity)


def new_conversations(
    conn: Connection, f: ReportFilters, granularity: Granularity = Granularity.DAY
) -> Series:
    """Conversations started in the period."""
    return _series(conn, f, Conversation, Conversation.__table__.c.started_at, [], granularity)


def closed_conversations(
    conn: Connection,
    f: ReportFilters,
    rules: Sequence[ClosingReasonRule] = (),
    granularity: Granularity = Granularity.DAY,
) -> Series:
    """Conversations closed in the period: transferred, or closed with a reason that closes."""
    reasons = organization_reasons(conn, f.organization_id, rules)
    c = Conversation.__table__.c
    return _series(
        conn, f, Conversation, c.closed_at, [closed_condition(Conversation, reasons)], granularity
    )


def origins(
    conn: Connection, f: ReportFilters, rules: Sequence[ClosingReasonRule] = ()
) -> list[ConversationsOriginRow]:
    """Per origin, the cohort of contacts created in the period (deleted excluded, current
    group): its size, how many got an effective contact, how many have a closed conversation."""
    reasons = organization_reasons(conn, f.organization_id, rules)
    k = Contact.__table__.c
    conv = Conversation.__table__.alias("closed_conversation")
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
    """Conversations started in the period, by local ISO weekday x hour."""
    c = Conversation.__table__.c
    weekday, hour = heatmap_cells(c.started_at, f.current)
    weekday, hour = weekday.label("weekday"), hour.label("hour")
    rows = conn.execute(
        select(weekday, hour, func.count())
        .where(*f.where(Conversation, time_column=c.started_at))
        .group_by(weekday, hour)
    ).all()
    return make_heatmap(rows)
