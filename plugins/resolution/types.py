"""GraphQL types of the resolution panel (names prefixed ``Resolution`` to stay clear of other panels)."""

from __future__ import annotations

import enum
from datetime import date

import strawberry
from tablero import Granularity, Series

DATE_BASIS = "Date basis: conversations closed in the period (closed_at)."


@strawberry.enum(description="What a row of the closing-reasons table counts.")
class ResolutionRowKind(enum.Enum):
    REASON = strawberry.enum_value("REASON", description="Conversations closed with this reason.")
    ASSIGNMENTS = strawberry.enum_value(
        "ASSIGNMENTS",
        description="Conversations that ended because the advisor transferred them to another.",
    )


@strawberry.type(description="A closing reason of the organization, with plugin rules applied.")
class ResolutionClosingReason:
    reason: str = strawberry.field(description="External id, e.g. `venta`; used by ingestion.")
    name: str
    closes: bool = strawberry.field(
        description="Whether a conversation closed with it counts as closed. Reasons that do not "
        "close (e.g. Esperando visita) snooze the contact until a reminder."
    )
    archived: bool = strawberry.field(description="Archived reasons are no longer offered.")
    category: str | None = strawberry.field(
        description="A category a plugin rule assigns (e.g. won / lost); null when none."
    )


@strawberry.type(description="One row of the closing-reasons table. " + DATE_BASIS)
class ResolutionReasonRow:
    reason: str = strawberry.field(
        description="The reason's external id; `assignments` for the Assignments row."
    )
    name: str
    kind: ResolutionRowKind
    closes: bool = strawberry.field(
        description="False: a reason that does not close. Its conversations are listed but left "
        "out of the closed total and of every share."
    )
    archived: bool = strawberry.field(
        description="Archived reasons appear only when they have conversations in the period."
    )
    category: str | None = strawberry.field(description="Category from a plugin rule, if any.")
    contacts: int = strawberry.field(
        description="Distinct contacts with a conversation closed for this reason in the period."
    )
    conversations: int = strawberry.field(
        description="Conversations closed for this reason in the period."
    )
    share: float | None = strawberry.field(
        description="conversations / closed conversations (0..1). Null for a reason that does "
        "not close, and when nothing was closed."
    )
    median_time_to_close_business: float | None = strawberry.field(
        description="Median seconds from the conversation's start to its close, counting only "
        "the advisor's business hours (holidays skipped). Null without conversations."
    )
    median_time_to_close_calendar: float | None = strawberry.field(
        description="Median seconds from the conversation's start to its close, every second "
        "counted. Null without conversations."
    )


@strawberry.type(
    description="Totals over the closed conversations: the rows that close (Assignments "
    "included); rows of reasons that do not close are left out. " + DATE_BASIS
)
class ResolutionTotals:
    contacts: int = strawberry.field(
        description="Distinct contacts with a closed conversation, over the whole period (a "
        "contact closed for two reasons counts once, so it can be less than the rows' sum)."
    )
    conversations: int = strawberry.field(
        description="Closed conversations: the sum of the closing rows; the same number as the "
        "conversations panel's closed conversations for the same filters."
    )
    median_time_to_close_business: float | None = strawberry.field(
        description="Median business-hours seconds to close, over all closed conversations."
    )
    median_time_to_close_calendar: float | None = strawberry.field(
        description="Median calendar seconds to close, over all closed conversations."
    )


@strawberry.type(description="The closing-reasons table and its totals. " + DATE_BASIS)
class ResolutionReasons:
    rows: list[ResolutionReasonRow] = strawberry.field(
        description="Reasons that close (in the organization's order), then Assignments, then "
        "reasons that do not close. Every active reason is present, zeros included."
    )
    total: ResolutionTotals


@strawberry.type(description="One row of the table as a zero-filled series.")
class ResolutionReasonSeries:
    reason: str = strawberry.field(description="External id; `assignments` for Assignments.")
    name: str
    kind: ResolutionRowKind
    closes: bool
    category: str | None
    series: Series = strawberry.field(
        description="Conversations closed for this reason per bucket; `total` equals the "
        "table's `conversations` for the same filters."
    )


@strawberry.type(description="Closing reasons over time. " + DATE_BASIS)
class ResolutionOverTime:
    granularity: Granularity
    buckets: list[date] = strawberry.field(description="First local day of each bucket.")
    reasons: list[ResolutionReasonSeries] = strawberry.field(
        description="The same rows as the table, in the same order."
    )
    closed: Series = strawberry.field(
        description="Closed conversations per bucket (the rows that close, summed); `total` "
        "equals the table's total conversations."
    )
