"""SQL helpers that differ between SQLite and PostgreSQL, so panels write them once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, func, literal, over, select, union_all
from sqlalchemy.engine import Connection

# Beyond this many groups, SQLite's median numbers the rows with one windowed pass instead
# (measured: with 10 groups the window is a little faster than 10 slices, with 2 far slower).
_MAX_SLICED_GROUPS = 4


def table_alias(table, name: str):
    """The alias ``name`` of ``table`` (a model class or a table), made once and reused: an
    alias copies every column and foreign key of its table, a few milliseconds per request
    for a wide table."""
    return _alias(getattr(table, "__table__", table), name)


@lru_cache(maxsize=None)
def _alias(table, name: str):
    return table.alias(name)


def median(conn: Connection, source: Select, by: Sequence[str] = ()) -> Any:
    """Exact median of the ``value`` column of ``source``, computed by the database.

    ``source`` is a SELECT with a column labelled ``value`` (NULLs ignored) and, when ``by`` names
    columns, those too. Returns a float (or None without values); with ``by``, a dict
    ``{group key (tuple if several columns, else the value): median}``. An even count gives the
    mean of the two middle values.

    PostgreSQL: ``percentile_cont(0.5) WITHIN GROUP (ORDER BY value)``. SQLite has no median
    aggregate: one statement counts each group's values, a second reads each group's one or two
    middle values with ``ORDER BY value LIMIT .. OFFSET ..`` (one sort per group, measured
    about twice as fast as numbering every row with window functions, which sorts twice).
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
        rows = conn.execute(stmt).all()
    else:
        rows = _sqlite_medians(conn, sub, keys, value)
    if not by:
        return float(rows[0][-1]) if rows and rows[0][-1] is not None else None
    out = {}
    for row in rows:
        key = tuple(row[: len(by)]) if len(by) > 1 else row[0]
        out[key] = float(row[-1]) if row[-1] is not None else None
    return out


