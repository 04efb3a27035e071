"""Ingestion benchmark: the demo data set through the NDJSON ingestion path into a fresh database.

    python bench/ingest.py --scale medium --backend sqlite
    python bench/ingest.py --scale medium --backend postgres [--url postgresql://postgres@host/db]
    python bench/ingest.py --scale medium --backend postgres --private-server --no-full-refresh

Steps: (1) generate the demo set (tablero.demo) to an NDJSON file, in a child process so its
memory does not count; (2) create a fresh database (a temporary SQLite file, or a new PostgreSQL
database on the server of --url, dropped afterwards unless --keep), migrate it and create an
organization; (3) ingest the file with tablero.ingest.ingest_lines and report records/s, total
time, this process's CPU time, the time spent in derived facts (tablero.derived.refresh calls),
the peak RSS and the peak memory of this process and its children together (bench/memwatch.py:
PSS, so that the pages a forked worker shares with this process count once); (4) time a whole-organization refresh (unless --no-full-refresh).
``--private-server``: a throwaway PostgreSQL cluster with production settings
(bench/pg_server.py) instead of the shared server.

Targets: >= 50,000 records/s into SQLite for the medium set with peak memory under 500 MB
(this process and its children together); >= 20,000 records/s into PostgreSQL. The load
average is printed: on a shared machine the wall-clock rate says little, records per
CPU-second more.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
import uuid

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _generate(path: str, scale: str, seed: int, end: str | None) -> None:
    import json
    from datetime import date

    from tablero import demo

    end_date = date.fromisoformat(end) if end else None
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        for record in demo.generate(scale, seed, end=end_date):
            out.write(dumps(record))
            out.write("\n")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _children_peak_rss_mb() -> float:
    """The largest peak RSS of this process's finished children (the validating worker of
    tablero.ingest; with a generated file, also the generator)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the validating worker)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF),
                      resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def _watch_memory():
    """bench/memwatch.py watching this process and its children (a separate program, not a
    thread: the ingestion forks its workers only from a process without other threads)."""
    import subprocess

    if not os.path.exists("/proc/self/smaps_rollup"):
        return None
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "memwatch.py")
    return subprocess.Popen([sys.executable, script, str(os.getpid())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _memory_peaks(watch) -> tuple[float, float] | None:
    """(peak of all the processes together, peak of the largest one), MB PSS."""
    if watch is None:
        return None
    out, _ = watch.communicate(input="", timeout=60)  # closing its input stops it
    total, largest = (float(x) for x in out.split())
    return total, largest


def _load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _benchmark(
    url: str, path: str, backend: str, scale: str, chunk_size: int | None,
    defer_facts: bool = False, full_refresh: bool = True,
) -> None:
    from tablero import derived, ingest
    from tablero.db import Database
    from tablero.migrate import upgrade
    from tablero.orgs import create_organization

    upgrade(url)
    db = Database(url)
    org_id = db.write(lambda conn: create_organization(conn, "bench", "Bench"))

    derived_seconds = 0.0
    original_refresh = derived.refresh

    depth = 0

    def timed_refresh(*args, **kwargs):
        # refresh(db) calls refresh(conn) through this name too: count the outer call only
        nonlocal derived_seconds, depth
        depth += 1
        t0 = time.perf_counter()
        try:
            return original_refresh(*args, **kwargs)
        finally:
            depth -= 1
            if depth == 0:
                derived_seconds += time.perf_counter() - t0

    last_report = 0.0

    def on_chunk(_chunks: int, lines: int) -> None:
        nonlocal last_report
        now = time.perf_counter()
        if now - last_report >= 5:
            last_report = now
            print(f"  {lines:>10,} lines  {lines / (now - started):>8,.0f}/s  "
                  f"derived {derived_seconds:6.1f} s  rss {_peak_rss_mb():.0f} MB", flush=True)

    options = {"on_chunk": on_chunk, "defer_facts": defer_facts}
    if chunk_size:
        options["chunk_size"] = chunk_size
    load_before = _load_average()
    derived.refresh = timed_refresh
    watch = _watch_memory()
    try:
        cpu_started = _cpu_seconds()
        started = time.perf_counter()
        with open(path, "rb") as lines:
            result = ingest.ingest_lines(db, org_id, lines, **options)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_started
    finally:
        derived.refresh = original_refresh
        memory = _memory_peaks(watch)
    ingest_rss = _peak_rss_mb()
    load_after = _load_average()
    records = sum(result.counts.values())

    refresh_seconds = None
    if full_refresh:
        t0 = time.perf_counter()
        derived.refresh(db, org_id)
        refresh_seconds = time.perf_counter() - t0
    version = ".".join(map(str, db.engine.dialect.server_version_info or ()))
    db.dispose()

    print()
    print(f"backend          {backend} {version}")
    print(f"scale            {scale} ({os.path.getsize(path) / 1e6:.0f} MB NDJSON, "
          f"{result.lines:,} lines)")
    print("records          " + ", ".join(f"{t} {n:,}" for t, n in result.counts.items()))
    print(f"ingest time      {elapsed:.1f} s ({result.chunks} chunks)")
    print(f"records/s        {records / elapsed:,.0f}")
    print(f"CPU time         {cpu:.1f} s of this process and its validating worker "
          f"({records / cpu:,.0f} records per CPU-second; a database server's own CPU is not "
          "included)")
    how = "one whole refresh at the end, --defer-facts" if defer_facts else "per-chunk refresh"
    print(f"derived facts    {derived_seconds:.1f} s of the ingest ({how})")
    print(f"peak RSS         {ingest_rss:.0f} MB during the ingest; largest child process "
          f"{_children_peak_rss_mb():.0f} MB (the validating worker or the refresh's side "
          "process: a forked child's RSS counts the pages it still shares with this one)")
    if memory is not None:
        print(f"peak memory      {memory[0]:.0f} MB, this process and its children together "
              f"(PSS, sampled every 0.2 s: shared pages counted once); {memory[1]:.0f} MB the "
              "largest one")
    if refresh_seconds is not None:
        print(f"full refresh     {refresh_seconds:.1f} s (whole organization, after the "
              f"ingest); peak RSS since start {_peak_rss_mb():.0f} MB")
    print(f"load average     {load_before} before, {load_after} after ({os.cpu_count()} CPUs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark NDJSON ingestion of the demo data set into a fresh database.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--scale", default="medium",
                        help="demo scale: tiny, small, medium, large (default: medium)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL server URL (a fresh database is created "
                        f"beside it; default {DEFAULT_PG}), or a SQLite file URL to create")
    parser.add_argument("--seed", type=int, default=1, help="demo seed (default: 1)")
    parser.add_argument("--end", help="last day of the demo data, YYYY-MM-DD (default: today)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="lines per transaction (default: tablero.ingest's)")
    parser.add_argument("--defer-facts", action="store_true",
                        help="a bulk load: derived facts once at the end (tablero ingest "
                        "--defer-facts) instead of per chunk")
    parser.add_argument("--ndjson", help="ingest this NDJSON file instead of generating one")
    parser.add_argument("--private-server", action="store_true",
                        help="postgres: a throwaway cluster with production settings "
                        "(bench/pg_server.py) instead of the server of --url")
    parser.add_argument("--no-full-refresh", action="store_true",
                        help="skip step (4), the whole refresh after the ingest")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and the generated file afterwards")
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, text

    if args.private_server and (args.backend != "postgres" or args.url or args.keep):
        parser.error("--private-server is for --backend postgres, without --url or --keep")
    workdir = tempfile.mkdtemp(prefix="tablero-bench-")
    server, database = None, None
    stack = contextlib.ExitStack()
    try:
        path = args.ndjson
        if path is None:
            path = os.path.join(workdir, f"demo-{args.scale}-{args.seed}.ndjson")
            print(f"generating the {args.scale} demo set to {path} ...", flush=True)
            started = time.perf_counter()
            child = multiprocessing.get_context("fork").Process(
                target=_generate, args=(path, args.scale, args.seed, args.end)
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                print("generating the demo set failed", file=sys.stderr)
                return 1
            print(f"  generated in {time.perf_counter() - started:.1f} s, "
                  f"{os.path.getsize(path) / 1e6:.0f} MB", flush=True)
        if args.backend == "sqlite":
            url = args.url or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
        else:
            base = args.url or DEFAULT_PG
            if args.private_server:
                from pg_server import SETTINGS, private_server

                base = stack.enter_context(private_server())
                print("private server: " + ", ".join(f"{k}={v}" for k, v in SETTINGS.items()),
                      flush=True)
            if base.startswith(("postgresql://", "postgres://")):
                base = "postgresql+psycopg://" + base.split("://", 1)[1]
            server = create_engine(base, isolation_level="AUTOCOMMIT")
            database = f"tablero_bench_{uuid.uuid4().hex[:8]}"
            with server.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            url = base.rsplit("/", 1)[0] + "/" + database
        print(f"database: {url}", flush=True)
        _benchmark(url, path, args.backend, args.scale, args.chunk_size, args.defer_facts,
                   full_refresh=not args.no_full_refresh)
    finally:
        if server is not None:
            if not args.keep:
                with server.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            server.dispose()
        stack.close()
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
