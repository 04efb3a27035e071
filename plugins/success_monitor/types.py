"""The success monitor's GraphQL types: ``successMonitor(filters)`` and ``createAutomation``."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import strawberry
from sqlalchemy.exc import IntegrityError
from strawberry.types import Info
from tablero import (
    BadUserInput,
    Comparison,
    PeriodInput,
    PeriodPreset,
    ReportFilters,
    ReportFiltersInput,
    Requires,
    epoch_to_local,
    resolve_filters,
    resolve_period,
)

from . import queries
from .segments import CATEGORY_LABELS, SegmentCategory, SegmentGrid, segment_grid

# SPEC 6.4: the periods the article offers (no TODAY, no LAST_6_MONTHS).
ALLOWED_PRESETS = frozenset(
    {
        PeriodPreset.YESTERDAY,
        PeriodPreset.LAST_7_DAYS,
        PeriodPreset.LAST_15_DAYS,
        PeriodPreset.LAST_30_DAYS,
        PeriodPreset.LAST_45_DAYS,
        PeriodPreset.LAST_60_DAYS,
        PeriodPreset.LAST_90_DAYS,
        PeriodPreset.CUSTOM,
    }
)
DEFAULT_PAGE = 50


def check_filters(f: ReportFilters) -> None:
    """Orders carry no channel and no advisor: say so rather than ignore the filter."""
    if f.period.preset not in ALLOWED_PRESETS:
        names = ", ".join(p.value for p in PeriodPreset if p in ALLOWED_PRESETS)
        raise BadUserInput(
            f"preset {f.period.preset.value} is not offered here; use one of {names}"
        )
    if f.channel is not None:
        raise BadUserInput("the success monitor has no channel filter: orders carry no channel")
    if f.advisor_id is not None:
        raise BadUserInput("the success monitor has no advisor filter: orders carry no advisor")


async def report_filters(info: Info, filters: ReportFiltersInput | None) -> ReportFilters:
    f = await resolve_filters(info.context, filters, allowed_presets=ALLOWED_PRESETS)
    check_filters(f)
    return f


# ---- small values --------------------------------------------------------------------------


@strawberry.type(name="SuccessMonitorMoney", description="An exact amount in one currency.")
class Money:
    currency: str = strawberry.field(description="ISO 4217 code, e.g. BRL.")
    amount: str = strawberry.field(description="Decimal string, e.g. 1234.50 (never a float).")


def money_list(items: list[tuple[str, Decimal | None]]) -> list[Money]:
    return [Money(currency=c, amount=queries.money_text(a)) for c, a in items if a is not None]


@strawberry.type(
    name="SuccessMonitorMoneyComparison",
    description="An amount in one currency and its previous-period counterpart, as decimal "
    "strings. changePercent is null when the previous value is 0 or unknown.",
)
class MoneyComparison:
    currency: str
    value: str | None
    previous_value: str | None
    change: str | None
    change_percent: float | None

    @classmethod
    def of(cls, currency: str, value: Decimal | None, previous: Decimal | None) -> MoneyComparison:
        change = None if value is None or previous is None else value - previous
        percent = None
        if change is not None and previous:
            percent = round(float(change / previous * 100), 4)
        return cls(
            currency=currency,
            value=queries.money_text(value),
            previous_value=queries.money_text(previous),
            change=queries.money_text(change),
            change_percent=percent,
        )


@strawberry.type(name="SuccessMonitorCell", description="One (R score, F score) cell of the grid.")
class Cell:
    r: int
    f: int


# ---- segments and categories ---------------------------------------------------------------


@strawberry.type(
    name="SuccessMonitorSegment",
    description="An RFM segment and its contacts as of the period end. Revenue, orders and "
    "average ticket are over all orders of those contacts placed before the period end (the "
    "orders their scores come from), one entry per currency.",
)
class SegmentRow:
    key: str = strawberry.field(description="API key, e.g. CHAMPIONS.")
    label: str
    category: SegmentCategory | None
    cells: list[Cell] = strawberry.field(description="The (R, F) score pairs of this segment.")
    contacts: int = strawberry.field(description="Scored contacts in this segment.")
    share: float | None = strawberry.field(
        description="contacts / all scored contacts shown (0..1); null when none is scored."
    )
    orders: int = strawberry.field(description="Orders of these contacts up to the period end.")
    revenue: list[Money] = strawberry.field(description="Sum of those orders, per currency.")
    average_ticket: list[Money] = strawberry.field(
        description="Revenue / orders, per currency (rounded half up to 4 decimals)."
    )


@strawberry.type(
    name="SuccessMonitorCategoryRow",
    description="A summary category: the sum of its member segments.",
)
class CategoryRow:
    key: SegmentCategory
    label: str
    contacts: int
    share: float | None = strawberry.field(description="contacts / all scored contacts shown.")
    segments: list[str] = strawberry.field(description="Keys of the segments it sums.")


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def segment_rows(grid: SegmentGrid, table: queries.SegmentTable) -> list[SegmentRow]:
    rows = []
    for segment, figures in zip(grid.segments, table.segments, strict=True):
        totals = figures.totals
        rows.append(
            SegmentRow(
                key=segment.key,
                label=segment.label,
                category=segment.category,
                cells=[Cell(r=r, f=f) for r, f in sorted(segment.cells)],
                contacts=figures.contacts,
                share=_share(figures.contacts, table.scored),
                orders=sum(t.orders for t in totals),
                revenue=money_list([(t.currency, queries.to_money(t.revenue_e4)) for t in totals]),
                average_ticket=money_list(
                    [(t.currency, queries.average_money(t.revenue_e4, t.orders)) for t in totals]
                ),
            )
        )
    return rows


def category_rows(grid: SegmentGrid, table: queries.SegmentTable) -> list[CategoryRow]:
    counts = {s.key: fig.contacts for s, fig in zip(grid.segments, table.segments, strict=True)}
    rows = []
    for category in SegmentCategory:
        members = [s.key for s in grid.category_members(category)]
        contacts = sum(counts[key] for key in members)
        rows.append(
            CategoryRow(
                key=category,
                label=CATEGORY_LABELS[category],
                contacts=contacts,
                share=_share(contacts, table.scored),
                segments=members,
            )
        )
    return rows


# ---- drill-down ----------------------------------------------------------------------------


async def _contact_fields(info: Info, contact_id: int) -> queries.ContactFields | None:
    """Name, phone and external id through a per-request DataLoader: one query per page."""
    context = info.context
    organization_id = (await context.viewer()).org.id

    async def batch(ids: list[int]) -> list[queries.ContactFields | None]:
        found = await context.run(
            lambda conn: queries.contact_fields(conn, organization_id, list(ids))
        )
        return [found.get(i) for i in ids]

    loader = context.loader(f"success_monitor.contact_fields.{organization_id}", batch)
    return await loader.load(contact_id)


@strawberry.type(name="SuccessMonitorContact", description="A scored contact of a segment.")
class ContactNode:
    contact_id: strawberry.Private[int]
    segment: str
    recency_days: int = strawberry.field(
        description="R: calendar days (organization's time zone) from the date of the "
        "contact's last order to the period's last day."
    )
    frequency: int = strawberry.field(description="F: orders placed before the period end.")
    average_value: Money = strawberry.field(
        description="M: average order value in the contact's main currency (the one with most "
        "orders), rounded half up to 4 decimals."
    )
    r_score: int = strawberry.field(description="1..5, 5 = most recent.")
    f_score: int = strawberry.field(description="1..5, 5 = most orders.")
    m_score: int = strawberry.field(
        description="1..5, 5 = highest average, among contacts of the same main currency."
    )
    last_order_at: datetime = strawberry.field(description="In the organization's time zone.")

    @strawberry.field(description="The contact's id in the platform.")
    async def external_id(self, info: Info) -> str | None:
        fields = await _contact_fields(info, self.contact_id)
        return fields.external_id if fields else None

    @strawberry.field
    async def name(self, info: Info) -> str | None:
        fields = await _contact_fields(info, self.contact_id)
        return fields.name if fields else None

    @strawberry.field(description="E.164.")
    async def phone(self, info: Info) -> str | None:
        fields = await _contact_fields(info, self.contact_id)
        return fields.phone if fields else None


def contact_node(row: queries.ScoredContact, grid: SegmentGrid, timezone: str) -> ContactNode:
    return ContactNode(
        contact_id=row.contact_id,
        segment=grid.segments[row.segment].key,
        recency_days=row.recency_days,
        frequency=row.frequency,
        average_value=Money(
            currency=row.currency, amount=queries.money_text(queries.to_money(row.value_e4))
        ),
        r_score=row.r_score,
        f_score=row.f_score,
        m_score=row.m_score,
        last_order_at=epoch_to_local(row.last_order_at, timezone),
    )


@strawberry.type(name="SuccessMonitorContactEdge")
class ContactEdge:
    node: ContactNode
    cursor: str


@strawberry.type(name="SuccessMonitorPageInfo")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(
    name="SuccessMonitorContactConnection",
    description="A page of a segment's contacts, by value (M) descending, then contact.",
)
class ContactConnection:
    edges: list[ContactEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Contacts in the segment (all pages).")


# ---- sales ---------------------------------------------------------------------------------


@strawberry.type(
    name="SuccessMonitorSales",
    description="Orders placed in the period, compared with the previous period of equal length.",
)
class Sales:
    period_start: date
    period_end: date
    previous_start: date
    previous_end: date
    recency: Comparison = strawberry.field(
        description="Average, over the contacts who ordered in the period, of the calendar "
        "days from their last order in the period to the period's last day. Null without "
        "orders."
    )
    frequency: Comparison = strawberry.field(description="Orders placed in the period.")
    buyers: Comparison = strawberry.field(
        description="Distinct contacts who ordered in the period (distinct over the period)."
    )
    value: list[MoneyComparison] = strawberry.field(
        description="Average ticket (revenue / orders) per currency; null without orders."
    )
    revenue: list[MoneyComparison] = strawberry.field(
        description="Total of the orders placed in the period, per currency."
    )


def sales_figures(
    current: queries.PeriodSales, previous: queries.PeriodSales, f: ReportFilters
) -> Sales:
    currencies = sorted(current.by_currency.keys() | previous.by_currency.keys())

    def revenue(p: queries.PeriodSales, currency: str) -> Decimal:
        return queries.to_money(p.by_currency.get(currency, (0, 0))[1])

    def ticket(p: queries.PeriodSales, currency: str) -> Decimal | None:
        n, total = p.by_currency.get(currency, (0, 0))
        return queries.average_money(total, n)

    return Sales(
        period_start=f.current.start,
        period_end=f.current.end,
        previous_start=f.previous.start,
        previous_end=f.previous.end,
        recency=Comparison.of(current.recency_days, previous.recency_days),
        frequency=Comparison.of(current.orders, previous.orders),
        buyers=Comparison.of(current.buyers, previous.buyers),
        value=[MoneyComparison.of(c, ticket(current, c), ticket(previous, c)) for c in currencies],
        revenue=[
            MoneyComparison.of(c, revenue(current, c), revenue(previous, c)) for c in currencies
        ],
    )


# ---- automations ---------------------------------------------------------------------------


@strawberry.type(
    name="SuccessMonitorAutomation", description="An automation created for a segment."
)
class AutomationNode:
    id: int
    segment: str
    segment_label: str | None = strawberry.field(
        description="The segment's label today; null if no segment has that key any more."
    )
    name: str
    created_by: str = strawberry.field(description="The user (external id) who created it.")
    created_at: datetime
    segment_size: int = strawberry.field(description="Contacts in the segment when created.")


def automation_node(record: queries.AutomationRecord, grid: SegmentGrid, timezone: str):
    segment = grid.by_key.get(record.segment)
    return AutomationNode(
        id=record.id,
        segment=record.segment,
        segment_label=segment.label if segment else None,
        name=record.name,
        created_by=record.created_by,
        created_at=epoch_to_local(record.created_at, timezone),
        segment_size=record.segment_size,
    )


def segment_index(grid: SegmentGrid, key: str) -> int:
    if key not in grid.by_key:
        known = ", ".join(s.key for s in grid.segments)
        raise BadUserInput(f"unknown segment {key!r}; segments are {known}")
    return grid.index(key)


# ---- the report ----------------------------------------------------------------------------


@strawberry.type(
    name="SuccessMonitorReport",
    description="RFM segments as of the end of the selected period, and sales in the period.",
)
class SuccessMonitorReport:
    filters: strawberry.Private[ReportFilters]
    grid: strawberry.Private[SegmentGrid]
    as_of: strawberry.Private[datetime]
    memo: strawberry.Private[dict]

    @strawberry.field(description="First day of the selected period.")
    def period_start(self) -> date:
        return self.filters.current.start

    @strawberry.field(description="Last day of the selected period; scores are as of its end.")
    def period_end(self) -> date:
        return self.filters.current.end

    async def _table(self, info: Info) -> queries.SegmentTable:
        # segments, categories and scoredContacts share one query per request
        if "table" not in self.memo:
            self.memo["table"] = asyncio.ensure_future(
                info.context.run(lambda conn: queries.segment_table(conn, self.filters, self.grid))
            )
        return await self.memo["table"]

    @strawberry.field(
        description="N: contacts with at least one order before the period end, not deleted "
        "by then (within the group/origin filters)."
    )
    async def scored_contacts(self, info: Info) -> int:
        return (await self._table(info)).scored

    @strawberry.field(
        description="Every segment, zeros included, in table order (Champions first)."
    )
    async def segments(self, info: Info) -> list[SegmentRow]:
        return segment_rows(self.grid, await self._table(info))

    @strawberry.field(
        description="Best customers (Champions + Loyal), Have potential (Potential loyalist + "
        "Recent), Priority attention (At risk + Need attention + Can't lose them)."
    )
    async def categories(self, info: Info) -> list[CategoryRow]:
        return category_rows(self.grid, await self._table(info))

    @strawberry.field(
        description="A segment's contacts, by value (M) descending then contact; at most 500 "
        "per page."
    )
    async def contacts(
        self, info: Info, segment: str, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> ContactConnection:
        index = segment_index(self.grid, segment)
        if not 1 <= first <= queries.MAX_PAGE:
            raise BadUserInput(f"first must be between 1 and {queries.MAX_PAGE} (got {first})")
        keyset = queries.decode_cursor(after) if after is not None else None
        page = await info.context.run(
            lambda conn: queries.contact_page(conn, self.filters, self.grid, index, first, keyset)
        )
        timezone = self.filters.timezone
        edges = [
            ContactEdge(
                node=contact_node(row, self.grid, timezone), cursor=queries.encode_cursor(row)
            )
            for row in page.rows
        ]
        return ContactConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )

    @strawberry.field(
        description="Recency, frequency, value and revenue of the orders placed in the period "
        "(default: the report's period), with the previous period."
    )
    async def sales(self, info: Info, period: PeriodInput | None = None) -> Sales:
        f = self.filters
        if period is not None:
            f = replace(
                f, period=resolve_period(period, f.timezone, self.as_of, allowed=ALLOWED_PRESETS)
            )
        current, previous = await info.context.run(
            lambda conn: queries.sales(conn, f, f.current, f.previous)
        )
        return sales_figures(current, previous, f)

    @strawberry.field(description="Automations created for segments, newest first.")
    async def automations(self, info: Info) -> list[AutomationNode]:
        records = await info.context.run(
            lambda conn: queries.automations(conn, self.filters.organization_id)
        )
        return [automation_node(r, self.grid, self.filters.timezone) for r in records]


@strawberry.type
class SuccessMonitorQuery:
    @strawberry.field(
        permission_classes=[Requires("success_monitor.view")],
        description="Success monitor (ADMIN, OPERATOR): RFM segments of the contacts with orders, "
        "as of the end of the period, and sales in the period. Presets: YESTERDAY, "
        "LAST_7/15/30/45/60/90_DAYS, CUSTOM. Filters: period, group, origin.",
    )
    async def success_monitor(
        self, info: Info, filters: ReportFiltersInput | None = None
    ) -> SuccessMonitorReport:
        f = await report_filters(info, filters)
        as_of = (filters.as_of if filters else None) or info.context.now
        return SuccessMonitorReport(
            filters=f, grid=segment_grid(info.context.registry), as_of=as_of, memo={}
        )


@strawberry.type
class SuccessMonitorMutation:
    @strawberry.mutation(
        permission_classes=[Requires("success_monitor.automations")],
        description="Record an automation for a segment, with the segment's size now (scores as "
        "of now, whole organization).",
    )
    async def create_automation(self, info: Info, segment: str, name: str) -> AutomationNode:
        context = info.context
        viewer = await context.viewer()
        grid = segment_grid(context.registry)
        index = segment_index(grid, segment)
        name = name.strip()
        if not name or len(name) > 200:
            raise BadUserInput("name must be 1 to 200 characters")
        f = await report_filters(info, None)
        size = await context.run(lambda conn: queries.segment_size(conn, f, grid, index))
        now = int(context.now.astimezone(UTC).timestamp())
        for attempt in range(5):
            try:
                record = await context.db.run_write(
                    lambda conn: queries.create_automation(
                        conn, f.organization_id, segment, name, viewer.principal.user, now, size
                    )
                )
                break
            except IntegrityError:  # another request took the same id meanwhile
                if attempt == 4:
                    raise
        return automation_node(record, grid, f.timezone)
