"""The success monitor's SQL: RFM scores, segment table, drill-down pages, sales, automations.

Everything is aggregated by the database; Python only shapes the few result rows. The RFM scoring
(:func:`rfm`) reads each contact's orders once per statement, and everything after it works on
small tables:

1. ``per_contact`` (materialized): per contact, its orders before the period end — F (count),
   last order, sum of amounts, and the smallest and largest currency code — for contacts not
   deleted by then. R = calendar days (organization's time zone) from the last order's date to
   the period's last day. Read from the ``customer_orders`` facts, except for the **late**
   contacts (an order or a deletion at or after the period end), read from their orders; with
   too many late rows (:data:`MAX_LATE_ROWS`), from every order (:func:`source` decides).
2. ``mixed_currencies`` (materialized): only for the rare contacts whose orders use several
   currencies, their orders per currency, with the contact's F and last order.
3. ``cells``: contacts counted by cell ``(R days, F, currency, shown)`` with their orders and
   revenue. A contact's segment depends only on its cell, so this histogram (hundreds to a few
   thousand rows) is all the scoring needs. The segment table without filters reads the
   single-currency cells from the ``customer_cell`` rollup, with the late contacts' rows taken
   out as negative rows and put back from their orders.
4. ``scored_cells``: W, the contacts strictly worse, from windows over the cells —
   ``SUM(contacts) OVER (ORDER BY R days DESC)`` (the contacts with as many days or more) minus
   the contacts with exactly as many; likewise for F — then score = 1 + floor(5 * W / N) and the
   segment, a ``CASE`` over the cell code ``10 * R score + F score``.

The segment table sums the scored cells. Per-contact queries (drill-down, CSV) read the same
scores through thresholds: R's score never rises as the days grow, so "R score >= s" is "days <=
the largest day count whose cell scored >= s" (F and M likewise, the other way round); M is scored
among the contacts of the same main currency from a histogram of their averages. Sales read the
day rollups ``order_day_total`` and ``buyer_day`` (:func:`sales`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import CTE, Subquery
from tablero import (
    MONEY_SCALE,
    Automation,
    BadUserInput,
    BuyerDay,
    Contact,
    CustomerCell,
    CustomerOrders,
    DateRange,
    OrderDay,
    OrderDayTotal,
    ReportFilters,
    SalesOrder,
    epoch_day,
    local_midnight,
    local_seconds,
)

from .segments import SegmentGrid

DAY = 86_400
MAX_PAGE = 500
STREAM_ROWS = 2_000
SCORE_LEVELS = (5, 4, 3, 2)

orders = SalesOrder.__table__
contacts = Contact.__table__


def for_reports(conn: Connection) -> Connection:
    """PostgreSQL: give this transaction's report queries room to hash in memory, and skip JIT.

    With the default ``work_mem`` (4 MB) the per-contact aggregation of a million orders spills
    to disk, and JIT compilation costs more than it saves on queries of a second or less. Both
    settings are ``SET LOCAL``: they end with the request's transaction.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")
    return conn


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


def _bigint(expression):
    # PostgreSQL's SUM over integers is NUMERIC; keep integer arithmetic (floor division) exact
    return cast(expression, BigInteger)


def _score(worse, population):
    """SPEC 7: 1 + floor(5 * W / N), in integers (W < N, so 1..5)."""
    return 1 + 5 * worse // population


def _shown(contact_id, f: ReportFilters):
    """1 for a contact the report's group/origin filters select (every contact without them)."""
    if f.group_id is None and f.origin is None:
        return literal(1)
    return case((contact_id.in_(select(contacts.c.id).where(*f.where(Contact))), 1), else_=0)


@dataclass(frozen=True)
class Rfm:
    """The common table expressions of one scoring (one organization, one period end)."""

    per_contact: CTE
    mixed_currencies: CTE
    scored_cells: Subquery


def last_day(f: ReportFilters) -> int:
    """D: the local date (days since 1970-01-01) of the scoring's last instant. R is ``D`` minus
    the last order's local date: calendar days in the organization's time zone, so an order
    yesterday is 1 day ago whatever the hour."""
    return last_day_before(f.current.end_ts, f.timezone)


def last_day_before(end_ts: int, timezone: str) -> int:
    """The local date (days since 1970-01-01) of the instant just before ``end_ts``."""
    end = dt.datetime.fromtimestamp(end_ts - 1, dt.UTC).astimezone(ZoneInfo(timezone))
    return epoch_day(end.date())


