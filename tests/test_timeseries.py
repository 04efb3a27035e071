"""Local-time bucketing computed by the database (SQLite and PostgreSQL alike)."""

from datetime import UTC, date, datetime

from sqlalchemy import column, func, select, table, union_all, literal

from tablero.periods import DateRange
from tablero.timeseries import (
    Comparison,
    Granularity,
    bucket_index,
    bucket_starts,
    heatmap_cells,
    make_heatmap,
    make_series,
    offset_segments,
)


def ts(*args) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def instants(values):
    """A one-column derived table of instants, so the database does the arithmetic."""
    return union_all(*[select(literal(v).label("t")) for v in values]).subquery()


def test_midnight_in_sao_paulo(db):
    rng = DateRange.of(date(2026, 11, 1), date(2026, 11, 30), "America/Sao_Paulo")
    points = instants(
        [
            ts(2026, 11, 2, 2, 59, 59),  # 2026-11-01 23:59:59 local -> day 0
            ts(2026, 11, 2, 3, 0, 0),  # 2026-11-02 00:00:00 local -> day 1
            ts(2026, 12, 1, 2, 59, 59),  # 2026-11-30 23:59:59 local -> day 29
        ]
    )
    bucket = bucket_index(points.c.t, rng, Granularity.DAY)
    weekday, hour = heatmap_cells(points.c.t, rng)
    rows = db.read(lambda conn: conn.execute(select(bucket, weekday, hour).order_by(points.c.t)).all())
    # 2026-11-01 is a Sunday (7), 2026-11-02 a Monday (1), 2026-11-30 a Monday (1)
    assert [tuple(r) for r in rows] == [(0, 7, 23), (1, 1, 0), (29, 1, 23)]


def test_weeks_and_months_across_a_dst_change(db):
    # New York falls back on 2026-11-01; Sunday 00:30 EDT and 23:30 EST are both in local week 0
    rng = DateRange.of(date(2026, 10, 26), date(2026, 11, 8), "America/New_York")
    starts = bucket_starts(rng, Granularity.WEEK)
    assert starts == [date(2026, 10, 26), date(2026, 11, 2)]
    points = instants(
        [
            ts(2026, 11, 1, 4, 30),  # 00:30 EDT Sun 1 Nov -> week 0, month index 1 (November)
            ts(2026, 11, 2, 4, 30),  # 23:30 EST Sun 1 Nov -> week 0
            ts(2026, 11, 2, 5, 30),  # 00:30 EST Mon 2 Nov -> week 1
            ts(2026, 10, 31, 12, 0),  # Sat 31 Oct -> week 0, month 0
        ]
    )
    week = bucket_index(points.c.t, rng, Granularity.WEEK)
    month = bucket_index(points.c.t, rng, Granularity.MONTH)
    rows = db.read(lambda conn: conn.execute(select(week, month).order_by(points.c.t)).all())
    assert [tuple(r) for r in rows] == [(0, 0), (0, 1), (0, 1), (1, 1)]
    assert len(offset_segments("America/New_York", rng.start_ts, rng.end_ts)) == 2


def test_series_are_zero_filled_and_total_is_the_sum():
    rng = DateRange.of(date(2026, 11, 1), date(2026, 11, 5), "America/Sao_Paulo")
    series = make_series(rng, Granularity.DAY, {1: 3, 4: 2})
    assert series.values == [0, 3, 0, 0, 2]
    assert series.total == 5 == sum(series.values)
    assert series.buckets[0] == date(2026, 11, 1)


def test_heatmap_has_all_168_cells():
    heatmap = make_heatmap([(1, 9, 4), (7, 23, 1)])
    assert len(heatmap.cells) == 168
    assert heatmap.total == 5 and heatmap.max == 4
    assert {(c.weekday, c.hour): c.value for c in heatmap.cells}[(7, 23)] == 1


def test_comparison():
    assert Comparison.of(15, 10).change_percent == 50.0
    zero = Comparison.of(3, 0)
    assert (zero.change, zero.change_percent) == (3, None)
    assert Comparison.of(None, 4).change is None
