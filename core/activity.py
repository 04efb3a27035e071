"""Activity figures shared by the home page and the contacts behaviour panel (one implementation).

* sends: outbound messages (any channel, any sender: campaigns, advisors, bots) sent in the range;
* commercial / support attentions: conversations of that kind *started* in the range;
* geography: distinct contacts per Brazilian state (from the phone's DDD), all 27 states always
  present, plus the contacts whose number has no Brazilian DDD under ``unknown``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import Select, Subquery, and_, case, distinct, func, literal, select, union_all
from sqlalchemy.engine import Connection

from .filters import ReportFilters
from .geo import STATES
from .models import Contact, ContactActivity, Conversation, Message
from .periods import DateRange, local_midnight
from .timeseries import (
    DAY,
    Granularity,
    Series,
    bucket_index,
    day_bucket_index,
    epoch_day,
    local_seconds,
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


def contact_activity(f: ReportFilters, rng: DateRange, *, with_contact: bool = False) -> Subquery:
    """Per contact, local day and channel, the contact's activity in ``rng`` under the filters:
    columns ``contact_id``, ``day`` (local date as days since 1970-01-01), ``channel``,
    ``messages``, ``outbound``, ``campaign``, ``commercial``, ``support`` (see
    :class:`tablero.models.ContactActivity`). A contact may have several rows (days, channels).

    Whole days come from the ``contact_activity`` facts; a last day cut short by ``asOf`` is
    aggregated from its messages and conversations, so a past dashboard stays exact. Filters
    the facts cannot apply (an advisor, an AGENT's scope) make the whole range come from the
    raw rows, so the answer is the same, only slower.
    """
    tz = ZoneInfo(rng.timezone)
    a = ContactActivity.__table__.c
    parts = []
    if f.advisor_id is None and f.scope_advisor_id is None:
        cut = datetime.fromtimestamp(rng.end_ts, tz).date()  # first day not wholly inside
        parts.append(
            select(
                a.contact_id, a.day, a.channel, a.messages, a.outbound, a.campaign,
                a.commercial, a.support, *([a.state, a.deleted] if with_contact else []),
            ).where(
                *f.where(ContactActivity, which=None),
                a.day >= epoch_day(rng.start),
                a.day < epoch_day(cut),
            )
        )
        raw_start = max(rng.start_ts, local_midnight(cut, tz))
    else:
        raw_start = rng.start_ts
    if raw_start < rng.end_ts:
        m, c, k = Message.__table__.c, Conversation.__table__.c, Contact.__table__.c
        contact_columns = [k.state, k.deleted_at.is_not(None)] if with_contact else []

        def day_of(column):
            return local_seconds(column, rng.timezone, raw_start, rng.end_ts) // DAY

        def joined(select_, table):
            if not with_contact:
                return select_
            return select_.join_from(
                table, Contact,
                and_(k.organization_id == table.c.organization_id, k.id == table.c.contact_id),
            )

        outbound = m.direction == "OUTBOUND"
        campaign = and_(outbound, m.campaign_id.is_not(None))
        message_day = day_of(m.sent_at)
        parts.append(
            joined(
                select(
                    m.contact_id, message_day, m.channel, func.count(), _count_if(outbound),
                    _count_if(campaign), literal(0), literal(0), *contact_columns,
                ),
                Message.__table__,
            )
            .where(*f.where(Message, which=None), m.sent_at >= raw_start, m.sent_at < rng.end_ts)
            .group_by(m.contact_id, message_day, m.channel, *contact_columns)
        )
        conversation_day = day_of(c.started_at)
        parts.append(
            joined(
                select(
                    c.contact_id, conversation_day, c.channel, literal(0), literal(0), literal(0),
                    _count_if(c.kind == "COMMERCIAL"), _count_if(c.kind == "SUPPORT"),
                    *contact_columns,
                ),
                Conversation.__table__,
            )
            .where(
                *f.where(Conversation, which=None),
                c.started_at >= raw_start,
                c.started_at < rng.end_ts,
            )
            .group_by(c.contact_id, conversation_day, c.channel, *contact_columns)
        )
    first = parts[0]
    labelled = first.with_only_columns(
        *[column.label(name) for column, name in zip(first.selected_columns, _ACTIVITY_COLUMNS)]
    )
    if len(parts) == 1:
        return labelled.subquery("activity")
    return union_all(labelled, *parts[1:]).subquery("activity")


_ACTIVITY_COLUMNS = (
    "contact_id", "day", "channel", "messages", "outbound", "campaign", "commercial", "support",
    "state", "deleted",
)


def _count_if(condition):
    return func.sum(case((condition, 1), else_=0))


def attentions_series(
    conn: Connection, f: ReportFilters, rng: DateRange, kind: str, granularity=Granularity.DAY
) -> Series:
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
    """Outbound messages sent per bucket (summed from the contact activity facts)."""
    a = contact_activity(f, rng)
    bucket = day_bucket_index(a.c.day, rng, granularity).label("bucket")
    rows = conn.execute(select(bucket, func.sum(a.c.outbound)).group_by(bucket)).all()
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
    c = Conversation.__table__.c
    rows = dict(
        conn.execute(
            select(c.kind, func.count())
            .where(
                *f.where(Conversation, which=None),
                c.started_at >= rng.start_ts,
                c.started_at < rng.end_ts,
            )
            .group_by(c.kind)
        ).all()
    )
    commercial, support = int(rows.get("COMMERCIAL", 0)), int(rows.get("SUPPORT", 0))
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
    contact row. The filters' group / origin / advisor apply to the contact.
    """
    k = Contact.__table__.c
    conditions = f.without("channel").where(Contact, which=None)

    def count(*more):
        return select(func.count()).select_from(Contact.__table__).where(
            *conditions, *more
        ).scalar_subquery()

    columns = [
        count(k.created_at < t) - count(k.deleted_at < t, k.created_at < t) for t in instants
    ]
    return [int(v) for v in conn.execute(select(*columns)).one()]


def interacting_contacts(f: ReportFilters, rng: DateRange) -> Select:
    """Contact ids (distinct) with a message or an attention (conversation started) in the
    range."""
    a = contact_activity(f, rng)
    return select(a.c.contact_id).distinct()


def interacting_geography(conn: Connection, f: ReportFilters, rng: DateRange) -> Geography:
    """Distinct contacts with a message or an attention in ``rng``, per state (deleted contacts
    left out): the geography of the home page and the contacts behaviour panel.

    Equal to ``geography(conn, f, interacting_contacts(f, rng))``, read from the activity facts'
    copies of each contact's state and deletion instead of joining every contact.
    """
    a = contact_activity(f, rng, with_contact=True)
    rows = dict(
        conn.execute(
            select(a.c.state, func.count(distinct(a.c.contact_id)))
            .where(a.c.deleted.is_(False))
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