def local_day(column, f: ReportFilters, since: int = 0):
    """SQL: the local date of ``column`` (an instant in ``[since, period end)``) as days."""
    return local_seconds(column, f.timezone, since, f.current.end_ts) // DAY


# Beyond this many orders (or deletions) at or after a period's end, a scoring groups the orders
# themselves instead of correcting the customer order facts for the contacts they touch.
MAX_LATE_ROWS = 50_000


def _count_up_to_limit(conn: Connection, *conditions) -> int:
    """Rows meeting ``conditions``, counted up to ``MAX_LATE_ROWS + 1`` (an index range read
    that stops there)."""
    limited = select(literal(1)).where(*conditions).limit(MAX_LATE_ROWS + 1).subquery()
    return conn.execute(select(func.count()).select_from(limited)).scalar()


@dataclass(frozen=True)
class Source:
    """Where a scoring reads each contact's orders (decided once per request, see
    :func:`source`)."""

    facts: bool  # customer_orders, corrected for the late contacts (see :func:`source`)
    cells: bool  # ... and no group/origin filter: the segment table reads customer_cell
    late: bool  # some order or deletion lies at or after the period end
    since: int  # the organization's first order (local dates need the zone's offsets from it)


def source(conn: Connection, f: ReportFilters) -> Source:
    """Facts unless much happened at or after the period end.

    The customer order facts describe every contact as of now. For a period ending earlier, a
    contact with an order at or after the end, or deleted at or after it (a **late** contact),
    is read from its orders instead; everyone else from the facts. With more than
    :data:`MAX_LATE_ROWS` late orders or deletions (a period far in the past) the scoring groups
    every order. Bounded index probes.
    """
    end_ts = f.current.end_ts
    o, c = orders.c, contacts.c
    late_orders = _count_up_to_limit(conn, o.organization_id == f.organization_id,
                                     o.ordered_at >= end_ts)
    late_deletions = _count_up_to_limit(conn, c.organization_id == f.organization_id,
                                        c.deleted_at >= end_ts)
    facts = late_orders <= MAX_LATE_ROWS and late_deletions <= MAX_LATE_ROWS
    since = conn.execute(
        select(func.min(o.ordered_at)).where(o.organization_id == f.organization_id)
    ).scalar()
    return Source(
        facts=facts,
        cells=facts and f.group_id is None and f.origin is None,
        late=bool(late_orders or late_deletions),
        since=min(int(since), f.current.end_ts) if since is not None else f.current.end_ts,
    )


def late_contacts(f: ReportFilters) -> CTE:
    """The contacts with an order, or deleted, at or after the period end."""
    o, c = orders.c, contacts.c
    end_ts = f.current.end_ts
    return (
        union(
            select(o.contact_id.label("contact_id")).where(
                o.organization_id == f.organization_id, o.ordered_at >= end_ts
            ),
            select(c.id).where(c.organization_id == f.organization_id, c.deleted_at >= end_ts),
        )
        .cte("late")
        .prefix_with("MATERIALIZED")
    )


