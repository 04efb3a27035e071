"""The success monitor's SQL: RFM scores, segment table, drill-down pages, sales, automations.

Everything is aggregated by the database; Python only shapes the few result rows. The RFM
pipeline (:func:`scored_contacts`) is one SELECT of nested subqueries:

1. ``per_currency``: each contact's orders placed before the period end, grouped by currency
   (orders, sum of ``amount_e4``, last order);
2. ``per_contact``: the contact's totals over its currencies (F = orders, last order) and its
   *main currency* (most orders, then the larger sum, then the code) — deleted contacts dropped;
3. ``rfm``: one row per contact: R = whole days from the last order to the period end,
   F = orders, M = average order value in the main currency, in ten-thousandths, rounded half up;
4. ``scores``: score = 1 + floor(5 * W / N) where W, the contacts strictly worse, is
   ``RANK() - 1`` ordered from worst to best (R: most days first, F: fewest orders first,
   M: lowest average first, among contacts of the same main currency);
5. ``scored``: the segment, a ``CASE`` over the cell code ``10 * R + F``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, and_, case, cast, func, insert, literal, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery
from tablero import (
    MONEY_SCALE,
    Automation,
    BadUserInput,
    Contact,
    DateRange,
    ReportFilters,
    SalesOrder,
)

from .segments import SegmentGrid

DAY = 86_400
MAX_PAGE = 500
STREAM_ROWS = 2_000

orders = SalesOrder.__table__
contacts = Contact.__table__


# ---- money ---------------------------------------------------------------------------------

_E4 = Decimal(MONEY_SCALE)
_QUANTUM = Decimal("0.0001")


def to_money(amount_e4: int | Decimal) -> Decimal:
    """Ten-thousandths (an exact integer sum, or an exact ratio) as a currency amount."""
    return (Decimal(amount_e4) / _E4).quantize(_QUANTUM, rounding=ROUND_HALF_UP)


def average_money(total_e4: int, count: int) -> Decimal | None:
    """``total / count`` as an amount, rounded half up to the 4th decimal; None without orders."""
    if not count:
        return None
    return to_money(Decimal(int(total_e4)) / Decimal(int(count)))


def money_text(amount: Decimal | None) -> str | None:
    """A decimal string with at least two decimals: ``0.30``, ``1234567.89``, ``12.3456``."""
    if amount is None:
        return None
    text = format(amount.quantize(_QUANTUM), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.rstrip('0').ljust(2, '0')}"


# ---- the RFM pipeline ------------------------------------------------------------------------


def scored_contacts(f: ReportFilters, grid: SegmentGrid) -> tuple[Subquery, Subquery]:
    """``(scored, per_currency)`` subqueries for the organization as of the period end.

    ``scored``: one row per contact with at least one order before ``f.current.end_ts`` and not
    deleted by then — ``contact_id, frequency, last_order_at, recency_days, currency, value_e4,
    r_score, f_score, m_score, segment`` (segment = index into ``grid.segments``). Scores rank
    every such contact of the organization; the group/origin filters only choose which scored
    contacts a report shows (:func:`shown`).
    """
    end_ts = f.current.end_ts
    o = orders.c
    per_currency = (
        select(
            o.contact_id,
            o.currency,
            func.count().label("n"),
            cast(func.sum(o.amount_e4), BigInteger).label("total_e4"),
            func.max(o.ordered_at).label("last_at"),
        )
        .where(o.organization_id == f.organization_id, o.ordered_at < end_ts)
        .group_by(o.contact_id, o.currency)
        .cte("per_currency")
    )
    pc, c = per_currency.c, contacts.c
    per_contact = (
        select(
            pc.contact_id,
            pc.currency,
            pc.n,
            pc.total_e4,
            cast(func.sum(pc.n).over(partition_by=pc.contact_id), BigInteger).label("frequency"),
            func.max(pc.last_at).over(partition_by=pc.contact_id).label("last_order_at"),
            func.row_number()
            .over(
                partition_by=pc.contact_id,
                order_by=(pc.n.desc(), pc.total_e4.desc(), pc.currency),
            )
            .label("currency_rank"),
        )
        .join_from(
            per_currency,
            contacts,
            and_(c.organization_id == f.organization_id, c.id == pc.contact_id),
        )
        # A contact deleted after the period end was still a customer then.
        .where(or_(c.deleted_at.is_(None), c.deleted_at >= end_ts))
        .subquery("per_contact")
    )
    p = per_contact.c
    rfm = (
        select(
            p.contact_id,
            p.frequency,
            p.last_order_at,
            ((literal(end_ts, BigInteger) - p.last_order_at) // DAY).label("recency_days"),
            p.currency,
            # round half up of total / n, in integers so both databases agree exactly
            ((2 * p.total_e4 + p.n) // (2 * p.n)).label("value_e4"),
        )
        .where(p.currency_rank == 1)
        .subquery("rfm")
    )
    x = rfm.c
    everyone = func.count().over()
    same_currency = func.count().over(partition_by=x.currency)

    def score(rank, population):
        # RANK() - 1 = W, the rows strictly before this one when ordered from worst to best
        return 1 + (5 * (rank - 1)) // population

    scores = select(
        x.contact_id,
        x.frequency,
        x.last_order_at,
        x.recency_days,
        x.currency,
        x.value_e4,
        score(func.rank().over(order_by=x.recency_days.desc()), everyone).label("r_score"),
        score(func.rank().over(order_by=x.frequency.asc()), everyone).label("f_score"),
        score(
            func.rank().over(partition_by=x.currency, order_by=x.value_e4.asc()), same_currency
        ).label("m_score"),
    ).subquery("scores")
    s = scores.c
    cell = 10 * s.r_score + s.f_score
    segment = case(
        *[(cell.in_(seg.codes), index) for index, seg in enumerate(grid.segments)], else_=-1
    )
    scored = select(*s, segment.label("segment")).subquery("scored")
    return scored, per_currency


def shown(scored: Subquery, f: ReportFilters) -> list:
    """Conditions keeping the scored contacts the report's group/origin filters select."""
    if f.group_id is None and f.origin is None:
        return []
    return [scored.c.contact_id.in_(select(contacts.c.id).where(*f.where(Contact)))]


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    contacts: int  # contacts whose main currency this is
    orders: int
    revenue_e4: int


