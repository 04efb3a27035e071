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

