"""Which SQL statements does one bench operation spend its time in?

    python bench/profile.py contacts_behaviour:panel_30d --scale medium --backend sqlite
    python bench/profile.py home:page --backend postgres --plan   # also print each query plan

Runs the named operation of ``bench/queries/`` (on the data set ``bench/run.py`` loaded) a few
times and prints, for the last run, every statement with its time, slowest first. The time is
from the statement's start to its first row (cursor execute): SQLite does much of its work while
the rows are fetched, so read the figures as a ranking, and ``bench/run.py`` for the totals. ``--plan``
adds ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN ANALYZE`` (PostgreSQL) of the slowest ones.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).parent))

from run import NOW, database_url, load_queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("operation", help="panel:name, as bench/run.py prints it")
    parser.add_argument("--scale", default="medium", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--url")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plan", action="store_true", help="print the plans of the 3 slowest")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--each", type=int, default=0, metavar="N",
        help="also run each statement of the last run alone N times, rows fetched, and rank "
        "them by the median (no concurrency: the figure of the statement itself)",
    )
    args = parser.parse_args()

    from tablero.auth import Principal
    from tablero.context import TableroContext
    from tablero.db import Database
    from tablero.plugin_manager import Registry, make_plugin_manager
    from tablero.schema import build_schema
    from tablero.settings import Settings

    panel = args.operation.split(":", 1)[0]
    queries = load_queries([panel])
    if args.operation not in queries:
        sys.exit(f"unknown operation; known: {', '.join(sorted(queries))}")
    query, variables = queries[args.operation]
    url = database_url(args.backend, args.scale, args.url, reload=False)
    db = Database(url)
    settings = Settings(database_url=url, clock=lambda: NOW)
    registry = Registry.collect(make_plugin_manager())
    schema = build_schema(registry, settings)
    principal = Principal("admin", f"bench-{args.scale}", "ADMIN")

    statements: list[tuple[float, str, object]] = []
    started_at: dict[int, float] = {}

    @event.listens_for(db.engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        started_at[id(cursor)] = time.perf_counter()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        statements.append((time.perf_counter() - started_at.pop(id(cursor)), statement, parameters))

    async def once() -> float:
        statements.clear()
        context = TableroContext(db=db, registry=registry, clock=lambda: NOW, principal=principal)
        started = time.perf_counter()
        result = await schema.execute(query, variable_values=variables, context_value=context)
        if result.errors:
            sys.exit(f"query failed: {result.errors[0]}")
        return time.perf_counter() - started

    for _ in range(args.runs):
        total = asyncio.run(once())
    slowest = sorted(statements, key=lambda s: -s[0])
    in_sql = sum(s[0] for s in statements)
    print(f"{args.operation}: {total * 1000:.1f} ms in all, {len(statements)} statements, "
          f"{in_sql * 1000:.1f} ms summed inside them (they run concurrently)\n")
    for elapsed, statement, _ in slowest[: args.top]:
        one_line = " ".join(statement.split())
        print(f"{elapsed * 1000:8.1f} ms  {one_line[:400]}")
    if args.each:
        alone = []
        with db.engine.connect() as conn:
            raw = conn.connection.dbapi_connection.cursor()
            for _, statement, parameters in statements:
                times = []
                for _ in range(args.each):
                    started = time.perf_counter()
                    raw.execute(statement, parameters)
                    raw.fetchall()
                    times.append(time.perf_counter() - started)
                alone.append((sorted(times)[len(times) // 2], statement))
        print(f"\nalone, median of {args.each}: {sum(t for t, _ in alone) * 1000:.1f} ms summed\n")
        for elapsed, statement in sorted(alone, key=lambda s: -s[0])[: args.top]:
            print(f"{elapsed * 1000:8.1f} ms  {' '.join(statement.split())[:400]}")
    if args.plan:
        for elapsed, statement, parameters in slowest[:3]:
            print(f"\n--- {elapsed * 1000:.1f} ms\n{statement}\n{parameters}")
            with db.engine.connect() as conn:
                raw = conn.connection.dbapi_connection.cursor()
                prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
                raw.execute(prefix + statement, parameters)
                for row in raw.fetchall():
                    print("   ", row[-1] if db.is_sqlite else row[0])


if __name__ == "__main__":
    main()
