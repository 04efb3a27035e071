"""Activity figures shared by the home page and the contacts behaviour panel (one implementation).

* sends: outbound messages (any channel, any sender: campaigns, advisors, bots) sent in the range;
* commercial / support attentions: conversations of that kind *started* in the range;
* geography: distinct contacts per Brazilian state (from the phone's DDD), all 27 states always
  present, plus the contacts whose number has no Brazilian DDD under ``unknown``.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select, union
from sqlalchemy.engine import Connection

import strawberry

from .filters import ReportFilters
from .geo import STATES
from .models import Contact, Conversation, Message
from .periods import DateRange
from .timeseries import Granularity, Series, bucket_index, make_series


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
    m = Message.__table__.c
    conditions = f.where(Message, which=None) + [
        m.sent_at >= rng.start_ts,
        m.sent_at < rng.end_ts,
        m.direction == "OUTBOUND",
    ]
    return _series(conn, m.sent_at, conditions, rng, granularity)


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


def interacting_contacts(f: ReportFilters, rng: DateRange) -> Select:
    """Contact ids with a message or an attention (conversation started) in the range."""
    m, c = Message.__table__.c, Conversation.__table__.c
    return union(
        select(m.contact_id.label("contact_id")).where(
            *f.where(Message, which=None), m.sent_at >= rng.start_ts, m.sent_at < rng.end_ts
        ),
        select(c.contact_id.label("contact_id")).where(
            *f.where(Conversation, which=None),
            c.started_at >= rng.start_ts,
            c.started_at < rng.end_ts,
        ),
    )


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
    states = [StateCount(uf=uf, name=name, contacts=int(rows.get(uf, 0))) for uf, name in STATES.items()]
    unknown = sum(int(v) for key, v in rows.items() if key not in STATES)
    return Geography(states=states, unknown=unknown, total=sum(s.contacts for s in states) + unknown)
