"""The root field ``contactsBehaviour(filters)`` and its report object.

The root field checks the capability and resolves the filters once; each section is a field of the
report that runs its own query on a worker thread, so a client pays only for what it asks.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info
from tablero import (
    AttentionDistribution,
    DailyVolume,
    Geography,
    Heatmap,
    ReportFilters,
    ReportFiltersInput,
    Requires,
    resolve_filters,
)

from . import queries
from .stages import DEFAULT_ATTRIBUTION_DAYS, MAX_ATTRIBUTION_DAYS, compose_stages
from .types import (
    ContactsBehaviourInteractions,
    ContactsBehaviourJourneyFunnel,
    ContactsBehaviourMessageFunnel,
    ContactsBehaviourMonth,
)

CAPABILITY = "contacts_behaviour.view"

_WINDOW = (
    f"Attribution window in days after a campaign message (1..{MAX_ATTRIBUTION_DAYS}, "
    f"default {DEFAULT_ATTRIBUTION_DAYS})."
)


@strawberry.type(description="The days the report covers, in the organization's time zone.")
class ContactsBehaviourPeriod:
    start: date
    end: date
    previous_start: date
    previous_end: date
    timezone: str


@strawberry.type(
    description="Contacts behaviour (ADMIN and OPERATOR): how the contact base responds to "
    "campaigns and attentions. Filters: period (compared with the previous one), group, origin "
    "and channel."
)
class ContactsBehaviourReport:
    filters: strawberry.Private[ReportFilters]

    @strawberry.field
    def period(self) -> ContactsBehaviourPeriod:
        f = self.filters
        return ContactsBehaviourPeriod(
            start=f.current.start,
            end=f.current.end,
            previous_start=f.previous.start,
            previous_end=f.previous.end,
            timezone=f.timezone,
        )

    @strawberry.field(
        description="Contact base, reached contacts, contacts in commercial attention and in "
        "support, each with the previous period's value."
    )
    async def interactions(self, info: Info) -> ContactsBehaviourInteractions:
        return await info.context.run(lambda conn: queries.interactions(conn, self.filters))

    @strawberry.field(
        description="Conversion funnel by message status. Date basis: campaign messages sent in "
        "the period (the channel filter narrows them); distinct contacts at each level: sent, "
        "delivered, read, interacted (clicked or replied), converted (a commercial conversation "
        "started or an order placed within the attribution window after one of their campaign "
        "messages). Each level is a subset of the one above; plugins may add or replace levels."
    )
    async def message_funnel(
        self,
        info: Info,
        attribution_days: Annotated[int, strawberry.argument(description=_WINDOW)] = (
            DEFAULT_ATTRIBUTION_DAYS
        ),
    ) -> ContactsBehaviourMessageFunnel:
        days = queries.attribution_days(attribution_days)
        stages = compose_stages(info.context.registry.funnel_stages)
        return await info.context.run(
            lambda conn: queries.message_funnel(conn, self.filters, stages, days)
        )

    @strawberry.field(
        description="Funnel across journeys. Date basis: campaign messages sent in the period. "
        "Reached contacts, then those who started a commercial conversation at or after one of "
        "their campaign messages and within the attribution window; in total and per journey."
    )
    async def journey_funnel(
        self,
        info: Info,
        attribution_days: Annotated[int, strawberry.argument(description=_WINDOW)] = (
            DEFAULT_ATTRIBUTION_DAYS
        ),
    ) -> ContactsBehaviourJourneyFunnel:
        days = queries.attribution_days(attribution_days)
        return await info.context.run(lambda conn: queries.journey_funnel(conn, self.filters, days))

    @strawberry.field(
        description="The last six months ending with the period's last day (six MONTH buckets "
        "in the organization's time zone): contacts who interacted, new contacts, contact base "
        "at the month's end."
    )
    async def contacts_over_time(self, info: Info) -> list[ContactsBehaviourMonth]:
        return await info.context.run(lambda conn: queries.contacts_over_time(conn, self.filters))

    @strawberry.field(
        description="Distinct contacts with an interaction in the period (a message sent or a "
        "conversation started) per Brazilian state from the phone's DDD; all 27 states plus "
        "unknown. Deleted contacts are left out."
    )
    async def geography(self, info: Info) -> Geography:
        return await info.context.run(lambda conn: queries.contacts_geography(conn, self.filters))

    @strawberry.field(
        description="Per day of the period: sends (outbound messages sent), commercial and "
        "support attentions (conversations started). Same figures as the home page."
    )
    async def daily_volume(self, info: Info) -> DailyVolume:
        return await info.context.run(lambda conn: queries.volume(conn, self.filters))

    @strawberry.field(
        description="Attentions (conversations started in the period): total, commercial and "
        "support counts and shares."
    )
    async def attention_distribution(self, info: Info) -> AttentionDistribution:
        return await info.context.run(lambda conn: queries.attentions(conn, self.filters))

    @strawberry.field(
        description="Commercial conversations started in the period by local weekday x hour "
        "(7 x 24 cells, all present)."
    )
    async def commercial_heatmap(self, info: Info) -> Heatmap:
        return await info.context.run(lambda conn: queries.commercial_heatmap(conn, self.filters))


@strawberry.type
class ContactsBehaviourQuery:
    @strawberry.field(
        permission_classes=[Requires(CAPABILITY)],
        description="The contacts behaviour panel (ADMIN and OPERATOR only). Without a period it "
        "covers LAST_30_DAYS; the advisor filter does not apply (BAD_USER_INPUT).",
    )
    async def contacts_behaviour(
        self, info: Info, filters: ReportFiltersInput | None = None
    ) -> ContactsBehaviourReport:
        f = queries.panel_filters(await resolve_filters(info.context, filters))
        return ContactsBehaviourReport(filters=f)