@dataclass(frozen=True)
class SegmentFigures:
    index: int
    contacts: int
    totals: tuple[CurrencyTotals, ...]  # by currency code


@dataclass(frozen=True)
class SegmentTable:
    scored: int  # N: contacts shown that have a score
    segments: tuple[SegmentFigures, ...]  # one per grid segment, in grid order


def segment_table(conn: Connection, f: ReportFilters, grid: SegmentGrid) -> SegmentTable:
    """Contacts, orders and revenue (per currency) of every segment's contacts, zeros included.

    Revenue and orders are all of the contacts' orders up to the period end (the same orders their
    scores come from), in each order's currency.
    """
    scored, per_currency = scored_contacts(f, grid)
    sc, pc = scored.c, per_currency.c
    rows = conn.execute(
        select(
            sc.segment,
            pc.currency,
            func.sum(case((pc.currency == sc.currency, 1), else_=0)).label("contacts"),
            cast(func.sum(pc.n), BigInteger).label("orders"),
            cast(func.sum(pc.total_e4), BigInteger).label("revenue_e4"),
        )
        .join_from(scored, per_currency, pc.contact_id == sc.contact_id)
        .where(*shown(scored, f))
        .group_by(sc.segment, pc.currency)
        .order_by(sc.segment, pc.currency)
    ).all()
    by_segment: dict[int, list[CurrencyTotals]] = {}
    for row in rows:
        by_segment.setdefault(row.segment, []).append(
            CurrencyTotals(row.currency, int(row.contacts), int(row.orders), int(row.revenue_e4))
        )
    figures = tuple(
        SegmentFigures(
            index,
            sum(t.contacts for t in by_segment.get(index, ())),
            tuple(by_segment.get(index, ())),
        )
        for index in range(len(grid.segments))
    )
    return SegmentTable(sum(s.contacts for s in figures), figures)


