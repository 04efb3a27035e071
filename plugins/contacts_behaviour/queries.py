"""The contacts behaviour panel's figures: plain blocking functions ``(conn, filters, ...)``.

Every figure is aggregated by the database (distinct counts, sums, group-bys); nothing loads rows
into Python to count them. The shared activity figures (daily volume, attention distribution,
geography, interacting contacts) come from the core, so the home page and this panel agree.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, and_, case, func, literal, null, or_, select, union_all
from sqlalchemy.engine import Connection
from tablero import (
    CAMPAIGN_RANKS,
    AttentionDistribution,
    BadUserInput,
    Campaign,
    CampaignSend,
    Comparison,
    Conversation,
    DailyVolume,
    DateRange,
    Geography,
    Granularity,
    Heatmap,
    Message,
    ReportFilters,
    active_contacts,
    activity_gaps,
    attention_contacts,
    attention_distribution,
    bucket_starts,
    campaign_gaps_apply,
    campaign_reach,
    contact_activity,
    contact_base_at,
    contacts_created_before,
    conversation_heatmap,
    daily_volume,
    day_bucket_index,
    epoch_day,
    first_in_gaps,
    first_in_window,
    gaps_apply,
    interacting_geography,
    make_series,
    table_alias,
)

from . import stages
from .stages import (
    DAY_SECONDS,
    DEFAULT_ATTRIBUTION_DAYS,
    DEFAULT_STAGES,
    MAX_ATTRIBUTION_DAYS,
    STATUS_RANK,
    FunnelScope,
    FunnelStage,
    campaign_message_conditions,
    converting_sends,
    level_counts,
    reached_contacts,
    send_conditions,
    send_converted,
)
from .types import (
    ContactsBehaviourFunnelLevel,
    ContactsBehaviourInteractions,
    ContactsBehaviourJourneyFunnel,
    ContactsBehaviourJourneyRow,
    ContactsBehaviourMessageFunnel,
    ContactsBehaviourMonth,
)

NO_JOURNEY_LABEL = "(no journey)"
ALL_JOURNEYS_LABEL = "All journeys"
MONTHS_OVER_TIME = 6


def panel_filters(f: ReportFilters) -> ReportFilters:
    """The panel is filtered by period, group, origin and channel; an advisor is refused rather
    than silently ignored (the panel is about contacts, not about one advisor's work)."""
    if f.advisor_id is not None:
        raise BadUserInput("the contacts behaviour panel is not filtered by advisor")
    return f


def attribution_days(value: int | str | None) -> int:
    """The attribution window in days: 1..90, default 7; anything else is BAD_USER_INPUT."""
    if value is None or value == "":
        return DEFAULT_ATTRIBUTION_DAYS
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise BadUserInput(
            f"attributionDays must be a whole number of days, not {value!r}"
        ) from None
    if not 1 <= days <= MAX_ATTRIBUTION_DAYS:
        raise BadUserInput(
            f"attributionDays must be between 1 and {MAX_ATTRIBUTION_DAYS}; got {days}"
        )
    return days


def interactions(conn: Connection, f: ReportFilters) -> ContactsBehaviourInteractions:
    cur, prev = f.current, f.previous
    base_now, base_before = contact_base_at(conn, f, [cur.end_ts, prev.end_ts])

    # The core's figures: each contact counted on its first campaign (or commercial, support)
    # day in each period, no DISTINCT, from the activity gaps (or, with a group or origin
    # filter, the contact activity facts and the conversations).
    reached = active_contacts(conn, f, "campaign")
    commercial = attention_contacts(conn, f, "COMMERCIAL")
    support = attention_contacts(conn, f, "SUPPORT")
    return ContactsBehaviourInteractions(
        contact_base=Comparison.of(base_now, base_before),
        reached_contacts=reached,
        commercial_contacts=commercial,
        support_contacts=support,
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def message_funnel(
    conn: Connection, f: ReportFilters, stages: list[FunnelStage], days: int
) -> ContactsBehaviourMessageFunnel:
    """Distinct contacts at each funnel level, for campaign messages sent in the period."""
    window, as_of = days * DAY_SECONDS, f.period.as_of_ts
    if _reads_gaps(f) and tuple(stages) == DEFAULT_STAGES:
        # the default levels: ranks 1..4 from the gaps, then those of rank 4 converted
        reach = campaign_reach(conn, f, f.current)
        counts = [reach.ranks[rank] for rank in CAMPAIGN_RANKS]
        counts.append(_converted_and_interacted(conn, f, window, as_of))
    else:
        scope = FunnelScope(
            filters=f,
            range=f.current,
            contacts=reached_contacts(f, f.current, window, as_of),
            attribution_seconds=window,
            as_of_ts=as_of,
        )
        counts = level_counts(conn, scope, stages)
    levels = []
    for i, (stage, count) in enumerate(zip(stages, counts)):
        above = counts[i - 1] if i else count
        levels.append(
            ContactsBehaviourFunnelLevel(
                key=stage.key,
                label=stage.label,
                description=stage.description,
                contacts=count,
                rate_of_first=_rate(count, counts[0]),
                rate_of_previous=_rate(count, above),
            )
        )
    return ContactsBehaviourMessageFunnel(attribution_days=days, levels=levels)


def _reads_gaps(f: ReportFilters) -> bool:
    """The funnels read the campaign gaps (per organization and channel) for these filters."""
    return stages.READ_FACTS and campaign_gaps_apply(f, f.current)


def _converted_and_interacted(conn: Connection, f: ReportFilters, window: int, as_of: int) -> int:
    """Contacts with a campaign message of the period followed by a commercial conversation or
    an order within the window (by asOf), and with one clicked or replied: the converted level
    of the default funnel. Only the period's sends that are either are grouped per contact,
    read from the partial index of the converting sends (``tablero.CONVERTING_SENDS``)."""
    s = CampaignSend.__table__.c
    interacted = s.rank >= STATUS_RANK["CLICKED"]
    converted = send_converted(window, as_of)
    contacts = (
        select(s.contact_id)
        .where(*send_conditions(f, f.current), converting_sends(), or_(interacted, converted))
        .group_by(s.contact_id)
        .having(
            func.max(case((interacted, 1), else_=0)) == 1,
            func.max(case((converted, 1), else_=0)) == 1,
        )
        .subquery("converted")
    )
    return int(conn.execute(select(func.count()).select_from(contacts)).scalar() or 0)


def _journeys_from_gaps(
    conn: Connection, f: ReportFilters, window: int
) -> tuple[dict[str | None, int], int, dict[str | None, int], int]:
    """Reached contacts per journey and overall from the campaign gaps; the converted from the
    period's sends followed by a commercial conversation within the window (only those grouped,
    per journey and overall, in one statement)."""
    reach = campaign_reach(conn, f, f.current)
    s = CampaignSend.__table__.c
    pairs = (
        select(s.journey, s.contact_id)
        .where(
            *send_conditions(f, f.current),
            converting_sends(),
            send_converted(window, f.period.as_of_ts, orders=False),
        )
        .distinct()
        .cte("converted_pairs")
    )
    rows = conn.execute(
        union_all(
            select(literal(0), pairs.c.journey, func.count()).group_by(pairs.c.journey),
            select(literal(1), null(), func.count(func.distinct(pairs.c.contact_id))),
        )
    ).all()
    converted = {j: int(n) for is_total, j, n in rows if not is_total}
    converted_total = next(int(n) for is_total, _, n in rows if is_total)
    return reach.journeys, reach.ranks[1], converted, converted_total


def _per_journey(
    conn: Connection, f: ReportFilters, touches: Select
) -> tuple[dict[str | None, int], int]:
    """``touches``: a SELECT of (campaign_id, contact_id). Distinct contacts per journey of the
    campaign, and overall, in one statement.

    The touches are reduced to distinct (campaign, contact) pairs and materialized *before* the
    campaign table joins in: joined earlier, PostgreSQL walks the campaign index
    (organization, campaign, contact) for its order and reads every campaign message ever sent
    to filter the period.
    """
    source = touches.subquery()
    pairs = (
        select(source.c.campaign_id, source.c.contact_id)
        .group_by(source.c.campaign_id, source.c.contact_id)
        .cte("campaign_contacts")
        .prefix_with("MATERIALIZED")
    )
    k = Campaign.__table__.c
    journey_contacts = (
        select(k.journey, pairs.c.contact_id)
        .select_from(
            pairs.join(
                Campaign,
                and_(k.organization_id == f.organization_id, k.id == pairs.c.campaign_id),
            )
        )
        .group_by(k.journey, pairs.c.contact_id)
        .subquery()
    )
    contacts = select(pairs.c.contact_id).group_by(pairs.c.contact_id).subquery()
    rows = conn.execute(
        union_all(
            select(literal(0), journey_contacts.c.journey, func.count()).group_by(
                journey_contacts.c.journey
            ),
            select(
                literal(1), null(), select(func.count()).select_from(contacts).scalar_subquery()
            ),
        )
    ).all()
    by_journey = {journey: int(n) for is_total, journey, n in rows if not is_total}
    total = next(int(n) for is_total, _, n in rows if is_total)
    return by_journey, total


def _journeys_from_sends(
    conn: Connection, f: ReportFilters, window: int
) -> tuple[dict[str | None, int], int, dict[str | None, int], int]:
    """Reached and converted contacts per journey and overall, in one statement over
    ``campaign_send``: the period's (journey, contact) pairs, each converted when one of its
    messages was followed by a commercial conversation within the window and by asOf."""
    s = CampaignSend.__table__.c
    converted = case((send_converted(window, f.period.as_of_ts, orders=False), 1), else_=0)
    # the journey as counted on each send (kept current when a campaign changes journey)
    journey_contacts = (
        select(s.journey, s.contact_id, func.max(converted).label("converted"))
        .where(*send_conditions(f, f.current))
        .group_by(s.journey, s.contact_id)
        .cte("journey_contacts")
        .prefix_with("MATERIALIZED")
    )
    contacts = (
        select(journey_contacts.c.contact_id,
               func.max(journey_contacts.c.converted).label("converted"))
        .group_by(journey_contacts.c.contact_id)
        .subquery()
    )
    rows = conn.execute(
        union_all(
            select(
                literal(0), journey_contacts.c.journey, func.count(),
                func.sum(journey_contacts.c.converted),
            ).group_by(journey_contacts.c.journey),
            select(literal(1), null(), func.count(), func.sum(contacts.c.converted)),
        )
    ).all()
    reached = {j: int(n) for is_total, j, n, _ in rows if not is_total}
    converted_by = {j: int(c or 0) for is_total, j, _, c in rows if not is_total}
    reached_total, converted_total = next(
        (int(n), int(c or 0)) for is_total, _, n, c in rows if is_total
    )
    return reached, reached_total, converted_by, converted_total


def journey_funnel(conn: Connection, f: ReportFilters, days: int) -> ContactsBehaviourJourneyFunnel:
    """Reached contacts -> contacts who then started a commercial conversation, per journey."""
    cur = f.current
    window = days * DAY_SECONDS
    if stages.READ_FACTS:
        read = _journeys_from_gaps if _reads_gaps(f) else _journeys_from_sends
        reached, reached_total, converted, converted_total = read(conn, f, window)
        return _journey_rows(days, reached, reached_total, converted, converted_total)
    m = Message.__table__.c
    reached, reached_total = _per_journey(
        conn,
        f,
        select(m.campaign_id, m.contact_id).where(*campaign_message_conditions(f, cur)),
    )
    # Driven by the commercial conversations that can be attributed (far fewer than messages),
    # each matched to the contact's earlier campaign messages through ix_message_org_contact.
    c = Conversation.__table__
    am = table_alias(Message, "attributed_message")
    converted, converted_total = _per_journey(
        conn,
        f,
        select(am.c.campaign_id, c.c.contact_id)
        .select_from(
            c.join(
                am,
                and_(
                    am.c.organization_id == c.c.organization_id,
                    am.c.contact_id == c.c.contact_id,
                    am.c.sent_at <= c.c.started_at,
                    am.c.sent_at >= c.c.started_at - window,
                ),
            )
        )
        .where(
            c.c.kind == "COMMERCIAL",
            c.c.started_at >= cur.start_ts,
            c.c.started_at < min(cur.end_ts + window, f.period.as_of_ts + 1),
            *campaign_message_conditions(
                f.without("group_id", "origin"),
                cur,
                am,
                # SQLite without statistics (no ANALYZE) would start from the period's messages
                # and scan conversations for each; PostgreSQL's planner has statistics.
                matched_by_contact=conn.dialect.name == "sqlite",
            ),
            # Group and origin through the conversation's contact; the channel filter narrows
            # the campaign messages, not the conversation that follows them.
            *f.without("channel").where(c, which=None),
        ),
    )

    return _journey_rows(days, reached, reached_total, converted, converted_total)


def _journey_rows(
    days: int,
    reached: dict[str | None, int],
    reached_total: int,
    converted: dict[str | None, int],
    converted_total: int,
) -> ContactsBehaviourJourneyFunnel:
    def row(journey: str | None, label: str, reached_n: int, converted_n: int):
        return ContactsBehaviourJourneyRow(
            journey=journey,
            label=label,
            reached_contacts=reached_n,
            commercial_contacts=converted_n,
            conversion_rate=_rate(converted_n, reached_n),
        )

    journeys = sorted(reached, key=lambda j: (j is None, -reached[j], j or ""))
    return ContactsBehaviourJourneyFunnel(
        attribution_days=days,
        total=row(None, ALL_JOURNEYS_LABEL, reached_total, converted_total),
        journeys=[
            row(j, j if j is not None else NO_JOURNEY_LABEL, reached[j], converted.get(j, 0))
            for j in journeys
        ],
    )


def months_range(f: ReportFilters) -> DateRange:
    """The last six months: from the first day of the month five months before the period's last
    day, to the period's last day (clipped at ``asOf``), in the organization's time zone."""
    end = f.current.end
    index = end.year * 12 + end.month - 1 - (MONTHS_OVER_TIME - 1)
    first = end.replace(year=index // 12, month=index % 12 + 1, day=1)
    return DateRange.of(first, end, f.timezone, f.period.as_of_ts)


def contacts_over_time(conn: Connection, f: ReportFilters) -> list[ContactsBehaviourMonth]:
    rng = months_range(f)
    starts = bucket_starts(rng, Granularity.MONTH)
    month_ranges = []
    for i, start in enumerate(starts):
        last_day = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else rng.end
        month_ranges.append(DateRange.of(start, last_day, f.timezone, f.period.as_of_ts))

    # Interacted: the core's definition (a message or a conversation started), from the contact
    # activity facts in one grouped statement: a contact counts in a month on its first day of
    # activity in that month.
    # (From the activity gaps where they apply: a few rows per day instead of one per contact.)
    def month_start(day):
        return case(
            *[(day < epoch_day(s), epoch_day(prev)) for prev, s in zip(starts, starts[1:])],
            else_=epoch_day(starts[-1]),
        )

    if gaps_apply(f, *month_ranges):
        activity = activity_gaps(
            conn, f, rng, "activity", counted_from=epoch_day(starts[-1]), window_start=month_start
        )
    else:
        activity = contact_activity(f, rng, columns=["day", "prev_day"], conn=conn)
    month = day_bucket_index(activity.c.day, rng, Granularity.MONTH).label("month")
    if "gap" in activity.c:
        statement = select(month, first_in_gaps(activity, month_start(activity.c.day))).group_by(
            month
        )
    else:
        statement = (
            select(month, func.count())
            .where(first_in_window(activity, "activity", month_start(activity.c.day)))
            .group_by(month)
        )
    interacted = make_series(rng, Granularity.MONTH, conn.execute(statement).all()).values

    # New contacts (deleted ones included): the contacts created before each month's end less
    # those created before its start, from the core's contact days (a row per day)
    created = contacts_created_before(
        conn, f, [month_ranges[0].start_ts] + [r.end_ts for r in month_ranges]
    )
    new = [after - before for before, after in zip(created, created[1:])]
    base = contact_base_at(conn, f, [r.end_ts for r in month_ranges])
    return [
        ContactsBehaviourMonth(
            month=start,
            interacted_contacts=int(interacted[i]),
            new_contacts=new[i],
            contact_base=base[i],
        )
        for i, start in enumerate(starts)
    ]


def contacts_geography(conn: Connection, f: ReportFilters) -> Geography:
    """Contacts with an interaction in the period (message or conversation started), per state."""
    return interacting_geography(conn, f, f.current)


def volume(conn: Connection, f: ReportFilters) -> DailyVolume:
    return daily_volume(conn, f, f.current)


def attentions(conn: Connection, f: ReportFilters) -> AttentionDistribution:
    return attention_distribution(conn, f, f.current)


def commercial_heatmap(conn: Connection, f: ReportFilters) -> Heatmap:
    """Commercial conversations started in the period, by local weekday and hour (the core's
    heatmap of conversations started, commercial ones only)."""
    return conversation_heatmap(conn, f, f.current, commercial=True)