def rfm(f: ReportFilters, grid: SegmentGrid, src: Source, for_cells: bool = False) -> Rfm:
    """The RFM scoring of the organization as of ``f.current.end_ts`` (see the module docstring).

    Every contact with an order before the period end and not deleted by then is scored among
    all such contacts of the organization; the group/origin filters only mark which of them a
    report shows (``shown``). ``for_cells`` (the segment table, with ``src.cells``): only the
    scored cells are wanted, so the single-currency cells come from the ``customer_cell`` rollup
    (the late contacts' rows taken out), and ``per_contact`` holds the mixed-currency and the
    late contacts only.
    """
    end_ts = f.current.end_ts
    today = literal(last_day(f), BigInteger)
    o, c = orders.c, contacts.c
    before_end = [o.organization_id == f.organization_id, o.ordered_at < end_ts]
    co = CustomerOrders.__table__.c
    from_cells = for_cells and src.cells
    late = late_contacts(f) if src.facts and src.late else None
    grouped_only = not src.facts

    def from_orders(*only):
        """Per contact, its orders before the period end, grouped from the orders."""
        grouped = (
            select(
                o.contact_id,
                func.count().label("frequency"),
                func.max(o.ordered_at).label("last_order_at"),
                _bigint(func.sum(o.amount_e4)).label("total_e4"),
                func.min(o.currency).label("currency"),
                func.max(o.currency).label("other_currency"),
            )
            # "+ 0" keeps SQLite off the (organization, ordered_at) index: walking the
            # (organization, contact, ordered_at) one yields the rows already grouped by
            # contact, with no sort
            .where(o.organization_id == f.organization_id, o.ordered_at + 0 < end_ts, *only)
            .group_by(o.contact_id)
            .subquery("grouped")
        )
        g = grouped.c
        # A contact deleted after the period end was still a customer then.
        deleted = (
            select(literal(1))
            .where(
                c.organization_id == f.organization_id, c.id == g.contact_id, c.deleted_at < end_ts
            )
            .exists()
        )
        return select(
            g.contact_id,
            g.frequency,
            g.last_order_at,
            (today - local_day(g.last_order_at, f, src.since)).label("recency_days"),
            g.total_e4,
            g.currency,
            g.other_currency,
            _shown(g.contact_id, f).label("shown"),
        ).where(~deleted)

    if grouped_only:
        per_contact = from_orders()
    else:
        # the facts of the contacts that are not late: one row per buyer ...
        facts = select(
            co.contact_id,
            co.frequency,
            co.last_order_at,
            (today - co.last_day).label("recency_days"),
            co.total_e4,
            co.currency,
            co.other_currency,
            _shown(co.contact_id, f).label("shown"),
        ).where(co.organization_id == f.organization_id, co.deleted == false())
        if from_cells:  # single-currency contacts come from customer_cell
            facts = facts.where(co.currency != co.other_currency)
        if late is None:
            per_contact = facts
        else:
            # ... and the late ones from their orders
            late_ids = select(late.c.contact_id)
            per_contact = union_all(
                facts.where(co.contact_id.not_in(late_ids)),
                from_orders(o.contact_id.in_(late_ids)),
            )
    per_contact = per_contact.cte("per_contact").prefix_with("MATERIALIZED")
    pc = per_contact.c

    mixed_ids = select(pc.contact_id).where(pc.currency != pc.other_currency)
    by_currency = (
        select(
            o.contact_id,
            o.currency,
            func.count().label("n"),
            _bigint(func.sum(o.amount_e4)).label("total_e4"),
            func.max(o.ordered_at).label("last_at"),
        )
        .where(*before_end, o.contact_id.in_(mixed_ids))
        .group_by(o.contact_id, o.currency)
        .subquery("by_currency")
    )
    b = by_currency.c
    mixed_currencies = (
        select(
            b.contact_id,
            b.currency,
            b.n,
            b.total_e4,
            _bigint(func.sum(b.n).over(partition_by=b.contact_id)).label("frequency"),
            func.max(b.last_at).over(partition_by=b.contact_id).label("last_order_at"),
            # the contact is counted once, on its first currency
            func.row_number().over(partition_by=b.contact_id, order_by=b.currency).label("nth"),
            # its main currency: most orders, then the larger sum, then the code
            func.row_number()
            .over(partition_by=b.contact_id, order_by=(b.n.desc(), b.total_e4.desc(), b.currency))
            .label("main_rank"),
            _shown(b.contact_id, f).label("shown"),
        )
        .cte("mixed_currencies")
        .prefix_with("MATERIALIZED")
    )
    mc = mixed_currencies.c
    mixed_recency = today - local_day(mc.last_order_at, f, src.since)

    pc_single_cells = (
        select(
            pc.recency_days,
            pc.frequency,
            pc.currency,
            pc.shown,
            func.count().label("contacts"),
            _bigint(func.sum(pc.frequency)).label("orders"),
            _bigint(func.sum(pc.total_e4)).label("revenue_e4"),
        )
        .where(pc.currency == pc.other_currency)
        .group_by(pc.recency_days, pc.frequency, pc.currency, pc.shown)
    )
    if from_cells:
        # the single-currency contacts' cells, rolled up at ingestion ...
        cc = CustomerCell.__table__.c
        single_cells = [
            select(
                (today - cc.last_day).label("recency_days"),
                cc.frequency,
                cc.currency,
                literal(1).label("shown"),
                cc.contacts,
                cc.orders,
                cc.revenue_e4,
            ).where(cc.organization_id == f.organization_id),
            pc_single_cells,
        ]
        if late is not None:
            # ... less the late contacts' rows in them (their cells as of the period end are
            # in pc_single_cells): cells are sums, so a negative row takes them out
            single_cells.append(
                select(
                    (today - co.last_day).label("recency_days"),
                    co.frequency,
                    co.currency,
                    literal(1).label("shown"),
                    -func.count(),
                    -_bigint(func.sum(co.frequency)),
                    -_bigint(func.sum(co.total_e4)),
                )
                .where(
                    co.organization_id == f.organization_id,
                    co.deleted == false(),
                    co.currency == co.other_currency,
                    co.contact_id.in_(select(late.c.contact_id)),
                )
                .group_by(co.last_day, co.frequency, co.currency)
            )
    else:
        single_cells = [pc_single_cells]
    mixed_cells = select(
        mixed_recency.label("recency_days"),
        mc.frequency,
        mc.currency,
        mc.shown,
        _bigint(func.sum(case((mc.nth == 1, 1), else_=0))).label("contacts"),
        _bigint(func.sum(mc.n)).label("orders"),
        _bigint(func.sum(mc.total_e4)).label("revenue_e4"),
    ).group_by(mixed_recency, mc.frequency, mc.currency, mc.shown)
    cells = union_all(*single_cells, mixed_cells).subquery("cells")

    x = cells.c
    in_cells = func.sum(x.contacts)
    windows = select(
        *x,
        _bigint(
            in_cells.over(order_by=x.recency_days.desc())
            - in_cells.over(partition_by=x.recency_days)
        ).label("r_worse"),
        _bigint(
            in_cells.over(order_by=x.frequency.asc()) - in_cells.over(partition_by=x.frequency)
        ).label("f_worse"),
        _bigint(in_cells.over()).label("scored"),
    ).subquery("windows")
    w = windows.c
    scores = select(
        *(
            w[name]
            for name in (
                "recency_days",
                "frequency",
                "currency",
                "shown",
                "contacts",
                "orders",
                "revenue_e4",
                "scored",
            )
        ),
        _score(w.r_worse, w.scored).label("r_score"),
        _score(w.f_worse, w.scored).label("f_score"),
    ).subquery("scores")
    s = scores.c
    scored_cells = select(*s, segment_case(grid, s.r_score, s.f_score).label("segment")).subquery(
        "scored_cells"
    )
    return Rfm(per_contact, mixed_currencies, scored_cells)