def _sqlite_medians(conn: Connection, sub, keys: list, value) -> list[tuple]:
    """Rows ``(*key, median)``, one per group of ``sub`` that has values."""
    counts = conn.execute(
        select(*keys, func.count(value)).where(value.is_not(None)).group_by(*keys)
    ).all()
    counts = [row for row in counts if row[-1]]
    if not counts:
        return []
    if len(counts) > _MAX_SLICED_GROUPS:
        return _sqlite_windowed_medians(conn, sub, keys, value)
    parts = []
    for index, row in enumerate(counts):
        n = int(row[-1])
        same_group = [k.is_(None) if v is None else k == v for k, v in zip(keys, row[:-1])]
        middle = (
            select(value.label("v"))
            .where(value.is_not(None), *same_group)
            .order_by(value)
            .limit(2 - n % 2)
            .offset((n - 1) // 2)
            .subquery()
        )
        parts.append(select(literal(index).label("g"), func.avg(middle.c.v).label("m")))
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    medians = dict(conn.execute(statement).all())
    return [(*row[:-1], medians.get(index)) for index, row in enumerate(counts)]


def _sqlite_windowed_medians(conn: Connection, sub, keys: list, value) -> list[tuple]:
    """Number the rows in order within each group and average the one or two middles."""
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
    rkeys = [ranked.c[k.name] for k in keys]
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
    return [tuple(row) for row in conn.execute(stmt).all()]


# ---------------------------------------------------------------------------------------------
# Duration buckets: the histograms exact medians start from
# ---------------------------------------------------------------------------------------------


BUCKET_STEP = 5  # leading two digits per bucket: 18 buckets per power of ten


def duration_bucket_sql(column: str) -> str:
    """SQL (SQLite and PostgreSQL): the bucket of a non-negative integer ``column`` — its number
    of decimal digits times 100 plus its first two digits rounded down to a multiple of
    :data:`BUCKET_STEP` (one-digit values: the digit so rounded): ``7`` -> 105, ``42`` -> 240,
    ``3600`` -> 435. Buckets are ordered as their values are, and each is at most half its lower
    bound wide (18 per power of ten). Negative values share bucket 0; NULL stays NULL."""
    # (as an integer: a fractional value SQLite kept as REAL falls in its whole part's bucket)
    text_value = f"CAST(CAST({column} AS BIGINT) AS TEXT)"
    lead = f"CAST(SUBSTR({text_value}, 1, 2) AS INTEGER)"
    return (
        f"(CASE WHEN {column} IS NULL THEN NULL WHEN {column} < 0 THEN 0"
        f" ELSE LENGTH({text_value}) * 100 + ({lead} / {BUCKET_STEP}) * {BUCKET_STEP} END)"
    )


def bucket_bounds(bucket: int) -> tuple[int | None, int]:
    """The values ``[low, high)`` of a :func:`duration_bucket_sql` bucket (``low`` None: every
    negative value)."""
    digits, lead = divmod(bucket, 100)
    if digits == 0:
        return None, 0
    scale = 10 ** max(digits - 2, 0)
    return lead * scale, (lead + BUCKET_STEP) * scale


def duration_buckets(values: np.ndarray) -> np.ndarray:
    """:func:`duration_bucket_sql` of an array of integer values, in numpy (for facts computed
    in Python; ``tests/test_median.py`` checks both give the same buckets)."""
    v = np.asarray(values, dtype=np.int64)
    safe = np.maximum(v, 0)
    digits = np.searchsorted(_POWERS_OF_TEN, safe, side="right") + 1
    lead = safe // _POWERS_OF_TEN_BELOW[np.maximum(digits - 2, 0)]
    return np.where(v < 0, 0, digits * 100 + (lead // BUCKET_STEP) * BUCKET_STEP)


_POWERS_OF_TEN = np.array([10**k for k in range(1, 19)], dtype=np.int64)
_POWERS_OF_TEN_BELOW = np.array([10**k for k in range(19)], dtype=np.int64)


def histogram_medians(
    conn: Connection,
    histogram,
    values: Callable[[Any, int, int | None, int], Select],
    totals: dict | None = None,
) -> dict[Any, float]:
    """Exact medians per group from a histogram of :func:`duration_bucket_sql` buckets.

    ``histogram``: a subquery with columns ``g`` (the group), ``bucket`` and ``c`` (its count,
    one row per group and bucket, no empty buckets). ``values(g, bucket, low, high)``: a SELECT
    of the group's values in that bucket (bounds from :func:`bucket_bounds`), as column ``v``.
    One statement finds each group's bucket(s) holding the middle rank(s), a second reads only
    those buckets' values at those ranks: the cost is the histogram plus a bucket, not a sort of
    every value. Returns ``{group: median}`` for the groups that have values; ``totals``, when
    given, receives ``{group: number of values}`` (the histogram's sums, no extra statement)."""
    h = histogram.c
    running = select(
        h.g,
        h.bucket,
        h.c,
        (func.sum(h.c).over(partition_by=h.g, order_by=h.bucket, rows=(None, 0)) - h.c)
        .label("before"),
        func.sum(h.c).over(partition_by=h.g).label("total"),
    ).subquery("running")
    r = running.c
    targets = conn.execute(
        select(r.g, r.bucket, r.before, r.c, r.total).where(
            # the bucket holds the middle rank (n+1)//2 or (n+2)//2, in integers
            2 * r.before <= r.total, 2 * (r.before + r.c) >= r.total
        )
    ).all()
    if totals is not None:
        totals.update((group, int(total)) for group, _, _, _, total in targets)
    picks = []
    for index, (group, bucket, before, count, total) in enumerate(targets):
        before, count, total = int(before), int(count), int(total)
        ranks = sorted({(total + 1) // 2, (total + 2) // 2})  # 1-based middle rank(s)
        inside = [rank - before for rank in ranks if before < rank <= before + count]
        low, high = bucket_bounds(int(bucket))
        in_bucket = values(group, int(bucket), low, high).subquery()
        middle = (
            select(in_bucket.c.v).order_by(in_bucket.c.v)
            .limit(len(inside)).offset(inside[0] - 1).subquery()
        )
        picks.append(
            select(
                literal(index).label("i"), func.sum(middle.c.v).label("s"),
                func.count(middle.c.v).label("k"),
            )
        )
    sums: dict[Any, list[float]] = {}
    if picks:
        for index, total_value, picked in conn.execute(
            picks[0] if len(picks) == 1 else union_all(*picks)
        ):
            acc = sums.setdefault(targets[int(index)][0], [0.0, 0])
            acc[0] += float(total_value or 0)
            acc[1] += int(picked)
    return {group: value / picked for group, (value, picked) in sums.items() if picked}