# ---- drill-down ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredContact:
    contact_id: int
    recency_days: int
    frequency: int
    currency: str
    value_e4: int
    r_score: int
    f_score: int
    m_score: int
    last_order_at: int
    segment: int


@dataclass(frozen=True)
class ContactPage:
    rows: list[ScoredContact]
    total: int
    has_next: bool


def _order_by(sc):
    """Drill-down order: by value (M score, then the amount), then contact.

    Within one currency the M score never decreases as the amount grows, so this is "value
    descending, then contact id"; with several currencies it compares standing, not raw amounts.
    """
    return (sc.m_score.desc(), sc.value_e4.desc(), sc.contact_id.asc())


def encode_cursor(row: ScoredContact) -> str:
    raw = f"{row.m_score}:{row.value_e4}:{row.contact_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        m_score, value_e4, contact_id = (int(part) for part in raw.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput(f"after: {cursor!r} is not a cursor this connection returned") from None
    return m_score, value_e4, contact_id


def contact_page(
    conn: Connection,
    f: ReportFilters,
    grid: SegmentGrid,
    segment: int,
    first: int,
    after: tuple[int, int, int] | None,
) -> ContactPage:
    """One page of a segment's contacts in :func:`_order_by` order, after the keyset ``after``."""
    scored, _ = scored_contacts(f, grid)
    sc = scored.c
    in_segment = (
        select(*sc, func.count().over().label("total"))
        .where(sc.segment == segment, *shown(scored, f))
        .subquery("in_segment")
    )
    s = in_segment.c
    conditions = []
    if after is not None:
        m_score, value_e4, contact_id = after
        conditions.append(
            or_(
                s.m_score < m_score,
                and_(s.m_score == m_score, s.value_e4 < value_e4),
                and_(s.m_score == m_score, s.value_e4 == value_e4, s.contact_id > contact_id),
            )
        )
    rows = conn.execute(
        select(in_segment).where(*conditions).order_by(*_order_by(s)).limit(first + 1)
    ).all()
    total = rows[0].total if rows else _segment_size(conn, f, grid, segment)
    page = [_scored_contact(row) for row in rows[:first]]
    return ContactPage(page, int(total), len(rows) > first)


def _segment_size(conn: Connection, f: ReportFilters, grid: SegmentGrid, segment: int) -> int:
    scored, _ = scored_contacts(f, grid)
    return conn.execute(
        select(func.count()).where(scored.c.segment == segment, *shown(scored, f))
    ).scalar_one()


def segment_size(conn: Connection, f: ReportFilters, grid: SegmentGrid, segment: int) -> int:
    """How many of the shown contacts are in the segment now (for automations)."""
    return _segment_size(conn, f, grid, segment)


def _scored_contact(row) -> ScoredContact:
    return ScoredContact(
        contact_id=int(row.contact_id),
        recency_days=int(row.recency_days),
        frequency=int(row.frequency),
        currency=row.currency,
        value_e4=int(row.value_e4),
        r_score=int(row.r_score),
        f_score=int(row.f_score),
        m_score=int(row.m_score),
        last_order_at=int(row.last_order_at),
        segment=int(row.segment),
    )


@dataclass(frozen=True)
class ContactFields:
    external_id: str
    name: str | None
    phone: str | None


def contact_fields(conn: Connection, organization_id: int, ids: list[int]) -> dict[int, ContactFields]:
    """Name, phone and external id of the given contacts, in one query (the DataLoader's batch)."""
    c = contacts.c
    rows = conn.execute(
        select(c.id, c.external_id, c.name, c.phone).where(
            c.organization_id == organization_id, c.id.in_(ids)
        )
    ).all()
    return {row.id: ContactFields(row.external_id, row.name, row.phone) for row in rows}


