"""CSV sections, served at ``/export/contacts_behaviour/<section>.csv`` with the GraphQL filters as
query parameters (plus ``attributionDays`` for the funnels). Each one calls the same query
function as its GraphQL field, so the file always equals the figures on screen."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy.engine import Connection
from tablero import UNKNOWN_STATE, CsvSection, ReportFilters

from . import queries
from .report import CAPABILITY
from .stages import compose_stages

Rows = Iterator[Sequence[object]]


def interactions_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    report = queries.interactions(conn, f)
    yield ["figure", "value", "previous_value", "change", "change_percent"]
    for name in ("contact_base", "reached_contacts", "commercial_contacts", "support_contacts"):
        figure = getattr(report, name)
        yield [name, figure.value, figure.previous_value, figure.change, figure.change_percent]


def message_funnel_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str], *, registry
) -> Rows:
    f = queries.panel_filters(f)
    days = queries.attribution_days(params.get("attributionDays"))
    # the stages the GraphQL field uses: the defaults and the plugins' levels
    funnel = queries.message_funnel(conn, f, compose_stages(registry.funnel_stages), days)
    yield ["level", "label", "contacts", "rate_of_first", "rate_of_previous"]
    for level in funnel.levels:
        yield [level.key, level.label, level.contacts, level.rate_of_first, level.rate_of_previous]


def journey_funnel_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    days = queries.attribution_days(params.get("attributionDays"))
    funnel = queries.journey_funnel(conn, f, days)
    yield [
        "scope",
        "journey",
        "label",
        "reached_contacts",
        "commercial_contacts",
        "conversion_rate",
    ]
    for scope, row in [("total", funnel.total)] + [("journey", j) for j in funnel.journeys]:
        yield [
            scope,
            row.journey,
            row.label,
            row.reached_contacts,
            row.commercial_contacts,
            row.conversion_rate,
        ]


def contacts_over_time_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    yield ["month", "interacted_contacts", "new_contacts", "contact_base"]
    for month in queries.contacts_over_time(conn, f):
        yield [month.month, month.interacted_contacts, month.new_contacts, month.contact_base]


def geography_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    geo = queries.contacts_geography(conn, f)
    yield ["uf", "state", "contacts"]
    for state in geo.states:
        yield [state.uf, state.name, state.contacts]
    yield [UNKNOWN_STATE, "Unknown (no Brazilian DDD)", geo.unknown]


def daily_volume_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    volume = queries.volume(conn, f)
    yield ["day", "sends", "commercial", "support"]
    for i, day in enumerate(volume.sends.buckets):
        yield [day, volume.sends.values[i], volume.commercial.values[i], volume.support.values[i]]


def attention_distribution_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str]
) -> Rows:
    f = queries.panel_filters(f)
    dist = queries.attentions(conn, f)
    yield ["kind", "attentions", "share"]
    yield ["COMMERCIAL", dist.commercial, dist.commercial_share]
    yield ["SUPPORT", dist.support, dist.support_share]
    yield ["TOTAL", dist.total, 1.0 if dist.total else None]


def commercial_heatmap_rows(conn: Connection, f: ReportFilters, params: Mapping[str, str]) -> Rows:
    f = queries.panel_filters(f)
    heatmap = queries.commercial_heatmap(conn, f)
    yield ["weekday", "hour", "conversations"]
    for cell in heatmap.cells:
        yield [cell.weekday, cell.hour, cell.value]


def _section(name: str, rows, description: str) -> CsvSection:
    return CsvSection(
        plugin="contacts_behaviour",
        name=name,
        capability=CAPABILITY,
        rows=rows,
        description=description,
    )


SECTIONS = [
    _section("interactions", interactions_rows, "Interaction blocks with the previous period."),
    _section(
        "message-funnel",
        message_funnel_rows,
        "Conversion funnel by message status (attributionDays=1..90, default 7).",
    ),
    _section(
        "journey-funnel",
        journey_funnel_rows,
        "Funnel across journeys, total and per journey (attributionDays=1..90, default 7).",
    ),
    _section("contacts-over-time", contacts_over_time_rows, "The last six months, per month."),
    _section("geography", geography_rows, "Contacts with interactions per state."),
    _section("daily-volume", daily_volume_rows, "Daily sends and attentions."),
    _section(
        "attention-distribution", attention_distribution_rows, "Attentions by kind and share."
    ),
    _section(
        "commercial-heatmap", commercial_heatmap_rows, "Commercial attentions by weekday x hour."
    ),
]
