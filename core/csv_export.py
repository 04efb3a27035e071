"""CSV export plumbing: ``GET /export/<plugin>/<section>.csv`` with the GraphQL field's filters.

A plugin contributes :class:`CsvSection` objects. ``rows`` is a plain (blocking) generator that
yields the header row first, then data rows; the core runs it on a worker thread and streams
UTF-8 CSV in chunks, so a million-row export never sits in memory. Use the same query functions
as the GraphQL resolvers so the CSV always matches the figures on screen.
"""

from __future__ import annotations

import csv
import inspect
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

RowsFn = Callable[..., Iterator[Sequence[object]]]
"""``rows(conn, filters, params)``, or ``rows(conn, filters, params, *, registry)`` to receive the
start-up :class:`tablero.plugin_manager.Registry` (the plugins' rules, stages, segments) the
GraphQL fields read — an opt-in keyword, as pluggy's hooks gain arguments, so a section that
does not ask for it keeps working."""


def rows_kwargs(rows: Callable, registry: object) -> dict[str, object]:
    """The opt-in keyword arguments ``rows`` accepts."""
    try:
        parameters = inspect.signature(rows).parameters
    except (TypeError, ValueError):  # a builtin or C callable: no opt-in arguments
        return {}
    return {"registry": registry} if "registry" in parameters else {}


@dataclass(frozen=True)
class CsvSection:
    plugin: str  # URL segment, e.g. "resolution"
    name: str  # URL segment, e.g. "reasons"
    capability: str  # who may download it (same as the GraphQL field)
    rows: RowsFn  # (connection, filters, query parameters[, registry=]) -> header row, then rows
    description: str = ""
    uses_filters: bool = True


def format_duration(seconds: float | None) -> str:
    """Seconds as ``HH:MM:SS`` (hours may exceed 24); empty when unknown."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, (date, datetime, Decimal)):
        return str(value) if not isinstance(value, datetime) else value.isoformat()
    return value


def encode_rows(rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")
