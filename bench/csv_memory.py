"""Stream a CSV download from a bench data set and report its time and this process's memory.

    python bench/csv_memory.py --scale large --backend sqlite
    python bench/csv_memory.py --scale medium --backend postgres --section success_monitor/segments

Serves the app with uvicorn in this process (as ``tablero serve`` does) and downloads
``/export/<section>.csv`` (default ``success_monitor/contacts``: every scored contact, the
"Descargar informe") over HTTP with an ADMIN token, reading the body in pieces. Prints rows,
bytes, seconds, and the process's peak memory in two measures:

* ``peak RSS``: the kernel's high-water mark of resident memory (``ru_maxrss``). It counts the
  pages of the SQLite file the connection memory-maps (``mmap_size``) and its page cache, which
  the kernel can drop at will, as well as the Python heap.
* ``peak heap``: the largest Python allocation total seen during the download
  (``tracemalloc``), the memory that would grow if rows were gathered instead of streamed.

The target of issue #8: the large set's contacts CSV streams with peak memory under 300 MB.
The data set is the one ``bench/run.py`` loads (run it first, or pass ``--reload`` there).
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from run import NOW, database_url, free_port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="large", choices=["tiny", "small", "medium", "large"])
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--url", help="use this database URL instead of the bench database")
    parser.add_argument("--section", default="success_monitor/contacts", help="plugin/section")
    parser.add_argument("--no-heap", action="store_true",
                        help="skip tracemalloc (it slows Python down): time and RSS only")
    args = parser.parse_args()

    import uvicorn
    from tablero.app import create_app
    from tablero.auth import mint_token
    from tablero.db import Database
    from tablero.orgs import organization_by_key
    from tablero.plugin_manager import Registry, make_plugin_manager
    from tablero.settings import Settings

    url = database_url(args.backend, args.scale, args.url, reload=False)
    db = Database(url)
    key = f"bench-{args.scale}"
    if db.read(lambda conn: organization_by_key(conn, key)) is None:
        sys.exit(f"no {args.scale} data set in {url}: run bench/run.py --scale {args.scale} first")
    settings = Settings(database_url=url, clock=lambda: NOW)
    registry = Registry.collect(make_plugin_manager())
    token = mint_token(settings.jwt_secret, key, "admin", "ADMIN")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, db=db, registry=registry), host="127.0.0.1", port=port,
                       log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    if not args.no_heap:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    rows = size = 0
    peak_heap = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        with client.stream("GET", f"/export/{args.section}.csv") as response:
            if response.status_code != 200:
                sys.exit(f"HTTP {response.status_code}: {response.read()[:500]!r}")
            for piece in response.iter_bytes():
                size += len(piece)
                rows += piece.count(b"\n")
                if not args.no_heap:
                    peak_heap = max(peak_heap, tracemalloc.get_traced_memory()[1])
                if rows and rows % 200_000 < piece.count(b"\n"):
                    print(f"  {rows:,} rows, {size / 1e6:.0f} MB ...", file=sys.stderr)
    elapsed = time.perf_counter() - started
    if not args.no_heap:
        peak_heap = max(peak_heap, tracemalloc.get_traced_memory()[1])
    server.should_exit = True
    thread.join(timeout=5)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.scale} on {args.backend}: /export/{args.section}.csv")
    print(f"rows (with header) {rows:,}")
    print(f"bytes             {size:,}")
    print(f"time              {elapsed:.1f} s")
    print(f"peak RSS          {rss:.0f} MB (before the download: {rss_before:.0f} MB)")
    if not args.no_heap:
        print(f"peak heap         {peak_heap / 2**20:.0f} MB (tracemalloc, Python allocations)")


if __name__ == "__main__":
    main()
