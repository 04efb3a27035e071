"""Campaign sends: how far each message got, and distinct contacts reached per status and journey.

The contacts behaviour panel's funnels count *distinct contacts* over the campaign messages of a
period. Two derived tables serve them (both rebuilt per contact at ingestion,
:mod:`tablero.derived`):

* ``campaign_send``: one row per campaign message with its local day and its contact's next
  commercial conversation and order (the conversion checks compare those on the row);
* ``campaign_gap``: per channel, track, day and gap, the contacts whose sends of the track fall
  on that day (:class:`tablero.models.CampaignGap`). A window's distinct contacts of a track are
  the rows of its days whose gap reaches back before the window: :func:`campaign_reach` reads
  a few hundred rows per track instead of every send of the period.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from .activity import _cut_day
from .filters import ReportFilters
from .models import (
    ALL_CHANNELS,
    CAMPAIGN_RANKS,
    CAMPAIGN_STATUS_RANK,
    GAP_CAP,
    JOURNEY_TRACK_PREFIX,
    NO_JOURNEY_TRACK,
    CampaignGap,
    CampaignSend,
)
from .periods import DateRange
from .sql import table_alias
from .timeseries import epoch_day

READ_CAMPAIGN_GAPS = True
"""Read distinct contacts from ``campaign_gap`` where :func:`campaign_gaps_apply` (tests turn it
off to check that ``campaign_send`` gives the same figures)."""


def campaign_rank_sql(status: str) -> str:
    """SQL text: the :data:`CAMPAIGN_STATUS_RANK` of the status column ``status`` (1 for any
    other or no status)."""
    def statuses(rank: int) -> str:
        return ", ".join(f"'{s}'" for s, r in CAMPAIGN_STATUS_RANK.items() if r == rank)

    whens = " ".join(
        f"WHEN {status} IN ({statuses(rank)}) THEN {rank}"
        for rank in sorted(set(CAMPAIGN_STATUS_RANK.values()), reverse=True)
        if rank > 1
    )
    return f"(CASE {whens} ELSE 1 END)"


def campaign_rank(status) -> ColumnElement[int]:
    """SQL expression: the :data:`CAMPAIGN_STATUS_RANK` of the status column ``status``."""
    ranks = sorted(set(CAMPAIGN_STATUS_RANK.values()), reverse=True)
    return case(
        *[
            (status.in_([s for s, r in CAMPAIGN_STATUS_RANK.items() if r == rank]), rank)
            for rank in ranks
            if rank > 1
        ],
        else_=1,
    )


def campaign_gaps_apply(f: ReportFilters, rng: DateRange) -> bool:
    """``campaign_gap`` can answer for these filters: no group, origin, advisor or AGENT scope
    (it is kept per organization and channel only) and a window of at most :data:`GAP_CAP`
    days."""
    return (
        READ_CAMPAIGN_GAPS
        and f.group_id is None
        and f.origin is None
        and f.advisor_id is None
        and f.scope_advisor_id is None
        and rng.days <= GAP_CAP
    )


@dataclass(frozen=True)
class CampaignReach:
    """Distinct contacts sent campaign messages in a window: ``ranks[r]``, those with a message
    of status rank ``r`` or beyond (``ranks[1]``: every contact sent one); ``journeys[j]``, those
    sent a message of a campaign of journey ``j`` (None: campaigns without a journey)."""

    ranks: dict[int, int]
    journeys: dict[str | None, int]


def campaign_reach(conn: Connection, f: ReportFilters, rng: DateRange) -> CampaignReach:
    """:class:`CampaignReach` of the campaign messages sent in ``rng`` under the filters'
    channel, in one statement: the whole days before the last one from ``campaign_gap``, and
    the part of a last day cut short by ``rng``'s end (asOf) from ``campaign_send``, a contact
    counted there when it has no send of the track earlier in the window. Only where
    :func:`campaign_gaps_apply`. Once per request and window: the message funnel and the
    journey funnel read the same reach (:meth:`ReportFilters.remember`)."""
    return f.remember(
        (campaign_reach, f.channel, rng.start_ts, rng.end_ts), lambda: _reach(conn, f, rng)
    )


def _reach(conn: Connection, f: ReportFilters, rng: DateRange) -> CampaignReach:
    g = CampaignGap.__table__.c
    first = epoch_day(rng.start)
    cut, tail_start = _cut_day(conn, f, rng, nothing_after=_nothing_sent_after)
    whole = select(
        g.track.label("track"),
        func.sum(case((g.gap > g.day - first, g.contacts), else_=0)).label("contacts"),
    ).where(
        g.organization_id == f.organization_id,
        g.channel == (f.channel or ALL_CHANNELS),
        g.day >= first,
        g.day < epoch_day(cut),
    ).group_by(g.track)
    parts = [whole]
    if tail_start < rng.end_ts:
        if f.channel is None:
            parts += _tail_from_previous_days(f, first, tail_start, rng.end_ts)
        else:  # the previous days are over every channel: probe the channel's earlier sends
            parts += _tail(f, rng.start_ts, tail_start, rng.end_ts)
    units = union_all(*parts).subquery("units") if len(parts) > 1 else whole.subquery("units")
    rows = conn.execute(
        select(units.c.track, func.sum(units.c.contacts)).group_by(units.c.track)
    ).all()
    counts = {track: int(n or 0) for track, n in rows}
    ranks = {rank: counts.get(str(rank), 0) for rank in CAMPAIGN_RANKS}
    journeys = {
        (None if track == NO_JOURNEY_TRACK else track[len(JOURNEY_TRACK_PREFIX):]): n
        for track, n in counts.items()
        if n and (track == NO_JOURNEY_TRACK or track.startswith(JOURNEY_TRACK_PREFIX))
    }
    return CampaignReach(ranks, journeys)


def _nothing_sent_after(conn: Connection, organization_id: int, ts: int) -> bool:
    """No campaign message sent at or after ``ts`` (one index probe): asOf's day is then read
    whole from the rollup."""
    s = CampaignSend.__table__.c
    return not conn.execute(
        select(exists().where(s.organization_id == organization_id, s.sent_at >= ts))
    ).scalar()


def _tail_from_previous_days(
    f: ReportFilters, first_day: int, tail_start: int, end_ts: int
) -> list:
    """Per track, the contacts sent a message of it in ``[tail_start, end_ts)`` (the part of
    the window's last day before its end) whose previous day with one is before the window's
    first day (or none): their first in the window is in the part. Read from the part's own
    sends through the period index, which carries each send's previous days
    (``prev_rank{r}_day``, ``prev_journey_day``; over every channel, so for the all-channels
    reach only)."""
    s = CampaignSend.__table__.c
    in_tail = [s.organization_id == f.organization_id, s.sent_at >= tail_start,
               s.sent_at < end_ts]

    def first_in_window(previous_day):
        return or_(previous_day.is_(None), previous_day < first_day)

    parts = [
        select(
            literal(str(rank)).label("track"),
            func.count(func.distinct(case(
                (and_(s.rank >= rank, first_in_window(s[f"prev_rank{rank}_day"])), s.contact_id)
            ))).label("contacts"),
        ).where(*in_tail)
        for rank in CAMPAIGN_RANKS
    ]
    track = case((s.journey.is_(None), NO_JOURNEY_TRACK), else_=JOURNEY_TRACK_PREFIX + s.journey)
    parts.append(
        select(track.label("track"), func.count(func.distinct(s.contact_id)).label("contacts"))
        .where(*in_tail, first_in_window(s.prev_journey_day))
        .group_by(track)
    )
    return parts


def _tail(f: ReportFilters, start_ts: int, tail_start: int, end_ts: int) -> list:
    """Per track, the contacts sent a message of it in ``[tail_start, end_ts)`` and none in
    ``[start_ts, tail_start)`` (their first in the window is in the tail). The tail's contacts
    (with their best rank there) are looked up once each among their earlier sends of the
    window through the covering index ``(organization, contact, sent, rank, channel,
    journey)``: the best earlier rank decides every rank track; each tail (journey, contact)
    pair gets a probe of its own."""
    s = table_alias(CampaignSend, "tail_send")
    e = table_alias(CampaignSend, "earlier_send")
    channel = [] if f.channel is None else [s.c.channel == f.channel]
    earlier_channel = [] if f.channel is None else [e.c.channel == f.channel]
    in_tail = [
        s.c.organization_id == f.organization_id,
        s.c.sent_at >= tail_start,
        s.c.sent_at < end_ts,
        *channel,
    ]
    earlier = [
        e.c.organization_id == f.organization_id,
        e.c.sent_at >= start_ts,
        e.c.sent_at < tail_start,
        *earlier_channel,
    ]
    tail = (
        select(s.c.contact_id, func.max(s.c.rank).label("rank"))
        .where(*in_tail)
        .group_by(s.c.contact_id)
        .cte("tail_contacts")
        .prefix_with("MATERIALIZED")
    )
    before = (
        select(func.max(e.c.rank))
        .where(*earlier, e.c.contact_id == tail.c.contact_id)
        .scalar_subquery()
    )
    best = (
        select(tail.c.rank.label("tail_rank"), func.coalesce(before, 0).label("earlier_rank"))
        .cte("tail_ranks")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        select(
            literal(str(rank)).label("track"),
            func.sum(
                case((and_(best.c.tail_rank >= rank, best.c.earlier_rank < rank), 1), else_=0)
            ).label("contacts"),
        )
        for rank in CAMPAIGN_RANKS
    ]
    pairs = select(s.c.journey, s.c.contact_id).where(*in_tail).distinct().subquery("tail_pairs")
    journey = pairs.c.journey
    same_journey = or_(
        and_(journey.is_(None), e.c.journey.is_(None)), e.c.journey == journey
    )  # the campaigns without a journey are one track
    track = case((journey.is_(None), NO_JOURNEY_TRACK), else_=JOURNEY_TRACK_PREFIX + journey)
    parts.append(
        select(track.label("track"), func.count().label("contacts"))
        .where(  # EXISTS of a column, not of "*": the covering index answers it
            ~select(e.c.contact_id)
            .where(*earlier, e.c.contact_id == pairs.c.contact_id, same_journey)
            .exists()
        )
        .group_by(track)
    )
    return parts
