"""The panel's root fields: ``resolution(filters)``, ``closingReasons`` and the reason mutations."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import strawberry
from strawberry.types import Info
from tablero import (
    ClosingReasonRule,
    Granularity,
    ReportFilters,
    ReportFiltersInput,
    Requires,
    epoch_to_local,
    resolve_filters,
)

from . import queries, reasons
from .types import DATE_BASIS, ResolutionClosingReason, ResolutionOverTime, ResolutionReasons

VIEW = "resolution.view"
MANAGE_REASONS = "resolution.manage_reasons"


def plugin_rules(registry) -> tuple[ClosingReasonRule, ...]:
    """The closing-reason rules every plugin contributed (collected once, at start-up)."""
    return tuple(
        rule for _, rule in registry.closing_reason_rules if isinstance(rule, ClosingReasonRule)
    )


@strawberry.type(description="The resolution report (why conversations end and how long it takes).")
class ResolutionReport:
    filters: strawberry.Private[ReportFilters]
    rules: strawberry.Private[tuple]
    period_start: date = strawberry.field(description="First local day of the period.")
    period_end: date = strawberry.field(description="Last local day of the period.")
    refreshed_at: datetime | None = strawberry.field(
        description="When the derived durations were last brought up to date."
    )

    @strawberry.field(
        description="Closing reasons table: one row per reason plus Assignments (transfers), "
        "and the totals. " + DATE_BASIS
    )
    async def reasons(self, info: Info) -> ResolutionReasons:
        # counts and the two measures' medians are independent: three statements at once
        f, rules, run = self.filters, self.rules, info.context.run
        counts, business, calendar = await asyncio.gather(
            run(lambda conn: queries.reason_counts(conn, f, rules)),
            run(lambda conn: queries.reason_medians(conn, f, rules, queries.BUSINESS)),
            run(lambda conn: queries.reason_medians(conn, f, rules, queries.CALENDAR)),
        )
        return queries.reasons_table(counts, {**business, **calendar})

    @strawberry.field(
        description="Closing reasons over time: per row of the table, a zero-filled series of "
        "conversations closed per bucket (local time). " + DATE_BASIS
    )
    async def reasons_over_time(
        self, info: Info, granularity: Granularity = Granularity.DAY
    ) -> ResolutionOverTime:
        return await info.context.run(
            lambda conn: queries.reasons_over_time(conn, self.filters, self.rules, granularity)
        )


@strawberry.type
class ResolutionQuery:
    @strawberry.field(
        permission_classes=[Requires(VIEW)],
        description="Resolution report. Filters: period, group (the group the contact entered), "
        "origin, channel and advisor (the conversation's advisor); an AGENT sees only their own "
        "conversations. " + DATE_BASIS,
    )
    async def resolution(
        self, info: Info, filters: ReportFiltersInput | None = None
    ) -> ResolutionReport:
        f = await resolve_filters(info.context, filters)
        viewer = await info.context.viewer()
        return ResolutionReport(
            filters=f,
            rules=plugin_rules(info.context.registry),
            period_start=f.current.start,
            period_end=f.current.end,
            refreshed_at=epoch_to_local(viewer.org.refreshed_at, viewer.org.timezone),
        )

    @strawberry.field(
        permission_classes=[Requires(VIEW)],
        description="The organization's closing reasons (plugin rules applied), in their order.",
    )
    async def closing_reasons(
        self, info: Info, include_archived: bool = False
    ) -> list[ResolutionClosingReason]:
        viewer = await info.context.viewer()
        rules = plugin_rules(info.context.registry)
        return await info.context.run(
            lambda conn: queries.reason_catalog(conn, viewer.org.id, rules, include_archived)
        )


@strawberry.type
class ResolutionMutation:
    @strawberry.mutation(
        permission_classes=[Requires(MANAGE_REASONS)],
        description="Add a closing reason. Names are unique per organization (case and accents "
        "ignored); the external id defaults to the slug of the name.",
    )
    async def create_closing_reason(
        self,
        info: Info,
        name: str,
        external_id: str | None = None,
        closes: bool = True,
    ) -> ResolutionClosingReason:
        viewer = await info.context.viewer()
        rules = plugin_rules(info.context.registry)
        return await info.context.db.run_write(
            lambda conn: reasons.create_reason(
                conn, viewer.org.id, rules, name, external_id, closes
            )
        )

    @strawberry.mutation(
        permission_classes=[Requires(MANAGE_REASONS)],
        description="Rename a closing reason (by external id); its external id stays.",
    )
    async def rename_closing_reason(
        self, info: Info, reason: str, name: str
    ) -> ResolutionClosingReason:
        viewer = await info.context.viewer()
        rules = plugin_rules(info.context.registry)
        return await info.context.db.run_write(
            lambda conn: reasons.rename_reason(conn, viewer.org.id, rules, reason, name)
        )

    @strawberry.mutation(
        permission_classes=[Requires(MANAGE_REASONS)],
        description="Archive a closing reason (archived: false restores it). Conversations keep "
        "it; the table shows it only when it has conversations in the period.",
    )
    async def archive_closing_reason(
        self, info: Info, reason: str, archived: bool = True
    ) -> ResolutionClosingReason:
        viewer = await info.context.viewer()
        rules = plugin_rules(info.context.registry)
        return await info.context.db.run_write(
            lambda conn: reasons.archive_reason(conn, viewer.org.id, rules, reason, archived)
        )
