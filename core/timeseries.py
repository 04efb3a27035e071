"""Local-time bucketing in SQL, zero-filled series and the 7x24 heatmap.

Instants are UTC epoch seconds. A local wall-clock value is ``ts + utcoffset``; within a range
the offset changes only at the zone's transitions, so it is a short ``CASE`` (usually a constant).
Buckets are then integer arithmetic that SQLite and PostgreSQL compute alike:

* DAY: ``(local - local_midnight_of_first_day) // 86400``
* WEEK (ISO, Monday first): ``(local - local_monday_of_first_week) // 604800``
* MONTH: a ``CASE`` over the month starts (at most 13 branches)
* heatmap: ISO weekday ``((local // 86400) + 3) % 7 + 1`` (1970-01-01 was a Thursday), hour
  ``(local % 86400) // 3600``
"""

from __future__ import annotations

import enum
from bisect import bisect_right
from calendar import timegm
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import case, literal
from sqlalchemy.sql.elements import ColumnElement

from .periods import DateRange

DAY = 86_400
WEEK = 7 * DAY


@strawberry.enum(description="Bucket size of a series, in the organization's time zone.")
class Granularity(enum.Enum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"


def _offset_at(tz: ZoneInfo, ts: int) -> int:
    return int(datetime.fromtimestamp(ts, tz).utcoffset().total_seconds())


def offset_segments(timezone: str, start_ts: int, end_ts: int) -> list[tuple[int, int]]:
    """``[(from_ts, offset_seconds), ...]`` covering ``[start_ts, end_ts)``; first from is start."""
    tz = ZoneInfo(timezone)
    segments = [(start_ts, _offset_at(tz, start_ts))]
    step = 6 * 3600
    cursor = start_ts
    while cursor < end_ts:
        nxt = min(cursor + step, end_ts)
        if _offset_at(tz, nxt) != segments[-1][1]:
            lo, hi = cursor, nxt  # offset changes in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_at(tz, mid) == segments[-1][1]:
                    lo = mid
                else:
                    hi = mid
            segments.append((hi, _offset_at(tz, hi)))
        cursor = nxt
    return segments


def local_seconds(column, timezone: str, start_ts: int, end_ts: int) -> ColumnElement:
    """SQL expression: the column's instant as local wall-clock epoch seconds."""
    segments = offset_segments(timezone, start_ts, end_ts)
    if len(segments) == 1:
        return column + segments[0][1]
    whens = [(column < nxt[0], column + seg[1]) for seg, nxt in zip(segments, segments[1:])]
    return case(*whens, else_=column + segments[-1][1])


def _naive_epoch(day: date) -> int:
    return timegm(day.timetuple())


def bucket_starts(rng: DateRange, granularity: Granularity) -> list[date]:
    """The first local date of each bucket overlapping the range (weeks start on Monday)."""
    if granularity is Granularity.DAY:
        return [rng.start + timedelta(days=i) for i in range(rng.days)]
    if granularity is Granularity.WEEK:
        first = rng.start - timedelta(days=rng.start.weekday())
        count = (rng.end - first).days // 7 + 1
        return [first + timedelta(days=7 * i) for i in range(count)]
    starts, cursor = [], rng.start.replace(day=1)
    while cursor <= rng.end:
        starts.append(cursor)
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return starts


def bucket_index(column, rng: DateRange, granularity: Granularity) -> ColumnElement:
    """SQL expression: index into :func:`bucket_starts` of the column's local date."""
    local = local_seconds(column, rng.timezone, rng.start_ts, rng.end_ts)
    starts = bucket_starts(rng, granularity)
    if granularity is Granularity.DAY:
        return (local - _naive_epoch(starts[0])) // DAY
    if granularity is Granularity.WEEK:
        return (local - _naive_epoch(starts[0])) // WEEK
    if len(starts) == 1:
        return literal(0)
    whens = [(local < _naive_epoch(s), i) for i, s in enumerate(starts[1:])]
    return case(*whens, else_=len(starts) - 1)


def epoch_day(day: date) -> int:
    """A local date as whole days since 1970-01-01 (``contact_activity.day``)."""
    return _naive_epoch(day) // DAY


def day_bucket_index(day_column, rng: DateRange, granularity: Granularity) -> ColumnElement:
    """SQL expression: index into :func:`bucket_starts` of a local date stored as days since
    1970-01-01 (:func:`epoch_day`), the bucketing of :func:`bucket_index` for day facts."""
    starts = bucket_starts(rng, granularity)
    first = epoch_day(starts[0])
    if granularity is Granularity.DAY:
        return day_column - first
    if granularity is Granularity.WEEK:
        return (day_column - first) // 7
    if len(starts) == 1:
        return literal(0)
    whens = [(day_column < epoch_day(s), i) for i, s in enumerate(starts[1:])]
    return case(*whens, else_=len(starts) - 1)


def local_date_index(column, rng: DateRange) -> ColumnElement:
    """SQL expression: whole local days since the range's first day (DAY buckets)."""
    return bucket_index(column, rng, Granularity.DAY)


def heatmap_cells(column, rng: DateRange) -> tuple[ColumnElement, ColumnElement]:
    """SQL expressions ``(iso_weekday 1..7, hour 0..23)`` of the column in local time."""
    local = local_seconds(column, rng.timezone, rng.start_ts, rng.end_ts)
    return ((local // DAY) + 3) % 7 + 1, (local % DAY) // 3600


def epoch_to_local(ts: int | None, timezone: str) -> datetime | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(timezone))


def local_day_of(ts: int, timezone: str) -> date:
    return datetime.fromtimestamp(ts, ZoneInfo(timezone)).date()


def bucket_of_date(day: date, starts: list[date]) -> int:
    return bisect_right(starts, day) - 1


# ---- GraphQL types shared by every panel -------------------------------------------------


@strawberry.type(description="A zero-filled series of counts; `total` is the sum of `values`.")
class Series:
    granularity: Granularity
    buckets: list[date] = strawberry.field(description="First local day of each bucket.")
    values: list[int]
    total: int


def make_series(
    rng: DateRange, granularity: Granularity, counts: Mapping[int, int] | Iterable[tuple]
) -> Series:
    """Zero-fill ``{bucket_index: count}`` (or rows ``(index, count)``) into a :class:`Series`."""
    starts = bucket_starts(rng, granularity)
    values = [0] * len(starts)
    items = counts.items() if isinstance(counts, Mapping) else counts
    for index, count in items:
        if index is not None and 0 <= int(index) < len(values):
            values[int(index)] += int(count or 0)
    return Series(granularity=granularity, buckets=starts, values=values, total=sum(values))


@strawberry.type(description="One cell of a weekday x hour heatmap.")
class HeatmapCell:
    weekday: int = strawberry.field(description="ISO weekday: 1 = Monday .. 7 = Sunday.")
    hour: int = strawberry.field(description="Local hour 0..23.")
    value: int


@strawberry.type(description="7 x 24 cells (all 168 present), in the organization's time zone.")
class Heatmap:
    cells: list[HeatmapCell]
    total: int
    max: int


def make_heatmap(rows: Iterable[tuple]) -> Heatmap:
    """Rows ``(weekday, hour, count)`` into a full 168-cell :class:`Heatmap`."""
    grid = {(d, h): 0 for d in range(1, 8) for h in range(24)}
    for weekday, hour, count in rows:
        key = (int(weekday), int(hour))
        if key in grid:
            grid[key] += int(count or 0)
    cells = [HeatmapCell(weekday=d, hour=h, value=v) for (d, h), v in grid.items()]
    values = grid.values()
    return Heatmap(cells=cells, total=sum(values), max=max(values))


@strawberry.type(
    description="A figure and its previous-period counterpart. changePercent is null when the "
    "previous value is 0 (or either value is unknown)."
)
class Comparison:
    value: float | None
    previous_value: float | None
    change: float | None
    change_percent: float | None

    @classmethod
    def of(cls, value: float | None, previous: float | None) -> Comparison:
        change = None if value is None or previous is None else value - previous
        percent = None
        if change is not None and previous:
            percent = round(change / previous * 100.0, 4)
        return cls(value=value, previous_value=previous, change=change, change_percent=percent)
