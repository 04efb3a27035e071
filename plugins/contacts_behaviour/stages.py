"""The conversion funnel's levels ("stages"), and how plugins add or replace them.

A funnel counts *distinct contacts* reached by campaign messages sent in the period. Each stage
says which of those contacts reach it, as a SQL condition on one row per reached contact
(:attr:`FunnelScope.contacts`). Level ``i`` counts the contacts that satisfy stage ``i`` **and
every stage above it**, so each level is a subset of the one above whatever a plugin contributes.

Plugins contribute :class:`FunnelStage` objects through the ``tablero_funnel_stages`` hook::

    from tablero import SalesOrder, hookimpl
    from tablero.plugins.contacts_behaviour import FunnelStage

    @hookimpl
    def tablero_funnel_stages():
        return [
            FunnelStage(
                key="purchased_30d",
                label="Purchased within 30 days",
                after="converted",
                condition=lambda scope: scope.followed_within(
                    SalesOrder, SalesOrder.ordered_at, seconds=30 * 86_400
                ),
            )
        ]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, exists, func, literal_column, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause
from tablero import (
    CAMPAIGN_STATUS_RANK,
    CONVERSION_WINDOW_CAP,
    CONVERTING_SENDS,
    CampaignSend,
    Conversation,
    DateRange,
    Message,
    ReportFilters,
    SalesOrder,
    StartupError,
    campaign_rank,
    table_alias,
)

DAY_SECONDS = 86_400
DEFAULT_ATTRIBUTION_DAYS = 7
MAX_ATTRIBUTION_DAYS = 90
# the converting sends' partial index must hold every conversion a funnel may ask for
assert MAX_ATTRIBUTION_DAYS * DAY_SECONDS <= CONVERSION_WINDOW_CAP

# How far a campaign message got (the core's ranks: the stored status is the furthest one
# reached, so a READ message was delivered even without a DELIVERED record; SENT, FAILED and no
# status reach only the first level, "sent").
STATUS_RANK: dict[str, int] = dict(CAMPAIGN_STATUS_RANK)


def campaign_message_conditions(
    f: ReportFilters, rng: DateRange, message=Message, *, matched_by_contact: bool = False
) -> list[ColumnElement]:
    """SQL conditions: ``message`` is a campaign message sent in ``rng`` under the filters.

    A campaign message is an outbound message with a campaign. The organization, the contact's
    group and origin and the message's channel come from the shared filter builder.

    ``matched_by_contact``: the message is looked up for one contact at a time (a conversion
    matched to the contact's earlier messages). The period bounds are then written on
    ``sent_at + 0``, so the period's time index cannot drive the join and the contact index
    ``ix_message_org_contact`` serves the lookup (SQLite without statistics otherwise scanned
    every conversation for each message of the period).
    """
    m = getattr(message, "__table__", message).c
    sent_at = m.sent_at + 0 if matched_by_contact else m.sent_at
    return f.where(message, which=None) + [
        sent_at >= rng.start_ts,
        sent_at < rng.end_ts,
        m.campaign_id.is_not(None),
        # A literal, not a bound parameter, so that a partial index on campaign sends
        # (WHERE campaign_id IS NOT NULL AND direction = 'OUTBOUND') can be matched by SQLite.
        m.direction == literal_column("'OUTBOUND'"),
    ]


def furthest_rank(message=Message) -> ColumnElement:
    """SQL: the message's :data:`STATUS_RANK` (1 for anything not delivered)."""
    return campaign_rank(getattr(message, "__table__", message).c.status)


# The funnels read the campaign sends' facts (``campaign_send``: one row per campaign message,
# with the contact's next commercial conversation and order) when True; False: the messages,
# conversations and orders themselves (tests compare both).
READ_FACTS = True


def send_conditions(f: ReportFilters, rng: DateRange) -> list[ColumnElement]:
    """SQL conditions on ``campaign_send``: sent in ``rng`` under the filters (organization,
    the contact's group and origin, the message's channel)."""
    s = CampaignSend.__table__.c
    return f.where(CampaignSend, which=None) + [s.sent_at >= rng.start_ts, s.sent_at < rng.end_ts]


def converting_sends() -> ColumnElement[bool]:
    """SQL on ``campaign_send``: the core's :data:`tablero.CONVERTING_SENDS` as written in its
    partial index (interacted, or converted within the longest window), so that a query
    selecting interacted or converted sends reads that index instead of the period's."""
    return literal_column(CONVERTING_SENDS)


def send_converted(
    attribution_seconds: int, as_of_ts: int, *, orders: bool = True
) -> ColumnElement[bool]:
    """SQL on ``campaign_send``: the message's contact started a commercial conversation (or,
    with ``orders``, placed an order) within the attribution window after it and by asOf. The
    row holds the first of each at or after the message, so comparing it says whether any is
    inside the window."""
    s = CampaignSend.__table__.c

    def within(event):
        return and_(event <= s.sent_at + int(attribution_seconds), event <= int(as_of_ts))

    return within(s.next_event_at if orders else s.next_commercial_at)


def reached_contacts(
    f: ReportFilters,
    rng: DateRange,
    attribution_seconds: int | None = None,
    as_of_ts: int | None = None,
) -> FromClause:
    """One row per contact sent a campaign message in ``rng``: ``contact_id``, ``furthest`` (the
    best :data:`STATUS_RANK` among their messages), ``messages``, ``first_sent_at``,
    ``last_sent_at``; read from ``campaign_send`` (:data:`READ_FACTS`), which adds
    ``converted`` (1: a commercial conversation or an order within ``attribution_seconds``
    after one of the messages and by ``as_of_ts``; both must then be given)."""
    if READ_FACTS and attribution_seconds is not None and as_of_ts is not None:
        s = CampaignSend.__table__.c
        return (
            select(
                s.contact_id.label("contact_id"),
                func.max(CampaignSend.__table__.c.rank).label("furthest"),
                func.count().label("messages"),
                func.min(s.sent_at).label("first_sent_at"),
                func.max(s.sent_at).label("last_sent_at"),
                func.max(
                    case((send_converted(attribution_seconds, as_of_ts), 1), else_=0)
                ).label("converted"),
            )
            .where(*send_conditions(f, rng))
            .group_by(s.contact_id)
            .subquery("reached")
        )
    m = Message.__table__.c
    return (
        select(
            m.contact_id.label("contact_id"),
            func.max(furthest_rank()).label("furthest"),
            func.count().label("messages"),
            func.min(m.sent_at).label("first_sent_at"),
            func.max(m.sent_at).label("last_sent_at"),
        )
        .where(*campaign_message_conditions(f, rng))
        .group_by(m.contact_id)
        .subquery("reached")
    )


@dataclass(frozen=True)
class FunnelScope:
    """What a stage's condition may use. ``contacts`` has one row per reached contact."""

    filters: ReportFilters
    range: DateRange
    contacts: FromClause
    attribution_seconds: int
    as_of_ts: int

    @property
    def contact_id(self) -> ColumnElement:
        return self.contacts.c.contact_id

    def reached_status(self, status: str) -> ColumnElement[bool]:
        """The contact has a campaign message whose furthest status is ``status`` or beyond."""
        return self.contacts.c.furthest >= STATUS_RANK[status]

    def campaign_messages(self, *conditions: ColumnElement, message=None) -> Select:
        """SELECT of the ids of contacts with a campaign message of the funnel that also meets
        ``conditions``, written on ``message`` (an alias from :meth:`message_alias`)."""
        m = message if message is not None else self.message_alias()
        return select(m.c.contact_id).where(
            *campaign_message_conditions(self.filters, self.range, m), *conditions
        )

    @staticmethod
    def message_alias(name: str = "stage_message"):
        """An alias of the message table for :meth:`campaign_messages` conditions."""
        return table_alias(Message, name)

    def followed_within(
        self,
        table,
        time_column: ColumnElement,
        *conditions: ColumnElement,
        seconds: int | None = None,
    ) -> ColumnElement[bool]:
        """The contact has a row of ``table`` (it must have ``contact_id``) whose ``time_column``
        is at or after one of their campaign messages of the funnel and at most ``seconds``
        (default: the attribution window) after it, and not after the report's ``asOf``.

        The events are looked up from their own time index, then matched to the contact's
        campaign messages through ``ix_message_org_contact`` (organization, contact, sent).
        """
        window = self.attribution_seconds if seconds is None else int(seconds)
        t = getattr(table, "__table__", table).c
        m = table_alias(Message, "attributed_message")
        upper = min(self.range.end_ts + window, self.as_of_ts + 1)
        after_a_message = exists().where(
            m.c.organization_id == t.organization_id,
            m.c.contact_id == t.contact_id,
            m.c.sent_at <= time_column,
            m.c.sent_at >= time_column - window,
            *campaign_message_conditions(self.filters.without("group_id", "origin"), self.range, m),
        )
        events = select(t.contact_id).where(
            t.organization_id == self.filters.organization_id,
            time_column >= self.range.start_ts,
            time_column < upper,
            *conditions,
            after_a_message,
        )
        return self.contact_id.in_(events)


StageCondition = Callable[[FunnelScope], ColumnElement]


@dataclass(frozen=True)
class FunnelStage:
    """One level of the conversion funnel.

    ``condition(scope)`` returns a SQL boolean over ``scope.contacts`` (one row per contact sent a
    campaign message in the period): the contact reaches this stage. The level also requires every
    stage above it, so levels stay nested.

    Positioning: ``replaces="read"`` takes the place of the stage with that key; ``after="converted"``
    is inserted after it; with neither, the stage is appended at the end.
    """

    key: str
    label: str
    condition: StageCondition
    description: str = ""
    after: str | None = None
    replaces: str | None = None


def _converted(scope: FunnelScope) -> ColumnElement[bool]:
    if "converted" in scope.contacts.c:  # read from the campaign sends' facts
        return scope.contacts.c.converted == 1
    conversation = Conversation.__table__
    return or_(
        scope.followed_within(
            conversation, conversation.c.started_at, conversation.c.kind == "COMMERCIAL"
        ),
        scope.followed_within(SalesOrder, SalesOrder.__table__.c.ordered_at),
    )


DEFAULT_STAGES: tuple[FunnelStage, ...] = (
    FunnelStage(
        "sent",
        "Sent",
        lambda scope: true(),
        "Contacts sent at least one campaign message in the period (failed sends included).",
    ),
    FunnelStage(
        "delivered",
        "Delivered",
        lambda scope: scope.reached_status("DELIVERED"),
        "Contacts with a campaign message delivered, read, clicked or replied.",
    ),
    FunnelStage(
        "read",
        "Read",
        lambda scope: scope.reached_status("READ"),
        "Contacts with a campaign message read, clicked or replied.",
    ),
    FunnelStage(
        "interacted",
        "Interacted",
        lambda scope: scope.reached_status("CLICKED"),
        "Contacts with a campaign message clicked or replied.",
    ),
    FunnelStage(
        "converted",
        "Converted",
        _converted,
        "Contacts of the level above who started a commercial conversation or placed an order "
        "within the attribution window after one of their campaign messages of the period.",
    ),
)


def compose_stages(contributions: Iterable[tuple[str, object]]) -> list[FunnelStage]:
    """The default stages with plugin contributions applied, in funnel order.

    ``contributions`` are ``(plugin name, stage)`` pairs as collected by the registry. Replacements
    apply first, then insertions (``after``) in contribution order, then appended stages. A
    duplicate key, two replacements of one stage, or an unknown ``after``/``replaces`` key raises
    :class:`tablero.StartupError` naming the plugin.
    """
    stages: list[tuple[str, FunnelStage]] = [("contacts_behaviour", s) for s in DEFAULT_STAGES]
    contributed = []
    for plugin, stage in contributions:
        if stage in DEFAULT_STAGES:
            continue
        if not isinstance(stage, FunnelStage):
            raise StartupError(f"plugin {plugin!r} contributed {stage!r}, not a FunnelStage")
        if stage.after and stage.replaces:
            raise StartupError(
                f"funnel stage {stage.key!r} from {plugin!r} sets both after and replaces"
            )
        contributed.append((plugin, stage))

    def position(key: str, plugin: str, stage: FunnelStage) -> int:
        for i, (_, existing) in enumerate(stages):
            if existing.key == key:
                return i
        raise StartupError(
            f"funnel stage {stage.key!r} from {plugin!r} refers to unknown stage {key!r}"
        )

    replaced_by: dict[str, str] = {}
    for plugin, stage in contributed:
        if stage.replaces:
            if stage.replaces in replaced_by:
                raise StartupError(
                    f"funnel stage {stage.replaces!r} is replaced by both "
                    f"{replaced_by[stage.replaces]!r} and {plugin!r}"
                )
            replaced_by[stage.replaces] = plugin
            stages[position(stage.replaces, plugin, stage)] = (plugin, stage)
    for plugin, stage in contributed:
        if stage.after:
            stages.insert(position(stage.after, plugin, stage) + 1, (plugin, stage))
    for plugin, stage in contributed:
        if not stage.after and not stage.replaces:
            stages.append((plugin, stage))

    owners: dict[str, str] = {}
    for plugin, stage in stages:
        if stage.key in owners:
            raise StartupError(
                f"funnel stage key {stage.key!r} is used by both {owners[stage.key]!r} and "
                f"{plugin!r}"
            )
        owners[stage.key] = plugin
    return [stage for _, stage in stages]


def level_counts(conn, scope: FunnelScope, stages: list[FunnelStage]) -> list[int]:
    """Distinct contacts at each level: those meeting the level's condition and all above it."""
    conditions = [stage.condition(scope) for stage in stages]
    sums = [
        func.coalesce(func.sum(case((and_(*conditions[: i + 1]), 1), else_=0)), 0)
        for i in range(len(conditions))
    ]
    row = conn.execute(select(*sums).select_from(scope.contacts)).one()
    return [int(v) for v in row]