def segment_case(grid: SegmentGrid, r_score, f_score):
    """SQL: the index into ``grid.segments`` of the segment owning cell (R score, F score)."""
    cell = 10 * r_score + f_score
    return case(
        *[(cell.in_(seg.codes), index) for index, seg in enumerate(grid.segments)], else_=-1
    )


def scored_contacts(f: ReportFilters, grid: SegmentGrid, src: Source) -> Subquery:
    """One row per scored contact the report shows: ``contact_id, frequency, last_order_at,
    recency_days, currency, value_e4, r_score, f_score, m_score, segment``.

    ``currency`` is the contact's main currency (the one with most orders) and ``value_e4`` its
    average order in that currency, in ten-thousandths rounded half up (integer arithmetic, so
    both databases agree exactly).
    """
    scoring = rfm(f, grid, src)
    pc, mc, sc = scoring.per_contact.c, scoring.mixed_currencies.c, scoring.scored_cells.c
    today = literal(last_day(f), BigInteger)
    people = (
        union_all(
            select(
                pc.contact_id,
                pc.frequency,
                pc.last_order_at,
                pc.recency_days,
                pc.currency,
                ((2 * pc.total_e4 + pc.frequency) // (2 * pc.frequency)).label("value_e4"),
                pc.shown,
            ).where(pc.currency == pc.other_currency),
            select(
                mc.contact_id,
                mc.frequency,
                mc.last_order_at,
                (today - local_day(mc.last_order_at, f, src.since)).label("recency_days"),
                mc.currency,
                ((2 * mc.total_e4 + mc.n) // (2 * mc.n)).label("value_e4"),
                mc.shown,
            ).where(mc.main_rank == 1),
        )
        .cte("people")
        .prefix_with("MATERIALIZED")
    )
    p = people.c

    # R and F thresholds from the scored cells (one row)
    thresholds = (
        select(
            *[
                func.max(case((sc.r_score >= level, sc.recency_days))).label(f"r{level}")
                for level in SCORE_LEVELS
            ],
            *[
                func.min(case((sc.f_score >= level, sc.frequency))).label(f"f{level}")
                for level in SCORE_LEVELS
            ],
            # materialized: computed once, not once per contact of a nested loop
        )
        .cte("thresholds")
        .prefix_with("MATERIALIZED")
    )
    t = thresholds.c

    # M: a histogram of averages per currency; W = contacts of that currency with a lower one
    values = (
        select(p.currency, p.value_e4, func.count().label("contacts"))
        .group_by(p.currency, p.value_e4)
        .subquery("values")
    )
    v = values.c
    in_currency = func.sum(v.contacts)
    value_windows = select(
        v.currency,
        v.value_e4,
        _bigint(
            in_currency.over(partition_by=v.currency, order_by=v.value_e4.asc()) - v.contacts
        ).label("worse"),
        _bigint(in_currency.over(partition_by=v.currency)).label("scored"),
    ).subquery("value_windows")
    vw = value_windows.c
    value_scores = select(
        vw.currency, vw.value_e4, _score(vw.worse, vw.scored).label("m_score")
    ).subquery("value_scores")
    vs = value_scores.c
    value_thresholds = (
        select(
            vs.currency,
            *[
                func.min(case((vs.m_score >= level, vs.value_e4))).label(f"m{level}")
                for level in SCORE_LEVELS
            ],
        )
        .group_by(vs.currency)
        .cte("value_thresholds")
        .prefix_with("MATERIALIZED")
    )
    vt = value_thresholds.c

    def level_of(condition):
        return case(*[(condition(level), level) for level in SCORE_LEVELS], else_=1)

    r_score = level_of(lambda level: p.recency_days <= t[f"r{level}"])
    f_score = level_of(lambda level: p.frequency >= t[f"f{level}"])
    m_score = level_of(lambda level: p.value_e4 >= vt[f"m{level}"])
    with_scores = (
        select(
            p.contact_id,
            p.frequency,
            p.last_order_at,
            p.recency_days,
            p.currency,
            p.value_e4,
            r_score.label("r_score"),
            f_score.label("f_score"),
            m_score.label("m_score"),
        )
        .select_from(
            people.join(value_thresholds, vt.currency == p.currency).join(thresholds, true())
        )
        .where(p.shown == 1)
        .subquery("with_scores")
    )
    ws = with_scores.c
    return select(*ws, segment_case(grid, ws.r_score, ws.f_score).label("segment")).subquery(
        "scored"
    )


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    contacts: int  # contacts counted on this currency (each contact once, on its first currency)
    orders: int
    revenue_e4: int


@dataclass(frozen=True)
class SegmentFigures:
    index: int
    contacts: int
    totals: tuple[CurrencyTotals, ...]  # by currency code


@dataclass(frozen=True)
class SegmentTable:
    scored: int  # contacts shown that have a score
    segments: tuple[SegmentFigures, ...]  # one per grid segment, in grid order


def segment_table(conn: Connection, f: ReportFilters, grid: SegmentGrid) -> SegmentTable:
    """Contacts, orders and revenue (per currency) of every segment's contacts, zeros included.

    Revenue and orders are all of the contacts' orders up to the period end (the same orders their
    scores come from), in each order's currency.
    """
    sc = rfm(f, grid, source(conn, f), for_cells=True).scored_cells.c
    rows = (
        for_reports(conn)
        .execute(
            select(
                sc.segment,
                sc.currency,
                _bigint(func.sum(sc.contacts)).label("contacts"),
                _bigint(func.sum(sc.orders)).label("orders"),
                _bigint(func.sum(sc.revenue_e4)).label("revenue_e4"),
            )
            .where(sc.shown == 1)
            .group_by(sc.segment, sc.currency)
            .order_by(sc.segment, sc.currency)
        )
        .all()
    )
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
    """One page of a segment's contacts in :func:`_order_by` order, after the keyset ``after``,
    and the segment's size, in one statement."""
    sc = scored_contacts(f, grid, source(conn, f)).c
    members = select(*sc).where(sc.segment == segment).cte("members").prefix_with("MATERIALIZED")
    m = members.c
    conditions = []
    if after is not None:
        m_score, value_e4, contact_id = after
        conditions.append(
            or_(
                m.m_score < m_score,
                and_(m.m_score == m_score, m.value_e4 < value_e4),
                and_(m.m_score == m_score, m.value_e4 == value_e4, m.contact_id > contact_id),
            )
        )
    page = (
        select(members).where(*conditions).order_by(*_order_by(m)).limit(first + 1).subquery("page")
    )
    size = select(func.count().label("total")).select_from(members).subquery("size")
    rows = (
        for_reports(conn)
        .execute(
            select(size.c.total, page)
            .select_from(size.outerjoin(page, true()))
            .order_by(*_order_by(page.c))
        )
        .all()
    )
    total = int(rows[0].total)
    found = [_scored_contact(row) for row in rows if row.contact_id is not None]
    return ContactPage(found[:first], total, len(found) > first)


def segment_size(conn: Connection, f: ReportFilters, grid: SegmentGrid, segment: int) -> int:
    """How many of the shown contacts are in the segment (for automations)."""
    scored = scored_contacts(f, grid, source(conn, f))
    return (
        for_reports(conn)
        .execute(select(func.count()).select_from(scored).where(scored.c.segment == segment))
        .scalar_one()
    )


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


def contact_fields(
    conn: Connection, organization_id: int, ids: list[int]
) -> dict[int, ContactFields]:
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
    scored = scored_contacts(f, grid, source(conn, f))
    sc, c = scored.c, contacts.c
    stmt = (
        select(*sc, c.external_id, c.name, c.phone)
        .join_from(
            scored, contacts, and_(c.organization_id == f.organization_id, c.id == sc.contact_id)
        )
        .order_by(sc.segment, *_order_by(sc))
    )
    streaming = for_reports(conn).execution_options(stream_results=True, yield_per=STREAM_ROWS)
    result = streaming.execute(stmt)
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


def _subtract(rows: list, minus: list) -> list:
    """``(which, currency, orders, revenue)`` rows less the ``minus`` rows of the same key."""
    out = {(w, cur): [n, total] for w, cur, n, total in rows}
    for w, cur, n, total in minus:
        entry = out.setdefault((w, cur), [0, 0])
        entry[0] -= n
        entry[1] -= total
    return [(w, cur, n, total) for (w, cur), (n, total) in out.items() if n]


def sales(
    conn: Connection, f: ReportFilters, current: DateRange, previous: DateRange
) -> tuple[PeriodSales, PeriodSales]:
    """Orders placed in ``current`` and in ``previous`` (whose end is ``current``'s start).

    Recency: for each contact who ordered in a range, calendar days (organization's time zone)
    from their last order in that range to the range's last day; averaged over those contacts.

    Without group/origin filters the figures are sums over the per-day rollups
    (``order_day_total``, ``buyer_day``): O(days) rows, corrected for the orders of the last day
    placed after the end (asOf). With them, they are grouped from the orders.
    """
    conn = for_reports(conn)
    o = orders.c
    first_day, cut_day = epoch_day(previous.start), epoch_day(current.start)
    current_last = last_day_before(current.end_ts, f.timezone)
    previous_last = cut_day - 1
    day_end = local_midnight(
        dt.date(1970, 1, 1) + dt.timedelta(days=current_last + 1), ZoneInfo(f.timezone)
    )
    late_today = [
        o.organization_id == f.organization_id,
        o.ordered_at >= current.end_ts,
        o.ordered_at < day_end,
    ]
    rollups = (
        f.group_id is None
        and f.origin is None
        and previous.end_ts == current.start_ts
        and _count_up_to_limit(conn, *late_today) <= MAX_LATE_ROWS
    )
    if rollups:
        totals = OrderDayTotal.__table__.c
        in_current = totals.day >= cut_day
        which = case((in_current, 1), else_=0)
        money_rows = conn.execute(
            select(which, totals.currency, _bigint(func.sum(totals.orders)),
                   _bigint(func.sum(totals.revenue_e4)))
            .where(
                totals.organization_id == f.organization_id,
                totals.day >= first_day,
                totals.day <= current_last,
            )
            .group_by(which, totals.currency)
        ).all()
        b = BuyerDay.__table__.c

        def buyers_of(first, last):
            """Buyers of the days ``[first, last]`` and their days since their last order: each
            buyer's last order day in the range is its row whose next order day is after it."""
            last_in_range = and_(b.day >= first, b.day <= last, b.next_day > last)
            return (
                _bigint(func.sum(case((last_in_range, b.buyers), else_=0))),
                _bigint(func.sum(case((last_in_range, b.buyers * (last - b.day)), else_=0))),
            )

        buyers = conn.execute(
            select(
                *buyers_of(cut_day, current_last), *buyers_of(first_day, previous_last)
            ).where(
                b.organization_id == f.organization_id,
                b.day >= first_day,
                b.day <= current_last,
            )
        ).one()
        buyers = [int(x or 0) for x in buyers]
        # The rollups hold whole days. When the period ends inside its last day (asOf), that
        # day's later orders are taken out again, and the buyers who placed them are counted
        # from their orders before the end instead of from the rollup.
        if current.end_ts < day_end:
            money_rows = _subtract(
                money_rows,
                conn.execute(
                    select(literal(1), o.currency, func.count(), _bigint(func.sum(o.amount_e4)))
                    .where(*late_today)
                    .group_by(o.currency)
                ).all(),
            )
            late_buyers = select(o.contact_id).where(*late_today)
            d = OrderDay.__table__.c
            counted = conn.execute(
                select(func.count(), _bigint(func.sum(current_last - d.day))).where(
                    d.organization_id == f.organization_id,
                    d.contact_id.in_(late_buyers),
                    d.first_currency == true(),
                    d.day >= cut_day,
                    d.day <= current_last,
                    d.next_day > current_last,
                )
            ).one()
            last_before_end = (
                select(func.max(o.ordered_at).label("last"))
                .where(
                    o.organization_id == f.organization_id,
                    o.contact_id.in_(late_buyers),
                    o.ordered_at >= current.start_ts,
                    o.ordered_at < current.end_ts,
                )
                .group_by(o.contact_id)
                .subquery("last_before_end")
            )
            actual = conn.execute(
                select(
                    func.count(),
                    _bigint(func.sum(current_last - local_seconds(
                        last_before_end.c.last, f.timezone, current.start_ts, current.end_ts
                    ) // DAY)),
                )
            ).one()
            buyers[0] += int(actual[0]) - int(counted[0])
            buyers[1] += int(actual[1] or 0) - int(counted[1] or 0)
    else:
        in_current = o.ordered_at >= current.start_ts
        both_ranges = [
            *f.where(SalesOrder, which=None),
            o.ordered_at >= previous.start_ts,
            o.ordered_at < current.end_ts,
            # the two ranges are adjacent; this keeps the condition right if they ever are not
            or_(in_current, o.ordered_at < previous.end_ts),
        ]
        which = case((in_current, 1), else_=0)
        money_rows = conn.execute(
            select(which, o.currency, func.count(), _bigint(func.sum(o.amount_e4)))
            .where(*both_ranges)
            .group_by(which, o.currency)
        ).all()
        # each buyer's last order in each range (grouped by contact alone, so the database may
        # walk the (organization, contact, ordered_at) index instead of sorting)
        last_orders = (
            select(
                func.max(case((in_current, o.ordered_at))).label("current"),
                func.max(case((~in_current, o.ordered_at))).label("previous"),
            )
            .where(*both_ranges)
            .group_by(o.contact_id)
            .subquery("last_orders")
        )
        lo = last_orders.c
        since = previous.start_ts
        buyers = conn.execute(
            select(
                func.count(lo.current),
                _bigint(func.sum(current_last - local_seconds(
                    lo.current, f.timezone, since, current.end_ts) // DAY)),
                func.count(lo.previous),
                _bigint(func.sum(previous_last - local_seconds(
                    lo.previous, f.timezone, since, current.end_ts) // DAY)),
            )
        ).one()
    recency_rows = [
        (1, buyers[0], buyers[1] / buyers[0] if buyers[0] else None),
        (0, buyers[2], buyers[3] / buyers[2] if buyers[2] else None),
    ]
    out = []
    for flag in (1, 0):
        by_currency = {
            currency: (int(n), int(total)) for w, currency, n, total in money_rows if w == flag
        }
        count, recency = next(
            ((int(n), avg) for w, n, avg in recency_rows if w == flag), (0, None)
        )
        out.append(
            PeriodSales(
                orders=sum(n for n, _ in by_currency.values()),
                buyers=count,
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
    conn: Connection,
    organization_id: int,
    segment: str,
    name: str,
    created_by: str,
    now: int,
    size: int,
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