def export_contacts(
    conn: Connection, f: ReportFilters, grid: SegmentGrid
) -> Iterator[tuple[ScoredContact, ContactFields]]:
    """Every shown scored contact with its fields, by segment then drill-down order, streamed.

    A server-side cursor (``stream_results``) hands rows over in batches of ``STREAM_ROWS``, so
    a million contacts never sit in memory at once.
    """
    scored, _ = scored_contacts(f, grid)
    sc, c = scored.c, contacts.c
    position = case(*[(sc.segment == i, i) for i in range(len(grid.segments))], else_=-1)
    stmt = (
        select(*sc, c.external_id, c.name, c.phone)
        .join_from(scored, contacts, and_(c.organization_id == f.organization_id, c.id == sc.contact_id))
        .where(*shown(scored, f))
        .order_by(position, *_order_by(sc))
    )
    result = conn.execution_options(stream_results=True, yield_per=STREAM_ROWS).execute(stmt)
    try:
        for row in result:
            yield _scored_contact(row), ContactFields(row.external_id, row.name, row.phone)
    finally:
        result.close()


# ---- sales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSales:
    orders: int
    buyers: int
    recency_days: float | None  # average over buyers; None without buyers
    by_currency: dict[str, tuple[int, int]]  # currency -> (orders, revenue_e4)


def sales(conn: Connection, f: ReportFilters, current: DateRange, previous: DateRange) -> tuple[PeriodSales, PeriodSales]:
    """Orders placed in ``current`` and in ``previous`` (whose end is ``current``'s start).

    Recency: for each contact who ordered in a range, whole days from their last order in that
    range to the range's end; averaged over those contacts.
    """
    o = orders.c
    in_current = o.ordered_at >= current.start_ts
    base = f.where(SalesOrder, which=None) + [
        o.ordered_at >= previous.start_ts,
        o.ordered_at < current.end_ts,
        # the two ranges are adjacent; this keeps the condition right if they ever are not
        or_(in_current, o.ordered_at < previous.end_ts),
    ]
    which = case((in_current, 1), else_=0).label("which")
    money_rows = conn.execute(
        select(which, o.currency, func.count(), cast(func.sum(o.amount_e4), BigInteger))
        .where(*base)
        .group_by(which, o.currency)
    ).all()
    last = (
        select(which, func.max(o.ordered_at).label("last_at"))
        .where(*base)
        .group_by(which, o.contact_id)
        .subquery("last_orders")
    )
    end = case((last.c.which == 1, current.end_ts), else_=previous.end_ts)
    recency_rows = conn.execute(
        select(
            last.c.which,
            func.count(),
            func.avg((end - last.c.last_at) // DAY),
        ).group_by(last.c.which)
    ).all()
    out = []
    for flag in (1, 0):
        by_currency = {
            currency: (int(n), int(total)) for w, currency, n, total in money_rows if w == flag
        }
        buyers, recency = next(((int(n), avg) for w, n, avg in recency_rows if w == flag), (0, None))
        out.append(
            PeriodSales(
                orders=sum(n for n, _ in by_currency.values()),
                buyers=buyers,
                recency_days=None if recency is None else round(float(recency), 4),
                by_currency=by_currency,
            )
        )
    return out[0], out[1]


# ---- automations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AutomationRecord:
    id: int
    segment: str
    name: str
    created_by: str
    created_at: int
    segment_size: int


def create_automation(
    conn: Connection, organization_id: int, segment: str, name: str, created_by: str, now: int, size: int
) -> AutomationRecord:
    """Record an automation under the organization's next id.

    Two concurrent creations may pick the same id; the loser's transaction fails with an
    ``IntegrityError`` and the caller runs it again (see the ``createAutomation`` resolver).
    """
    a = Automation.__table__.c
    next_id = conn.execute(
        select(func.coalesce(func.max(a.id), 0) + 1).where(a.organization_id == organization_id)
    ).scalar_one()
    record = AutomationRecord(int(next_id), segment, name, created_by, now, size)
    conn.execute(
        insert(Automation.__table__).values(
            organization_id=organization_id,
            id=record.id,
            segment=segment,
            name=name,
            created_by=created_by,
            created_at=now,
            segment_size=size,
        )
    )
    return record


def automations(conn: Connection, organization_id: int) -> list[AutomationRecord]:
    """The organization's automations, newest first."""
    a = Automation.__table__.c
    rows = conn.execute(
        select(a.id, a.segment, a.name, a.created_by, a.created_at, a.segment_size)
        .where(a.organization_id == organization_id)
        .order_by(a.created_at.desc(), a.id.desc())
    ).all()
    return [AutomationRecord(*row) for row in rows]
