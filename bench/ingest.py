"""Ingestion benchmark: the demo data set through the NDJSON ingestion path into a fresh database.

    python bench/ingest.py --scale medium --backend sqlite
    python bench/ingest.py --scale medium --backend postgres [--url postgresql://postgres@host/db]

Steps: (1) generate the demo set (tablero.demo) to an NDJSON file, in a child process so its
memory does not count; (2) create a fresh database (a temporary SQLite file, or a new PostgreSQL
database on the server of ``--url``, dropped afterwards unless ``--keep``), migrate it and create
an organization; (3) ingest the file with ``tablero.ingest.ingest_lines`` and report records/s,
total time, the time spent in derived facts (``tablero.derived.refresh`` calls) and the peak RSS
of this process; (4) time a whole-organization ``refresh``.

Targets (SPEC / design): >= 50,000 records/s into SQLite for the medium set with peak RSS under
500 MB; >= 20,000 records/s into PostgreSQL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
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


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark NDJSON ingestion of the demo data set into a fresh database.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 2)[2],
    )
    parser.add_argument("--scale", default="medium", help="demo scale: tiny, small, medium, "
                        "large (default: medium)")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--url", help="PostgreSQL server URL (a fresh database is created "
                        f"beside it; default {DEFAULT_PG}) or SQLite file URL (must not exist)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--end", help="last day of the demo data, YYYY-MM-DD (default: today)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="lines per transaction (default: tablero.ingest's)")
    parser.add_argument("--ndjson", help="reuse this NDJSON file instead of generating one")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database (and generated file) afterwards")
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, text
    from tablero import derived, ingest
    from tablero.db import Database
    from tablero.migrate import upgrade
    from tablero.orgs import create_organization

    workdir = tempfile.mkdtemp(prefix="tablero-bench-")
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
            print("generation failed", file=sys.stderr)
            return 1
        print(f"  generated in {time.perf_counter() - started:.1f} s, "
              f"{os.path.getsize(path) / 1e6:.0f} MB", flush=True)

    server = None
    if args.backend == "sqlite":
        url = args.url or f"sqlite:///{os.path.join(workdir, 'bench.sqlite3')}"
    else:
        base = args.url or DEFAULT_PG
        if base.startswith("postgresql://"):
            base = "postgresql+psycopg://" + base.split("://", 1)[1]
        name = f"tablero_bench_{uuid.uuid4().hex[:8]}"
        server = create_engine(base, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.rsplit("/", 1)[0] + "/" + name
    print(f"database: {url}", flush=True)
    upgrade(url)
    db = Database(url)
    org_id = db.write(lambda conn: create_organization(conn, "bench", "Bench"))

    derived_seconds = 0.0
    original_refresh = derived.refresh

    def timed_refresh(*a, **kw):
        nonlocal derived_seconds
        t0 = time.perf_counter()
        try:
            return original_refresh(*a, **kw)
        finally:
            derived_seconds += time.perf_counter() - t0

    derived.refresh = timed_refresh
    size = os.path.getsize(path)
    last_report = [0.0]
    load_before = _load_average()
    cpu_started = _cpu_seconds()
    started = time.perf_counter()

    def on_chunk(chunks: int, lines: int) -> None:
        now = time.perf_counter()
        if now - last_report[0] >= 5:
            last_report[0] = now
            elapsed = now - started
            print(f"  {lines:>10,} lines  {lines / elapsed:>8,.0f}/s  "
                  f"derived {derived_seconds:6.1f} s  rss {_peak_rss_mb():.0f} MB", flush=True)

    kwargs = {"on_chunk": on_chunk}
    if args.chunk_size:
        kwargs["chunk_size"] = args.chunk_size
    with open(path, "rb") as lines:
        result = ingest.ingest_lines(db, org_id, lines, **kwargs)
    elapsed = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_started
    ingest_rss = _peak_rss_mb()
    load_after = _load_average()
    derived.refresh = original_refresh
    records = sum(result.counts.values())

    t0 = time.perf_counter()
    derived.refresh(db, org_id)
    full_refresh = time.perf_counter() - t0

    print()
    print(f"backend          {args.backend} ({db.engine.dialect.server_version_info})")
    print(f"scale            {args.scale} ({size / 1e6:.0f} MB NDJSON, {result.lines:,} lines)")
    print("records          " + ", ".join(f"{t} {n:,}" for t, n in result.counts.items()))
    print(f"ingest time      {elapsed:.1f} s ({result.chunks} chunks)")
    print(f"records/s        {records / elapsed:,.0f}")
    print(f"CPU time         {cpu:.1f} s of this process ({records / cpu:,.0f} records per "
          "CPU-second; the database server's own CPU is not included)")
    print(f"derived facts    {derived_seconds:.1f} s of the ingest (per-chunk refresh)")
    print(f"peak RSS         {ingest_rss:.0f} MB during the ingest")
    print(f"full refresh     {full_refresh:.1f} s (whole organization, after the ingest); "
          f"peak RSS since start {_peak_rss_mb():.0f} MB")
    print(f"load average     {load_before} before, {load_after} after "
          f"({os.cpu_count()} CPUs)")

    db.dispose()
    if server is not None:
        if not args.keep:
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
    if not args.keep:
        if args.ndjson is None:
            os.remove(path)
        if args.backend == "sqlite" and args.url is None:
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(url[len("sqlite:///"):] + suffix):
                    os.remove(url[len("sqlite:///"):] + suffix)
        try:
            os.rmdir(workdir)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
