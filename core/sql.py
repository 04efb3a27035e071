"""SQL helpers that differ between SQLite and PostgreSQL, so panels write them once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, func, over, select
from sqlalchemy.engine import Connection


def median(conn: Connection, source: Select, by: Sequence[str] = ()) -> Any:
    """Exact median of the ``value`` column of ``source``, computed by the database.

    ``source`` is a SELECT with a column labelled ``value`` (NULLs ignored) and, when ``by`` names
    columns, those too. Returns a float (or None without values); with ``by``, a dict
    ``{group key (tuple if several columns, else the value): median}``. An even count gives the
    mean of the two middle values.

    PostgreSQL: ``percentile_cont(0.5) WITHIN GROUP (ORDER BY value)``. SQLite (no median
    aggregate): number the rows in order within each group and average the one or two middles.
    """
    sub = source.subquery()
    keys = [sub.c[name] for name in by]
    value = sub.c.value
    if conn.dialect.name == "postgresql":
        stmt = (
            select(*keys, func.percentile_cont(0.5).within_group(value.asc()).label("m"))
            .where(value.is_not(None))
            .group_by(*keys)
        )
    else:
        ranked = (
            select(
                *keys,
                value.label("v"),
                over(func.row_number(), partition_by=keys or None, order_by=value).label("rn"),
                over(func.count(), partition_by=keys or None).label("cnt"),
            )
            .where(value.is_not(None))
            .subquery()
        )
        rkeys = [ranked.c[name] for name in by]
        stmt = (
            select(*rkeys, func.avg(ranked.c.v).label("m"))
            .where(
                and_(
                    ranked.c.rn >= (ranked.c.cnt + 1) // 2,
                    ranked.c.rn <= (ranked.c.cnt + 2) // 2,
                )
            )
            .group_by(*rkeys)
        )
    rows = conn.execute(stmt).all()
    if not by:
        return float(rows[0].m) if rows and rows[0].m is not None else None
    out = {}
    for row in rows:
        key = tuple(row[: len(by)]) if len(by) > 1 else row[0]
        out[key] = float(row.m) if row.m is not None else None
    return out
