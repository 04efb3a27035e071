"""Activity figures shared by the home page and the contacts behaviour panel (one implementation).

* sends: outbound messages (any channel, any sender: campaigns, advisors, bots) sent in the range;
* commercial / support attentions: conversations of that kind *started* in the range;
* geography: distinct contacts per Brazilian state (from the phone's DDD), all 27 states always
  present, plus the contacts whose number has no Brazilian DDD under ``unknown``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import (
    Select,
    Subquery,
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

from .filters import ReportFilters
from .geo import STATES
from .models import (
    ACTIVITY_MEASURES,
    ALL_CHANNELS,
    ALL_STATES,
    BY_STATE,
    CONVERSATION_DAY_COUNTS,
    GAP_CAP,
    NOT_DELETED,
    ActivityGap,
    Contact,
    ContactActivity,
    ContactDay,
    Conversation,
    ConversationDay,
    ConversationHour,
    Message,
)
from .periods import DateRange, local_midnight
from .sql import table_alias
from .timeseries import (
    DAY,
    Comparison,
    Granularity,
    Heatmap,
    Series,
    bucket_index,
    day_bucket_index,
    epoch_day,
    heatmap_cells,
    local_seconds,
    make_heatmap,
    make_series,
)


@strawberry.type(description="Daily sends (outbound messages) and attentions started, zero-filled.")
class DailyVolume:
    sends: Series
    commercial: Series
    support: Series


@strawberry.type(description="Attentions (conversations started) by kind, with shares of the total.")
class AttentionDistribution:
    total: int
    commercial: int
    support: int
    commercial_share: float | None = strawberry.field(description="0..1; null when total is 0.")
    support_share: float | None


@strawberry.type
class StateCount:
    uf: str = strawberry.field(description="State code, e.g. SP.")
    name: str
    contacts: int


@strawberry.type(description="Distinct contacts per Brazilian state (all 27) and without a DDD.")
class Geography:
    states: list[StateCount]
    unknown: int
    total: int


def _series(conn: Connection, column, conditions, rng: DateRange, granularity: Granularity):
    bucket = bucket_index(column, rng, granularity).label("bucket")
    rows = conn.execute(
        select(bucket, func.count()).where(*conditions).group_by(bucket)
    ).all()
    return make_series(rng, granularity, rows)


def contact_activity(
    f: ReportFilters,
    rng: DateRange,
    *,
    columns: Sequence[str] | None = None,
    conn: Connection | None = None,
) -> Subquery:
    """One row per contact and local day with activity in ``rng`` under the filters (the channel
    filter's channel, else all channels), with the ``columns`` asked for (default: all of
    :data:`ACTIVITY_COLUMNS`): ``contact_id``, ``day`` (local date as days since 1970-01-01),
    ``messages``, ``outbound``, ``campaign``, ``commercial``, ``support`` (see
    :class:`tablero.models.ContactActivity`); ``prev_day``, ``prev_outbound_day``,
    ``prev_campaign_day``: the contact's previous day with that activity, so that a contact's
    first row in a window is the one whose previous day is null or before the window
    (:func:`first_in_window`); the contact's ``state`` and ``deleted``. Asking only for what a
    figure reads keeps the rows narrow (PostgreSQL does not prune a UNION's unused columns).

    Whole days come from the ``contact_activity`` facts. A last day cut short by ``asOf`` is
    aggregated from its messages and conversations (its previous days still come from the facts),
    so a past dashboard stays exact; given ``conn``, one index probe first checks whether any
    message or conversation lies after the range's end, and when none does (the usual case of a
    dashboard as of now) that day comes from the facts too. Filters the facts cannot apply (an
    advisor, an AGENT's scope) make the whole range come from the raw rows, previous days computed
    over that range, so the answer is the same, only slower.
    """
    wanted = list(ACTIVITY_COLUMNS if columns is None else columns)
    unknown = set(wanted) - set(ACTIVITY_COLUMNS)
    if unknown:
        raise ValueError(f"unknown contact activity columns: {sorted(unknown)}")
    with_contact = any(name in _CONTACT_COLUMNS for name in wanted)
    a = ContactActivity.__table__.c
    partition = f.channel or ALL_CHANNELS
    if f.advisor_id is not None or f.scope_advisor_id is not None:
        days = _raw_days(f, rng.start_ts, rng.end_ts, rng.timezone, with_contact).subquery()
        earlier = {"partition_by": days.c.contact_id, "order_by": days.c.day, "rows": (None, -1)}
        previous = {
            "prev_day": func.max(days.c.day).over(**earlier),
            "prev_outbound_day": func.max(case((days.c.outbound > 0, days.c.day))).over(**earlier),
            "prev_campaign_day": func.max(case((days.c.campaign > 0, days.c.day))).over(**earlier),
            "prev_commercial_day": func.max(case((days.c.commercial > 0, days.c.day))).over(
                **earlier
            ),
            "prev_support_day": func.max(case((days.c.support > 0, days.c.day))).over(**earlier),
        }
        return select(
            *[previous[n].label(n) if n in previous else days.c[n] for n in wanted]
        ).subquery("activity")

    cut, raw_start = _cut_day(conn, f, rng)
    facts = select(*[a[name] for name in wanted]).where(
        *f.without("channel").where(ContactActivity, which=None),
        a.channel == partition,
        a.day >= epoch_day(rng.start),
        a.day < epoch_day(cut),
    )
    if raw_start >= rng.end_ts:
        return facts.subquery("activity")
    tail = _raw_days(f, raw_start, rng.end_ts, rng.timezone, with_contact).subquery("tail")
    cut_day = table_alias(ContactActivity, "cut_day")
    tail_rows = select(
        *[cut_day.c[n] if n in _PREVIOUS_COLUMNS else tail.c[n] for n in wanted]
    ).select_from(tail)
    if any(name in _PREVIOUS_COLUMNS for name in wanted):
        tail_rows = tail_rows.outerjoin(
            cut_day,
            and_(
                cut_day.c.organization_id == f.organization_id,
                cut_day.c.channel == partition,
                cut_day.c.day == tail.c.day,
                cut_day.c.contact_id == tail.c.contact_id,
            ),
        )
    return union_all(facts, tail_rows).subquery("activity")


def _cut_day(conn: Connection | None, f: ReportFilters, rng: DateRange, nothing_after=None):
    """``(cut, raw_start)``: the first local day of ``rng`` the facts do not hold wholly (its
    part in ``[raw_start, rng.end_ts)`` is read from the raw rows; none when ``raw_start >=
    rng.end_ts``). Given ``conn``, a cut day after which nothing happened reads from the facts;
    ``nothing_after(conn, organization_id, ts)`` says so (default: no message and no
    conversation at or after ``ts``)."""
    tz = ZoneInfo(rng.timezone)
    cut = datetime.fromtimestamp(rng.end_ts, tz).date()  # first day not wholly inside
    raw_start = max(rng.start_ts, local_midnight(cut, tz))
    probe = nothing_after or _nothing_after
    if raw_start < rng.end_ts and conn is not None and f.remember(
        (probe, rng.end_ts), lambda: probe(conn, f.organization_id, rng.end_ts)
    ):
        # the cut day's facts hold only what happened before the range's end
        cut, raw_start = cut + timedelta(days=1), rng.end_ts
    return cut, raw_start


def _nothing_after(conn: Connection, organization_id: int, ts: int) -> bool:
    """No message sent and no conversation started at or after ``ts`` (two index probes)."""
    m, c = Message.__table__.c, Conversation.__table__.c
    later = conn.execute(
        select(
            exists().where(m.organization_id == organization_id, m.sent_at >= ts),
            exists().where(c.organization_id == organization_id, c.started_at >= ts),
        )
    ).one()
    return not any(later)


_MEASURES = ("contact_id", "day", "messages", "outbound", "campaign", "commercial", "support")
_PREVIOUS_COLUMNS = (
    "prev_day", "prev_outbound_day", "prev_campaign_day", "prev_commercial_day", "prev_support_day"
)
_CONTACT_COLUMNS = ("state", "deleted")
ACTIVITY_COLUMNS = _MEASURES + _PREVIOUS_COLUMNS + _CONTACT_COLUMNS
_PREVIOUS = {
    "activity": "prev_day",
    "outbound": "prev_outbound_day",
    "campaign": "prev_campaign_day",
    "commercial": "prev_commercial_day",
    "support": "prev_support_day",
}

READ_GAPS = True
"""Read distinct-contact counts from the ``activity_gap`` rollup where it applies (tests turn it
off to check both ways give the same figures)."""


def gaps_apply(f: ReportFilters, *windows: DateRange) -> bool:
    """The ``activity_gap`` rollup can answer for these filters and windows: no group, origin,
    advisor or AGENT scope (the rollup is per organization and channel only), and windows of at
    most :data:`tablero.models.GAP_CAP` days (its gaps are capped there)."""
    return (
        READ_GAPS
        and f.group_id is None
        and f.origin is None
        and f.advisor_id is None
        and f.scope_advisor_id is None
        and all(w.days <= GAP_CAP for w in windows)
    )


def activity_gaps(
    conn: Connection,
    f: ReportFilters,
    rng: DateRange,
    measure: str,
    *,
    by_state: bool = False,
    reads: Literal["contacts", "amount"] = "contacts",
    counted_from=None,
    window_start=None,
) -> Subquery:
    """The ``activity_gap`` rows of ``measure`` over ``rng``'s days under the filters' channel
    (see :class:`tablero.models.ActivityGap`): ``day``, ``gap``, ``state``, ``contacts`` and
    ``live`` when the caller ``reads`` contacts (for :func:`first_in_gaps`), ``day`` and
    ``amount`` (the measure's sum) when it reads the amount; per state with ``by_state``
    (``activity`` only). A last day cut short by ``asOf`` comes from its raw rows: for contacts,
    a row per contact with its gap from the facts' previous days, as in
    :func:`contact_activity`; for the amount, the part's total. ``counted_from``: the first day
    (as days since 1970-01-01) of the window holding ``rng``'s last day, when the caller counts
    contacts only by :func:`first_in_gaps` over windows: that day's rows that are not a first
    there are then left out before its raw rows are read. ``window_start(day)``: the first
    day (an SQL expression of a row's ``day``) of the window the caller counts that row in, when
    it counts by :func:`first_in_gaps` alone: the whole days' rows that are not a first there
    are left out too (fewer rows to group: the geography's per-state rows). Only where
    :func:`gaps_apply`.
    """
    if by_state and measure != "activity":
        raise ValueError("only the activity measure is counted per state")
    number = BY_STATE if by_state else ACTIVITY_MEASURES.index(measure)
    g = ActivityGap.__table__.c
    cut, raw_start = _cut_day(conn, f, rng)
    if reads == "amount":
        columns = [g.day, g.amount]
    else:
        columns = [g.day, g.gap, g.state, g.contacts, g.live]
    whole = select(*columns).where(
        g.organization_id == f.organization_id,
        g.channel == (f.channel or ALL_CHANNELS),
        g.measure == number,
        g.day >= epoch_day(rng.start),
        g.day < epoch_day(cut),
        *([] if window_start is None else [g.gap > g.day - window_start(g.day)]),
    )
    if raw_start >= rng.end_ts:
        return whole.subquery("gaps")
    tail = _gap_tail(f, cut, raw_start, rng.end_ts, measure, by_state, reads, counted_from)
    return union_all(whole, tail).subquery("gaps")


def _gap_tail(
    f: ReportFilters,
    cut,
    start_ts: int,
    end_ts: int,
    measure: str,
    by_state: bool,
    reads: str,
    counted_from=None,
) -> Select:
    """:func:`activity_gaps`' rows of the cut day's part ``[start_ts, end_ts)``, from only the
    raw rows that measure counts (messages and/or conversations): the part's total, or a row per
    contact with the measure there. The contacts are the cut day's ``contact_activity`` rows
    with the measure (they hold the whole day, so they include the part's contacts; their gap,
    state and deletion come with them; ``counted_from`` leaves out those not first in the
    window), each kept when it is among the contacts of the part's raw rows (read once)."""
    m, c = Message.__table__.c, Conversation.__table__.c
    day = epoch_day(cut)
    events = []  # (table's contact column, its conditions) of the rows the measure counts
    if measure in ("activity", "outbound", "campaign"):
        conditions = [*f.where(Message, which=None), m.sent_at >= start_ts, m.sent_at < end_ts]
        if measure != "activity":
            # a literal: the campaign sends' partial index (WHERE campaign_id IS NOT NULL AND
            # direction = 'OUTBOUND') then answers SQLite without a row lookup per message
            conditions.append(m.direction == literal_column("'OUTBOUND'"))
        if measure == "campaign":
            conditions.append(m.campaign_id.is_not(None))
        events.append((m.contact_id, conditions))
    if measure in ("activity", "commercial", "support"):
        conditions = [*f.where(Conversation, which=None), c.started_at >= start_ts,
                      c.started_at < end_ts]
        if measure != "activity":
            conditions.append(c.kind == measure.upper())
        events.append((c.contact_id, conditions))
    if reads == "amount":
        # the first kind of rows is the amount ("activity" sums messages)
        _, conditions = events[0]
        total = select(func.count()).where(*conditions).scalar_subquery()
        return select(literal(day).label("day"), total.label("amount"))
    a = ContactActivity.__table__.c
    previous = a[_PREVIOUS[measure]]
    gap = case(
        (or_(previous.is_(None), day - previous >= GAP_CAP), GAP_CAP), else_=day - previous
    )
    candidates = [
        a.organization_id == f.organization_id,
        a.channel == (f.channel or ALL_CHANNELS),
        a.day == day,
    ]
    if measure != "activity":
        candidates.append(a[measure] > 0)
    if counted_from is not None:
        candidates.append(or_(previous.is_(None), previous < counted_from))
    # the part's contacts, each kind of rows read once from its time index (covering: the
    # message index carries the direction, the conversation index the kind) and looked up per
    # candidate in memory, not a probe of the contact's rows per candidate. "contact_id + 0":
    # SQLite would otherwise walk the part's contacts (48,000 in the large set's twelve hours
    # before the bench's asOf) probing the day's rows for each, twice the time of walking the
    # candidates (20,000 there)
    candidate = a.contact_id + literal_column("0")
    happened = or_(
        *[candidate.in_(select(contact_id).where(*where)) for contact_id, where in events]
    )
    return select(
        literal(day).label("day"),
        gap.label("gap"),
        func.coalesce(a.state, "").label("state") if by_state else literal(ALL_STATES),
        literal(1).label("contacts"),
        case((a.deleted, 0), else_=1).label("live"),
    ).where(*candidates, happened)


def conversation_days(conn: Connection, f: ReportFilters, rng: DateRange) -> Subquery:
    """The ``conversation_day`` rows over ``rng``'s days under the filters' channel: ``day`` and
    the :data:`tablero.models.CONVERSATION_DAY_COUNTS` of the conversations started (a last day
    cut short by ``asOf``: counted from its conversations). Only where :func:`gaps_apply`."""
    d = ConversationDay.__table__.c
    cut, raw_start = _cut_day(conn, f, rng)
    whole = select(d.day, *[d[name] for name in CONVERSATION_DAY_COUNTS]).where(
        d.organization_id == f.organization_id,
        d.channel == (f.channel or ALL_CHANNELS),
        d.day >= epoch_day(rng.start),
        d.day < epoch_day(cut),
    )
    if raw_start >= rng.end_ts:
        return whole.subquery("conversation_days")
    c = Conversation.__table__.c
    support = c.kind == "SUPPORT"
    conditions = {
        "commercial": c.kind == "COMMERCIAL",
        "support": support,
        "positive": c.sentiment == "POSITIVE",
        "neutral": c.sentiment == "NEUTRAL",
        "negative": c.sentiment == "NEGATIVE",
        "support_new": and_(support, c.status == "NEW"),
        "support_waiting": and_(support, c.status == "WAITING"),
        "support_in_progress": and_(support, c.status == "IN_PROGRESS"),
    }
    tail = select(
        literal(epoch_day(cut)).label("day"),
        *[_count_if(conditions[name]).label(name) for name in CONVERSATION_DAY_COUNTS],
    ).where(
        *f.where(Conversation, which=None), c.started_at >= raw_start, c.started_at < rng.end_ts
    )
    return union_all(whole, tail).subquery("conversation_days")


def conversation_counts(conn: Connection, f: ReportFilters, rng: DateRange) -> dict[str, int]:
    """The :data:`tablero.models.CONVERSATION_DAY_COUNTS` of the conversations started in
    ``rng`` (the channel filter applies): from the conversation days where :func:`gaps_apply`,
    else from the conversations (their covering index)."""
    if gaps_apply(f):
        d = conversation_days(conn, f, rng)
        row = conn.execute(select(*[func.sum(d.c[n]) for n in CONVERSATION_DAY_COUNTS])).one()
        return {name: int(v or 0) for name, v in zip(CONVERSATION_DAY_COUNTS, row, strict=True)}
    c = Conversation.__table__.c
    rows = conn.execute(
        select(c.kind, c.status, c.sentiment, func.count())
        .where(
            *f.where(Conversation, which=None),
            c.started_at >= rng.start_ts,
            c.started_at < rng.end_ts,
        )
        .group_by(c.kind, c.status, c.sentiment)
    ).all()
    out = dict.fromkeys(CONVERSATION_DAY_COUNTS, 0)
    for kind, status, sentiment, n in rows:
        out[kind.lower()] += n
        if sentiment in ("POSITIVE", "NEUTRAL", "NEGATIVE"):
            out[sentiment.lower()] += n
        if kind == "SUPPORT" and status in ("NEW", "WAITING", "IN_PROGRESS"):
            out[f"support_{status.lower()}"] += n
    return out


def first_in_gaps(gaps: Subquery, first_day, last_day=None, column: str = "contacts"):
    """SQL: the sum of ``column`` (``contacts`` or ``live``) over the rows of
    :func:`activity_gaps` that are their contacts' first in the window ``[first_day, last_day)``
    (``first_day`` may be an SQL expression): the window's distinct contacts."""
    g = gaps.c
    conditions = [g.day >= first_day, g.gap > g.day - first_day]
    if last_day is not None:
        conditions.append(g.day < last_day)
    return func.sum(case((and_(*conditions), g[column]), else_=0))


def first_in_window(activity: Subquery, measure: str, first_day, last_day=None):
    """SQL: this row of :func:`contact_activity` is its contact's first with ``measure``
    (``activity``, ``outbound`` or ``campaign``) in the window of local days ``[first_day,
    last_day)`` (``first_day`` may be an SQL expression). Counting such rows counts distinct
    contacts."""
    a = activity.c
    previous = a[_PREVIOUS[measure]]
    conditions = [a.day >= first_day, or_(previous.is_(None), previous < first_day)]
    if last_day is not None:
        conditions.append(a.day < last_day)
    if measure != "activity":
        conditions.append(a[measure] > 0)
    return and_(*conditions)


def _raw_days(
    f: ReportFilters, start_ts: int, end_ts: int, timezone: str, with_contact: bool
) -> Select:
    """Messages and conversations of ``[start_ts, end_ts)`` under the filters, one row per
    contact and local day with the :data:`_MEASURES` (and the contact's state and deletion)."""
    m, c, k = Message.__table__.c, Conversation.__table__.c, Contact.__table__.c

    def day_of(column):
        return (local_seconds(column, timezone, start_ts, end_ts) // DAY).label("day")

    outbound = m.direction == "OUTBOUND"
    message_day, conversation_day = day_of(m.sent_at), day_of(c.started_at)
    raw = union_all(
        select(
            m.contact_id, message_day, func.count().label("messages"),
            _count_if(outbound).label("outbound"),
            _count_if(and_(outbound, m.campaign_id.is_not(None))).label("campaign"),
            literal(0).label("commercial"), literal(0).label("support"),
        )
        .where(*f.where(Message, which=None), m.sent_at >= start_ts, m.sent_at < end_ts)
        .group_by(m.contact_id, message_day),
        select(
            c.contact_id, conversation_day, literal(0), literal(0), literal(0),
            _count_if(c.kind == "COMMERCIAL"), _count_if(c.kind == "SUPPORT"),
        )
        .where(*f.where(Conversation, which=None), c.started_at >= start_ts, c.started_at < end_ts)
        .group_by(c.contact_id, conversation_day),
    ).subquery("raw")
    days = select(
        raw.c.contact_id, raw.c.day, *[func.sum(raw.c[name]).label(name) for name in _MEASURES[2:]]
    ).group_by(raw.c.contact_id, raw.c.day)
    if not with_contact:
        return days
    d = days.subquery("raw_days")
    return select(
        *[d.c[name] for name in _MEASURES], k.state, k.deleted_at.is_not(None).label("deleted")
    ).join_from(d, Contact, and_(k.organization_id == f.organization_id, k.id == d.c.contact_id))


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def attentions_series(
    conn: Connection, f: ReportFilters, rng: DateRange, kind: str, granularity=Granularity.DAY
) -> Series:
    """Conversations of ``kind`` started per bucket (from the conversation days where
    :func:`gaps_apply`)."""
    if gaps_apply(f):
        d = conversation_days(conn, f, rng)
        bucket = day_bucket_index(d.c.day, rng, granularity).label("bucket")
        rows = conn.execute(
            select(bucket, func.sum(d.c[kind.lower()])).group_by(bucket)
        ).all()
        return make_series(rng, granularity, rows)
    c = Conversation.__table__.c
    conditions = f.where(Conversation, time_column=c.started_at, which=None) + [
        c.started_at >= rng.start_ts,
        c.started_at < rng.end_ts,
        c.kind == kind,
    ]
    return _series(conn, c.started_at, conditions, rng, granularity)


def sends_series(
    conn: Connection, f: ReportFilters, rng: DateRange, granularity=Granularity.DAY
) -> Series:
    """Outbound messages sent per bucket (summed from the activity gaps, or from the contact
    activity facts where those do not apply)."""
    if gaps_apply(f):
        a = activity_gaps(conn, f, rng, "outbound", reads="amount")
        per_day = select(a.c.day, func.sum(a.c.amount).label("outbound")).group_by(a.c.day)
    else:
        a = contact_activity(f, rng, columns=["day", "outbound"], conn=conn)
        # by day first, in the facts' key order (no sort), then the few days into buckets
        per_day = select(a.c.day, func.sum(a.c.outbound).label("outbound")).group_by(a.c.day)
    per_day = per_day.subquery()
    bucket = day_bucket_index(per_day.c.day, rng, granularity).label("bucket")
    rows = conn.execute(select(bucket, func.sum(per_day.c.outbound)).group_by(bucket)).all()
    return make_series(rng, granularity, rows)


def daily_volume(conn: Connection, f: ReportFilters, rng: DateRange) -> DailyVolume:
    return DailyVolume(
        sends=sends_series(conn, f, rng),
        commercial=attentions_series(conn, f, rng, "COMMERCIAL"),
        support=attentions_series(conn, f, rng, "SUPPORT"),
    )


def attention_distribution(
    conn: Connection, f: ReportFilters, rng: DateRange
) -> AttentionDistribution:
    counts = conversation_counts(conn, f, rng)
    commercial, support = counts["commercial"], counts["support"]
    total = commercial + support
    return AttentionDistribution(
        total=total,
        commercial=commercial,
        support=support,
        commercial_share=commercial / total if total else None,
        support_share=support / total if total else None,
    )


def contact_base_at(conn: Connection, f: ReportFilters, instants: list[int]) -> list[int]:
    """The contact base at each instant: contacts created before it and not deleted by then.

    Counted as "created before t" minus "deleted before t (and created before t)", two range
    counts over the indexes ``(organization_id, created_at)`` and ``(organization_id,
    deleted_at, created_at)`` per instant, in one statement: index-only, without reading every
    contact row (or from the ``contact_day`` rollup, where it applies). The filters' group /
    origin / advisor apply to the contact.
    """
    return _contacts_at(conn, f, instants, deleted=True)


def contacts_created_before(conn: Connection, f: ReportFilters, instants: list[int]) -> list[int]:
    """The contacts created before each instant, deleted ones included (new contacts in
    ``[a, b)`` are the difference at ``b`` and ``a``), in one statement, like
    :func:`contact_base_at`."""
    return _contacts_at(conn, f, instants, deleted=False)


def _contacts_at(conn: Connection, f: ReportFilters, instants: list[int], deleted: bool):
    k = Contact.__table__.c
    conditions = f.without("channel").where(Contact, which=None)

    def count(*more):
        return select(func.count()).select_from(Contact.__table__).where(
            *conditions, *more
        ).scalar_subquery()

    if gaps_apply(f.without("channel")):
        return _contacts_from_days(conn, f, instants, count, deleted)
    columns = [
        count(k.created_at < t) - count(k.deleted_at < t, k.created_at < t)
        if deleted else count(k.created_at < t)
        for t in instants
    ]
    return [int(v) for v in conn.execute(select(*columns)).one()]


def _contacts_from_days(
    conn: Connection, f: ReportFilters, instants: list[int], count, deleted: bool
):
    """:func:`_contacts_at` from the ``contact_day`` rollup for the whole local days before
    each instant, and from the contacts created (or deleted) in that day's part before it
    (short index ranges). ``count(*conditions)``: the contacts' count under conditions;
    ``deleted``: subtract the contacts deleted before each instant (the contact base)."""
    k, d = Contact.__table__.c, ContactDay.__table__.c
    tz = ZoneInfo(f.timezone)

    def rolled_up(*more):
        return select(func.coalesce(func.sum(d.contacts), 0)).where(
            d.organization_id == f.organization_id, *more
        ).scalar_subquery()

    columns = []
    for t in instants:
        day = datetime.fromtimestamp(t, tz).date()
        midnight, before = local_midnight(day, tz), epoch_day(day)
        created = rolled_up(d.created_day < before)
        if midnight < t:  # the day's part before t
            created = created + count(k.created_at >= midnight, k.created_at < t)
        if not deleted:
            columns.append(created)
            continue
        gone = rolled_up(d.created_day < before, d.deleted_day != NOT_DELETED,
                         d.deleted_day < before)
        if midnight < t:
            gone = (
                gone
                + count(k.deleted_at >= midnight, k.deleted_at < t, k.created_at < t)
                # (deleted before the day, created in its part: rows written that way)
                + count(k.created_at >= midnight, k.created_at < t, k.deleted_at < midnight)
            )
        columns.append(created - gone)
    return [int(v) for v in conn.execute(select(*columns)).one()]


def interacting_contacts(f: ReportFilters, rng: DateRange) -> Select:
    """Contact ids (distinct) with a message or an attention (conversation started) in the
    range."""
    a = contact_activity(f, rng, columns=["contact_id", "day", "prev_day"])
    return select(a.c.contact_id).where(first_in_window(a, "activity", epoch_day(rng.start)))


def active_contacts(conn: Connection, f: ReportFilters, measure: str) -> Comparison:
    """Distinct contacts with ``measure`` (``activity``: a message or a conversation started;
    ``outbound``: an outbound message; ``campaign``: a campaign message) in the current and in
    the previous period: counts of each contact's first row in each, one statement over both
    (``commercial`` and ``support`` too: a conversation of that kind started)."""
    cur, prev = f.current, f.previous
    both = DateRange(prev.start, cur.end, prev.start_ts, cur.end_ts, cur.timezone)
    if gaps_apply(f, cur, prev):
        g = activity_gaps(conn, f, both, measure, counted_from=epoch_day(cur.start))
        current, previous = conn.execute(
            select(
                first_in_gaps(g, epoch_day(cur.start)),
                first_in_gaps(g, epoch_day(prev.start), epoch_day(cur.start)),
            )
        ).one()
        return Comparison.of(int(current or 0), int(previous or 0))
    columns = ["day", _PREVIOUS[measure]] + ([] if measure == "activity" else [measure])
    a = contact_activity(f, both, columns=columns, conn=conn)
    current_day, previous_day = epoch_day(cur.start), epoch_day(prev.start)
    current, previous = conn.execute(
        select(
            _count_if(first_in_window(a, measure, current_day)),
            _count_if(first_in_window(a, measure, previous_day, current_day)),
        )
    ).one()
    return Comparison.of(int(current or 0), int(previous or 0))


def attention_contacts(conn: Connection, f: ReportFilters, kind: str) -> Comparison:
    """Distinct contacts with a conversation of ``kind`` started in the current and in the
    previous period (the conversation covering index ``(organization_id, started_at, kind,
    contact_id, ...)`` over both, one statement; the activity gaps where they apply)."""
    if gaps_apply(f, f.current, f.previous):
        return active_contacts(conn, f, kind.lower())
    c = Conversation.__table__.c

    def distinct_in(rng: DateRange):
        in_range = and_(c.started_at >= rng.start_ts, c.started_at < rng.end_ts)
        return func.count(distinct(case((in_range, c.contact_id))))

    current, previous = conn.execute(
        select(distinct_in(f.current), distinct_in(f.previous)).where(
            *f.where(Conversation, which=None),
            c.started_at >= f.previous.start_ts,
            c.started_at < f.current.end_ts,
            c.kind == kind,
        )
    ).one()
    return Comparison.of(int(current), int(previous))


def interacting_geography(conn: Connection, f: ReportFilters, rng: DateRange) -> Geography:
    """Distinct contacts with a message or an attention in ``rng``, per state (deleted contacts
    left out): the geography of the home page and the contacts behaviour panel.

    Equal to ``geography(conn, f, interacting_contacts(f, rng))``, read from the activity facts'
    copies of each contact's state and deletion instead of joining every contact (or from the
    activity gaps' rows per state, where they apply).
    """
    if gaps_apply(f, rng):
        g = activity_gaps(
            conn, f, rng, "activity", by_state=True, counted_from=epoch_day(rng.start),
            window_start=lambda day: epoch_day(rng.start),
        )
        rows = dict(
            conn.execute(
                select(g.c.state, first_in_gaps(g, epoch_day(rng.start), column="live"))
                .group_by(g.c.state)
            ).all()
        )
        return _geography({state or None: n for state, n in rows.items()})
    a = contact_activity(f, rng, columns=["day", "prev_day", "state", "deleted"], conn=conn)
    rows = dict(
        conn.execute(
            select(a.c.state, func.count())
            .where(first_in_window(a, "activity", epoch_day(rng.start)), a.c.deleted.is_(False))
            .group_by(a.c.state)
        ).all()
    )
    return _geography(rows)


def _geography(rows: dict) -> Geography:
    states = [StateCount(uf=uf, name=name, contacts=int(rows.get(uf, 0))) for uf, name in STATES.items()]
    unknown = sum(int(v) for key, v in rows.items() if key not in STATES)
    return Geography(states=states, unknown=unknown, total=sum(s.contacts for s in states) + unknown)


def geography(conn: Connection, f: ReportFilters, contact_ids: Select | None = None) -> Geography:
    """Distinct contacts per state; restricted to ``contact_ids`` (a SELECT of ids) when given.

    Deleted contacts are left out; the filters' group/origin apply to the contact.
    """
    k = Contact.__table__.c
    conditions = f.without("channel").where(Contact, which=None) + [k.deleted_at.is_(None)]
    if contact_ids is not None:
        ids = contact_ids.subquery()
        conditions.append(k.id.in_(select(ids.c[0])))
    rows = dict(
        conn.execute(select(k.state, func.count()).where(*conditions).group_by(k.state)).all()
    )
    return _geography(rows)


def conversation_heatmap(
    conn: Connection,
    f: ReportFilters,
    rng: DateRange,
    *,
    commercial: bool = False,
    rollup: bool = True,
) -> Heatmap:
    """Conversations started in ``rng`` (``commercial``: the commercial ones) by local ISO
    weekday x hour, all 7 x 24 cells: from the ``conversation_hour`` rollup (a row per local
    hour) when no group, origin or advisor filter applies (and ``rollup``, and
    :data:`READ_GAPS`), the part of a last day cut short by asOf from the conversations; else
    from the conversations."""
    c = Conversation.__table__.c
    weekday, hour = heatmap_cells(c.started_at, rng)
    weekday, hour = weekday.label("weekday"), hour.label("hour")
    kind = [c.kind == "COMMERCIAL"] if commercial else []
    conditions = [
        *f.where(Conversation, which=None), c.started_at >= rng.start_ts,
        c.started_at < rng.end_ts, *kind,
    ]
    rollup_applies = rollup and READ_GAPS and all(
        value is None for value in (f.group_id, f.origin, f.advisor_id, f.scope_advisor_id)
    )
    if not rollup_applies:
        rows = conn.execute(
            select(weekday, hour, func.count()).where(*conditions).group_by(weekday, hour)
        ).all()
        return make_heatmap(rows)
    cut, raw_start = _cut_day(conn, f, rng)
    h = ConversationHour.__table__.c
    parts = [
        select(
            ((h.hour // 24 + 3) % 7 + 1).label("weekday"),
            (h.hour % 24).label("hour"),
            (h.commercial if commercial else h.conversations).label("n"),
        ).where(
            h.organization_id == f.organization_id,
            h.channel == (f.channel or ALL_CHANNELS),
            h.hour >= epoch_day(rng.start) * 24,
            h.hour < epoch_day(cut) * 24,
        )
    ]
    if raw_start < rng.end_ts:
        # the tail's bounds alone: with the range's start too, SQLite ranges the index from the
        # first lower bound written (the whole range, not the tail)
        tail = [
            *f.where(Conversation, which=None), c.started_at >= raw_start,
            c.started_at < rng.end_ts, *kind,
        ]
        parts.append(select(weekday, hour, func.count().label("n")).where(*tail)
                     .group_by(weekday, hour))
    units = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("units")
    rows = conn.execute(
        select(units.c.weekday, units.c.hour, func.sum(units.c.n))
        .group_by(units.c.weekday, units.c.hour)
    ).all()
    return make_heatmap(rows)
