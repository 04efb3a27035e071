"""tablero.median: exact medians computed by the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Integer, literal, select, union_all
from tablero import median


def _values(rows: list[tuple]):
    """A SELECT of literal rows ``(grp, value)``."""
    return union_all(
        *[select(literal(g, Integer).label("grp"), literal(v, Integer).label("value")) for g, v in rows]
    ).subquery("v")


def _run(db, rows, by=()):
    source = _values(rows)
    return db.read(
        lambda conn: median(conn, select(*[source.c[b] for b in by], source.c.value), by=by)
    )


def test_odd_count_is_the_middle_value(db):
    assert _run(db, [(1, 30), (1, 10), (1, 20)]) == 20.0


def test_even_count_is_the_mean_of_the_two_middles(db):
    # 10, 20, 30, 1000: (20 + 30) / 2
    assert _run(db, [(1, 1000), (1, 20), (1, 10), (1, 30)]) == 25.0


def test_nulls_are_ignored_and_no_values_is_none(db):
    assert _run(db, [(1, None), (1, 7), (1, None)]) == 7.0
    assert _run(db, [(1, None)]) is None


def test_grouped_medians_one_per_group_with_values(db):
    rows = [(1, 5), (1, 1), (1, 3), (2, 4), (2, 8), (3, None)]
    assert _run(db, rows, by=["grp"]) == {1: 3.0, 2: 6.0}


def test_many_groups_give_the_same_medians(db):
    # more groups than the SQLite per-group slicing handles: the windowed fallback answers
    rows = [(g, v) for g in range(6) for v in (g, g + 10, g + 11)]
    assert _run(db, rows, by=["grp"]) == {g: float(g + 10) for g in range(6)}


def test_a_null_group_key_is_a_group(db):
    source = union_all(
        select(literal(None, Integer).label("grp"), literal(4, Integer).label("value")),
        select(literal(None, Integer).label("grp"), literal(6, Integer).label("value")),
        select(literal(1, Integer).label("grp"), literal(9, Integer).label("value")),
    ).subquery("v")
    result = db.read(
        lambda conn: median(conn, select(source.c.grp, source.c.value), by=["grp"])
    )
    assert result == {None: 5.0, 1: 9.0}



def test_duration_buckets_are_ordered_and_hold_their_values(db):
    """tablero.duration_bucket_sql in the database, and bucket_bounds inverting it."""
    from sqlalchemy import text
    from tablero import bucket_bounds, duration_bucket_sql

    values = [0, 4, 5, 9, 10, 14, 15, 42, 99, 100, 149, 150, 3599, 3600, 86_399, 86_400,
              1_234_567, 31_536_000]
    rows = " UNION ALL ".join(f"SELECT {v} AS v" for v in values)
    buckets = db.read(lambda conn: dict(conn.execute(text(
        f"SELECT v, {duration_bucket_sql('v')} FROM ({rows}) t"
    )).all()))
    # by hand: digits * 100 + the first two digits rounded down to a multiple of 5
    assert buckets[0] == 100 and buckets[4] == 100 and buckets[5] == 105 and buckets[9] == 105
    assert buckets[14] == 210 and buckets[15] == 215 and buckets[42] == 240
    assert buckets[149] == 310 and buckets[150] == 315 and buckets[3600] == 435
    assert buckets[86_400] == 585 and buckets[31_536_000] == 830
    ordered = [buckets[v] for v in values]
    assert ordered == sorted(ordered)  # as the values are
    for v in values:
        low, high = bucket_bounds(buckets[v])
        assert low <= v < high
    assert bucket_bounds(0) == (None, 0)
    assert db.read(lambda conn: conn.execute(text(
        f"SELECT {duration_bucket_sql('v')} FROM (SELECT -7 AS v) t")).scalar()) == 0


def test_a_duration_beyond_32_bits_has_its_bucket(db):
    """A typo'd year makes a duration of more than 2^31 seconds: still a bucket, no overflow."""
    from sqlalchemy import text
    from tablero import bucket_bounds, duration_bucket_sql

    century = 3_155_760_000  # 100 years of seconds, 10 digits
    bucket = db.read(lambda conn: conn.execute(text(
        f"SELECT {duration_bucket_sql('v')} FROM (SELECT CAST({century} AS BIGINT) AS v) t"
    )).scalar())
    assert bucket == 1030
    low, high = bucket_bounds(bucket)
    assert low <= century < high


def test_numpy_duration_buckets_equal_the_sql_ones(db):
    """tablero.duration_buckets (facts computed in Python) gives the database's buckets, for
    every boundary of a power of ten and its leading digits, and negative values."""
    import numpy as np
    from sqlalchemy import text
    from tablero import duration_bucket_sql, duration_buckets

    values = sorted({-7, 0, 1, 4, 5, 9, 10, 14, 15, 99, 100, 149, 150, 999, 1000, 3600,
                     86_400, 2**31 + 5, 10**12 - 1, 10**12}
                    | {k * 10**e + d for k in range(1, 100) for e in range(0, 8) for d in (-1, 0)})
    in_sql = {}
    for start in range(0, len(values), 400):  # SQLite's limit on a compound SELECT: 500
        rows = " UNION ALL ".join(
            f"SELECT CAST({v} AS BIGINT) AS v" for v in values[start:start + 400])
        in_sql |= db.read(lambda conn, rows=rows: dict(conn.execute(text(
            f"SELECT v, {duration_bucket_sql('v')} FROM ({rows}) t")).all()))
    in_numpy = dict(zip(values, duration_buckets(np.array(values)).tolist(), strict=True))
    assert in_numpy == in_sql
    assert in_numpy[42] == 240 and in_numpy[-7] == 0


def test_histogram_medians_and_their_totals(db):
    """histogram_medians: exact medians from a histogram of buckets plus each bucket's values,
    and (when asked) every group's number of values, from the same statement."""
    from sqlalchemy import func, literal_column
    from tablero import duration_bucket_sql, histogram_medians

    # group 1: 5, 7, 120, 130, 3600 (median 120); group 2: 40, 50 (median 45)
    rows = [(1, 5), (1, 7), (1, 120), (1, 130), (1, 3600), (2, 40), (2, 50)]
    source = _values(rows)
    bucketed = select(
        source.c.grp, literal_column(duration_bucket_sql("value")).label("bucket"), source.c.value
    ).select_from(source).subquery("b")
    histogram = (
        select(bucketed.c.grp.label("g"), bucketed.c.bucket, func.count().label("c"))
        .group_by(bucketed.c.grp, bucketed.c.bucket)
        .subquery("h")
    )

    def values(group, bucket, _low, _high):
        return select(bucketed.c.value.label("v")).where(
            bucketed.c.grp == group, bucketed.c.bucket == bucket
        )

    totals: dict = {}
    medians = db.read(lambda conn: histogram_medians(conn, histogram, values, totals))
    assert medians == {1: 120.0, 2: 45.0}
    assert totals == {1: 5, 2: 2}
