"""Which derived-facts steps does a refresh or an ingestion spend its time in?

    python bench/steps.py refresh --url sqlite:///bench/data/medium.sqlite3 --org bench-medium
    python bench/steps.py ingest demo.ndjson --url sqlite:////tmp/steps.sqlite3

``refresh``: one whole refresh of the organization (``tablero refresh``). ``ingest``: a fresh
organization (created in the database at ``--url``, migrated first) ingests the NDJSON file
chunk by chunk, as ``tablero ingest`` does (``--defer-facts``: one whole refresh at the end).
Every private function of ``tablero.derived`` (and, for an ingestion, of ``tablero.ingest``) is
timed; a function is counted once per outermost call (a step calling itself, or a refresh
called from inside a refresh, is not counted twice). Prints the slowest first, with the number
of calls: a ranking of where the time goes, for choosing what to make cheaper (the totals of
an ingestion are ``bench/ingest.py``'s).
"""

from __future__ import annotations

import argparse
import collections
import functools
import sys
import threading
import time
import uuid


def _instrument(module, totals: collections.Counter, calls: collections.Counter) -> None:
    """Wrap every private function defined in ``module`` with a timer (nesting is followed per
    thread: a refresh on two connections runs its side one in a thread of its own, and its
    steps are counted like the main one's, so totals can exceed the wall-clock time; on
    SQLite, where a bulk load forks a process for the side one when it has no other thread,
    :func:`main` makes it use a thread, ``tablero.derived.FORK_SIDE = False``: its steps are
    counted, and they run slower)."""
    stacks = threading.local()
    lock = threading.Lock()
    for name in dir(module):
        fn = getattr(module, name)
        if not (name.startswith("_") and callable(fn) and not isinstance(fn, type)):
            continue
        if getattr(fn, "__module__", "") != module.__name__:
            continue

        def timed(*args, _fn=fn, _name=name, **kwargs):
            started = time.perf_counter()
            active = stacks.__dict__.setdefault("active", [])
            active.append(_name)
            try:
                return _fn(*args, **kwargs)
            finally:
                active.pop()
                if _name not in active:
                    key = f"{module.__name__.rsplit('.', 1)[-1]}.{_name}"
                    with lock:
                        totals[key] += time.perf_counter() - started
                        calls[key] += 1

        setattr(module, name, functools.wraps(fn)(timed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["refresh", "ingest"])
    parser.add_argument("file", nargs="?", help="the NDJSON file to ingest (mode ingest)")
    parser.add_argument("--url", required=True, help="the database URL")
    parser.add_argument("--org", help="organization key to refresh (mode refresh)")
    parser.add_argument("--defer-facts", action="store_true",
                        help="ingest: one whole refresh at the end instead of per chunk")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    from tablero import derived, ingest
    from tablero.db import Database
    from tablero.ingest import organization_id_by_key
    from tablero.migrate import upgrade
    from tablero.orgs import create_organization

    totals: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    derived.FORK_SIDE = False  # (the steps of a forked side process would not be counted)
    if args.mode == "refresh":
        if not args.org:
            parser.error("refresh needs --org")
        db = Database(args.url)
        org_id = db.read(lambda conn: organization_id_by_key(conn, args.org))
        if org_id is None:
            parser.error(f"no organization {args.org!r} in {args.url}")
        _instrument(derived, totals, calls)
        started = time.perf_counter()
        derived.refresh(db, org_id)
    else:
        if not args.file:
            parser.error("ingest needs the NDJSON file")
        upgrade(args.url)
        db = Database(args.url)
        key = f"steps-{uuid.uuid4().hex[:8]}"
        org_id = db.write(lambda conn: create_organization(conn, key, key))
        _instrument(derived, totals, calls)
        _instrument(ingest, totals, calls)
        started = time.perf_counter()

        def progress(chunks: int, lines: int) -> None:
            if chunks % 10 == 0:
                print(f"  {lines:>10,} lines  {time.perf_counter() - started:6.0f} s",
                      file=sys.stderr, flush=True)

        with open(args.file, "rb") as lines:
            ingest.ingest_lines(db, org_id, lines, on_chunk=progress,
                                defer_facts=args.defer_facts)
    elapsed = time.perf_counter() - started
    db.dispose()
    print(f"{args.mode}: {elapsed:.1f} s in all")
    for name, seconds in totals.most_common(args.top):
        print(f"  {name:40s} {seconds:8.1f} s  {calls[name]:>6} calls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
