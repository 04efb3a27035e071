"""The home page's CSV sections, built from the same functions as the GraphQL fields.

* ``/export/home/daily-volume.csv``: one row per day of the 30-day window.
* ``/export/home/geography.csv``: one row per state (all 27, alphabetical by UF), then ``UNKNOWN``.

Only ``asOf`` applies (as on the page); the report filters (period, group, origin, channel,
advisor) do not, and passing one is a ``BAD_USER_INPUT`` rather than a silently ignored filter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from sqlalchemy.engine import Connection
from tablero import (
    UNKNOWN_STATE,
    BadUserInput,
    CsvSection,
    ReportFilters,
    daily_volume,
    interacting_geography,
)

from .queries import home_filters_like

REPORT_FILTER_PARAMS = ("period", "start", "end", "group", "origin", "channel", "advisor")


def _page_filters(f: ReportFilters, params: Mapping[str, str]) -> ReportFilters:
    given = [name for name in REPORT_FILTER_PARAMS if params.get(name)]
    if given:
        raise BadUserInput(
            f"the home page has no report filters (got {', '.join(given)}); only asOf applies"
        )
    return home_filters_like(f)


def daily_volume_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str]
) -> Iterator[Sequence[object]]:
    f = _page_filters(f, params)
    volume = daily_volume(conn, f, f.current)
    yield ("day", "sends", "commercial_attentions", "support_attentions")
    yield from zip(
        volume.sends.buckets,
        volume.sends.values,
        volume.commercial.values,
        volume.support.values,
        strict=True,
    )


def geography_rows(
    conn: Connection, f: ReportFilters, params: Mapping[str, str]
) -> Iterator[Sequence[object]]:
    f = _page_filters(f, params)
    states = interacting_geography(conn, f, f.current)
    yield ("uf", "state", "contacts")
    for state in states.states:
        yield (state.uf, state.name, state.contacts)
    yield (UNKNOWN_STATE, "Unknown (no Brazilian DDD)", states.unknown)


SECTIONS = [
    CsvSection(
        plugin="home",
        name="daily-volume",
        capability="home.view",
        rows=daily_volume_rows,
        description="Daily sends, commercial and support attentions over the last 30 days.",
        uses_filters=False,
    ),
    CsvSection(
        plugin="home",
        name="geography",
        capability="home.view",
        rows=geography_rows,
        description="Contacts with interactions in the last 30 days per Brazilian state.",
        uses_filters=False,
    ),
]
