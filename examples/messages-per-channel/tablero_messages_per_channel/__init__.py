"""Messages per channel: an example panel built only on Tablero's public API."""

from __future__ import annotations

import strawberry
from sqlalchemy import func, select
from strawberry.types import Info

from tablero import (
    CsvSection,
    Message,
    ReportFilters,
    ReportFiltersInput,
    Requires,
    hookimpl,
    resolve_filters,
)


@strawberry.type(description="Messages sent in the period on one channel.")
class ChannelMessages:
    channel: str
    inbound: int
    outbound: int


def messages_per_channel(conn, f: ReportFilters) -> list[ChannelMessages]:
    """Date basis: messages sent in the period."""
    m = Message.__table__.c
    rows = conn.execute(
        select(m.channel, m.direction, func.count())
        .where(*f.where(Message, time_column=m.sent_at))
        .group_by(m.channel, m.direction)
    ).all()
    by_channel: dict[str, dict[str, int]] = {}
    for channel, direction, count in rows:
        by_channel.setdefault(channel, {})[direction] = count
    return [
        ChannelMessages(
            channel=channel,
            inbound=counts.get("INBOUND", 0),
            outbound=counts.get("OUTBOUND", 0),
        )
        for channel, counts in sorted(by_channel.items())
    ]


@strawberry.type
class MessagesPerChannelQuery:
    @strawberry.field(
        permission_classes=[Requires("messages_per_channel.view")],
        description="Messages sent in the period, per channel and direction.",
    )
    async def messages_per_channel(
        self, info: Info, filters: ReportFiltersInput | None = None
    ) -> list[ChannelMessages]:
        f = await resolve_filters(info.context, filters)
        return await info.context.run(lambda conn: messages_per_channel(conn, f))


def channel_rows(conn, f: ReportFilters, params):
    yield ["channel", "inbound", "outbound"]
    for row in messages_per_channel(conn, f):
        yield [row.channel, row.inbound, row.outbound]


@hookimpl
def tablero_capabilities():
    return {"messages_per_channel.view": ["ADMIN", "OPERATOR", "VIEWER"]}


@hookimpl
def tablero_query_types():
    return [MessagesPerChannelQuery]


@hookimpl
def tablero_csv_sections():
    return [
        CsvSection(
            plugin="messages_per_channel",
            name="channels",
            capability="messages_per_channel.view",
            rows=channel_rows,
            description="Messages per channel and direction in the period.",
        )
    ]
