"""CSV sections: the segment table and "Descargar informe" (every scored contact).

Both call the same query functions as the GraphQL fields, so a download equals the screen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sqlalchemy.engine import Connection
from tablero import CsvSection, ReportFilters, epoch_to_local

from . import queries
from .segments import segment_grid
from .types import check_filters, segment_rows

ENTRY_POINT_GROUP = "tablero"


def segments_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list[object]]:
    check_filters(f)
    grid = segment_grid(registry)
    yield [
        "segment",
        "label",
        "category",
        "contacts",
        "share",
        "orders",
        "currency",
        "revenue",
        "average_ticket",
    ]
    table = queries.segment_table(conn, f, grid)
    for row in segment_rows(grid, table):
        head = [
            row.key,
            row.label,
            row.category.name if row.category else "",
            row.contacts,
            row.share,
            row.orders,
        ]
        if not row.revenue:
            yield head + ["", "", ""]
        for revenue, ticket in zip(row.revenue, row.average_ticket, strict=True):
            yield head + [revenue.currency, revenue.amount, ticket.amount]


def contacts_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str], *, registry
) -> Iterator[list[object]]:
    check_filters(f)
    grid = segment_grid(registry)
    yield [
        "contact",
        "name",
        "phone",
        "segment",
        "segment_label",
        "category",
        "recency_days",
        "frequency",
        "average_value",
        "currency",
        "r_score",
        "f_score",
        "m_score",
        "last_order_at",
    ]
    for row, fields in queries.export_contacts(conn, f, grid):
        segment = grid.segments[row.segment]
        yield [
            fields.external_id,
            fields.name,
            fields.phone,
            segment.key,
            segment.label,
            segment.category.name if segment.category else "",
            row.recency_days,
            row.frequency,
            queries.money_text(queries.to_money(row.value_e4)),
            row.currency,
            row.r_score,
            row.f_score,
            row.m_score,
            epoch_to_local(row.last_order_at, f.timezone),
        ]


SECTIONS = [
    CsvSection(
        plugin="success_monitor",
        name="segments",
        capability="success_monitor.view",
        rows=segments_rows,
        description="The segment table: one line per segment and currency (a segment without "
        "orders has one line with no currency).",
    ),
    CsvSection(
        plugin="success_monitor",
        name="contacts",
        capability="success_monitor.view",
        rows=contacts_rows,
        description="Descargar informe: every scored contact with its segment, R, F, M and scores.",
    ),
]
