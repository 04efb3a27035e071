"""The report's root field and the report object.

``conversationsReport(filters)`` resolves the filters once (period, group, origin, channel,
advisor, and an AGENT's scope) and returns a :class:`ConversationsReport`; each of its fields
runs its own query on a worker thread, so a client pays only for the figures it asks for.
Every field's description states the figure's definition and its date basis.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info
from tablero import (
    Granularity,
    Heatmap,
    ReportFilters,
    ReportFiltersInput,
    Requires,
    Series,
    epoch_to_local,
    resolve_filters,
)

from . import queries
from .types import (
    ConversationsFirstResponse,
    ConversationsOriginRow,
    ConversationsPeriod,
    ConversationsResponseTime,
)

VIEW = "conversations.view"

GranularityArgument = Annotated[
    Granularity,
    strawberry.argument(
        description="Bucket size of the series (DAY, WEEK or MONTH), in the organization's "
        "time zone."
    ),
]


def closing_rules(info: Info) -> list:
    """The closing-reason rules every plugin contributed (collected once, at start-up), so
    "closed" means here exactly what it means in the resolution report."""
    return [rule for _, rule in info.context.registry.closing_reason_rules]


@strawberry.type(
    name="ConversationsReport",
    description="New contacts and conversations: how fast advisors answer and where leads come "
    "from. Filters: period, group, origin, channel, advisor (an AGENT sees only their own work).",
)
class ConversationsReport:
    filters: strawberry.Private[ReportFilters]

    @strawberry.field(description="The period covered and the previous period.")
    def period(self) -> ConversationsPeriod:
        current, previous = self.filters.current, self.filters.previous
        return ConversationsPeriod(
            start=current.start,
            end=current.end,
            previous_start=previous.start,
            previous_end=previous.end,
            timezone=self.filters.timezone,
        )

    @strawberry.field(description=ConversationsFirstResponse.__strawberry_definition__.description)
    async def first_response_time(self, info: Info) -> ConversationsFirstResponse:
        f, run = self.filters, info.context.run  # three independent parts at once
        business, calendar, created = await asyncio.gather(
            run(lambda conn: queries.first_response_medians(conn, f, queries.BUSINESS)),
            run(lambda conn: queries.first_response_calendar(conn, f)),
            run(lambda conn: queries.created_contacts(conn, f)),
        )
        return queries.first_response(business, calendar, created)

    @strawberry.field(description=ConversationsResponseTime.__strawberry_definition__.description)
    async def response_time(self, info: Info) -> ConversationsResponseTime:
        f, run = self.filters, info.context.run  # two independent parts at once
        business, calendar = await asyncio.gather(
            run(lambda conn: queries.response_medians(conn, f, queries.BUSINESS)),
            run(lambda conn: queries.response_calendar(conn, f)),
        )
        return queries.response(business, calendar)

    @strawberry.field(
        description="Interactions with contacts. Date basis: effective contacts SENT in the "
        "period. One interaction per distinct (advisor, contact, local day) with at least one "
        "effective contact: answering the same contact twice in a day is one, on two days is "
        "two. Zero-filled; total = the sum of the daily values (a week or month bucket is the "
        "sum of its days). The channel filter applies to the effective contact's channel."
    )
    async def interactions(
        self, info: Info, granularity: GranularityArgument = Granularity.DAY
    ) -> Series:
        return await info.context.run(
            lambda conn: queries.interactions(conn, self.filters, granularity)
        )

    @strawberry.field(
        description="New contacts. Date basis: contacts CREATED in the period, deleted ones "
        "included. With a group filter: contacts that entered directly into that group. The "
        "channel filter does not apply (a contact has no channel)."
    )
    async def new_contacts(
        self, info: Info, granularity: GranularityArgument = Granularity.DAY
    ) -> Series:
        return await info.context.run(
            lambda conn: queries.new_contacts(conn, self.filters, granularity)
        )

    @strawberry.field(
        description="New conversations. Date basis: conversations STARTED in the period (a "
        "contact may have several). The channel filter applies."
    )
    async def new_conversations(
        self, info: Info, granularity: GranularityArgument = Granularity.DAY
    ) -> Series:
        return await info.context.run(
            lambda conn: queries.new_conversations(conn, self.filters, granularity)
        )

    @strawberry.field(
        description="Closed conversations. Date basis: conversations CLOSED in the period — "
        "closed with a reason that closes, or transferred. Reasons that do not close (by "
        "default 'Esperando visita', 'Esperando recordatorio') are not counted; counted exactly "
        "as the resolution report does. The channel filter applies."
    )
    async def closed_conversations(
        self, info: Info, granularity: GranularityArgument = Granularity.DAY
    ) -> Series:
        rules = closing_rules(info)
        return await info.context.run(
            lambda conn: queries.closed_conversations(conn, self.filters, rules, granularity)
        )

    @strawberry.field(
        description="Origins table. Date basis: contacts CREATED in the period, deleted ones "
        "excluded; one row per origin, most new contacts first. With a group filter: contacts "
        "CURRENTLY in that group. The channel filter does not apply."
    )
    async def origins(self, info: Info) -> list[ConversationsOriginRow]:
        rules = closing_rules(info)
        return await info.context.run(lambda conn: queries.origins(conn, self.filters, rules))

    @strawberry.field(
        description="Busiest hours: conversations STARTED in the period by local weekday x hour "
        "(7 x 24 cells, all present). The channel filter applies."
    )
    async def busiest_hours(self, info: Info) -> Heatmap:
        return await info.context.run(lambda conn: queries.busiest_hours(conn, self.filters))

    @strawberry.field(
        description="When the organization's derived facts (first responses, durations) were "
        "last brought up to date; the report is as fresh as this. Data arrives several times a "
        "day, not in real time."
    )
    async def refreshed_at(self, info: Info) -> datetime | None:
        viewer = await info.context.viewer()
        return epoch_to_local(viewer.org.refreshed_at, viewer.org.timezone)


@strawberry.type
class ConversationsQuery:
    @strawberry.field(
        permission_classes=[Requires(VIEW)],
        description="The new contacts and conversations report (ADMIN, OPERATOR, VIEWER; an "
        "AGENT sees only their own conversations). Without a period: LAST_30_DAYS.",
    )
    async def conversations_report(
        self, info: Info, filters: ReportFiltersInput | None = None
    ) -> ConversationsReport:
        return ConversationsReport(filters=await resolve_filters(info.context, filters))
