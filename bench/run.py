"""Benchmark the panels' GraphQL queries on a demo data set, in-process and over HTTP.

    python bench/run.py --scale medium --backend sqlite
    python bench/run.py --scale small --backend postgres --repeat 30 --only resolution

Each panel lists its named operations in ``bench/queries/<panel>.py`` as
``QUERIES = {"name": (query, variables)}``. The data set is the deterministic demo
(``tablero demo``) ending on 2026-11-25, loaded once into ``bench/data/<scale>.sqlite3`` or the
PostgreSQL database ``tablero_bench_<scale>`` and reused by later runs (``--reload`` to redo it).
The clock is pinned to 2026-11-25 15:00 UTC so every run measures the same windows.
Prints a Markdown table (p50 / p95 in milliseconds) to paste into a note.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import socket
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

HERE = Path(__file__).parent
END = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def load_queries(only: list[str]) -> dict[str, tuple[str, dict]]:
    queries: dict[str, tuple[str, dict]] = {}
    for path in sorted((HERE / "queries").glob("*.py")):
        if only and not any(o in path.stem for o in only):
            continue
        spec = importlib.util.spec_from_file_location(f"bench_queries_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, value in getattr(module, "QUERIES", {}).items():
            queries[f"{path.stem}:{name}"] = value
    return queries


def database_url(backend: str, scale: str, url: str | None, reload: bool) -> str:
    if url:
        return url
    if backend == "sqlite":
        path = HERE / "data" / f"{scale}.sqlite3"
        path.parent.mkdir(exist_ok=True)
        if reload:
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    name = f"tablero_bench_{scale}"
    server = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if reload:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = conn.execute(text("select 1 from pg_database where datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return PG_SERVER.rsplit("/", 1)[0] + "/" + name


def ensure_data(db, key: str, scale: str, seed: int) -> None:
    from tablero.ingest import load_demo
    from tablero.orgs import organization_by_key

    if db.read(lambda conn: organization_by_key(conn, key)) is not None:
        return
    started = time.perf_counter()
    print(f"loading the {scale} demo set into {db.url} (once) ...", file=sys.stderr)
    load_demo(db, key, scale, seed, end=END, progress=lambda m: print(m, file=sys.stderr))
    print(f"loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    analyze(db)


def analyze(db) -> None:
    """Fresh planner statistics for every table, as a production database would have once
    autovacuum (PostgreSQL) or ``tablero refresh`` caught up: ``VACUUM ANALYZE`` / ``ANALYZE``."""
    started = time.perf_counter()
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"analyzed in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--url", help="use this database URL instead of the default bench database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query and mode")
    parser.add_argument("--only", action="append", default=[], help="panel name filter (repeatable)")
    parser.add_argument(
        "--op", action="append", default=[],
        help="run only this operation, as panel:name (repeatable)",
    )
    parser.add_argument("--no-http", action="store_true", help="skip the over-HTTP measurements")
    parser.add_argument("--reload", action="store_true", help="drop and reload the data set")
    args = parser.parse_args()

    from tablero.app import create_app
    from tablero.auth import mint_token
    from tablero.context import TableroContext
    from tablero.db import Database
    from tablero.migrate import current_revision, upgrade
    from tablero.plugin_manager import Registry, make_plugin_manager
    from tablero.schema import build_schema
    from tablero.settings import Settings

    url = database_url(args.backend, args.scale, args.url, args.reload)
    before = current_revision(url)
    started = time.perf_counter()
    upgrade(url)
    db = Database(url)
    if before is not None and current_revision(url) != before:
        # an upgrade that computed new facts over the stored data: fresh statistics, as after
        # a load
        print(f"upgraded from {before} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        analyze(db)
    key = f"bench-{args.scale}"
    ensure_data(db, key, args.scale, args.seed)
    queries = load_queries(args.only)
    if args.op:
        queries = {name: q for name, q in queries.items() if name in args.op}
    if not queries:
        sys.exit("no queries found in bench/queries/")

    settings = Settings(database_url=url, clock=lambda: NOW)
    registry = Registry.collect(make_plugin_manager())
    schema = build_schema(registry, settings)
    token = mint_token(settings.jwt_secret, key, "admin", "ADMIN")
    from tablero.auth import Principal

    principal = Principal("admin", key, "ADMIN")
    results: list[tuple[str, str, float, float, int]] = []

    async def in_process(query: str, variables: dict) -> float:
        context = TableroContext(db=db, registry=registry, clock=lambda: NOW, principal=principal)
        started = time.perf_counter()
        result = await schema.execute(query, variable_values=variables, context_value=context)
        elapsed = time.perf_counter() - started
        if result.errors:
            raise SystemExit(f"query failed: {result.errors[0]}")
        return elapsed

    async def run_in_process():
        for name, (query, variables) in queries.items():
            await in_process(query, variables)  # warm-up
            times = [await in_process(query, variables) for _ in range(args.repeat)]
            results.append((name, "in-process", percentile(times, 0.5), percentile(times, 0.95), len(times)))
            print(f"  {name}: p50 {percentile(times, 0.5) * 1000:.1f} ms", file=sys.stderr)

    asyncio.run(run_in_process())

    if not args.no_http:
        import uvicorn

        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(settings, db=db, registry=registry), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for name, (query, variables) in queries.items():
                def once() -> float:
                    started = time.perf_counter()
                    response = client.post("/graphql", json={"query": query, "variables": variables})
                    elapsed = time.perf_counter() - started
                    body = response.json()
                    if response.status_code != 200 or body.get("errors"):
                        raise SystemExit(f"{name} failed over HTTP: {body}")
                    return elapsed

                once()
                times = [once() for _ in range(args.repeat)]
                results.append((name, "http", percentile(times, 0.5), percentile(times, 0.95), len(times)))
        server.should_exit = True
        thread.join(timeout=5)

    print(f"\n{args.scale} demo set on {args.backend} ({db.dialect}), clock {NOW.isoformat()}, {args.repeat} runs\n")
    print("| query | mode | p50 ms | p95 ms | runs |")
    print("|---|---|---:|---:|---:|")
    for name, mode, p50, p95, n in results:
        print(f"| {name} | {mode} | {p50 * 1000:.1f} | {p95 * 1000:.1f} | {n} |")


if __name__ == "__main__":
    main()
